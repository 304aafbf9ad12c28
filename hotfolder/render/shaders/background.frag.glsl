#version 330
// A picture behind the lyrics.
//   mode 0: an image already scaled to the output size, copied texel for texel;
//   mode 1: an RGB video frame at its own size, scaled to cover and centre-cropped here;
//   mode 2: the same from the decoder's Y, U, V planes, converted to RGB here with the
//           frame's own matrix (Kr, Kb) and range, as swscale would.
uniform int u_mode;
uniform sampler2D u_image;
uniform sampler2D u_plane_y;
uniform sampler2D u_plane_u;
uniform sampler2D u_plane_v;
uniform vec2 u_scale;      // source px per output px
uniform vec2 u_offset;     // source px at output px 0
uniform vec2 u_src_size;   // source width, height
uniform vec2 u_kr_kb;
uniform bool u_full_range;
uniform float u_gain;      // 1 - dim

out vec4 f_color;

vec3 yuv_to_rgb(vec2 uv) {
    float y = texture(u_plane_y, uv).r * 255.0;
    float cb = texture(u_plane_u, uv).r * 255.0 - 128.0;
    float cr = texture(u_plane_v, uv).r * 255.0 - 128.0;
    if (u_full_range) {
        y /= 255.0; cb /= 255.0; cr /= 255.0;
    } else {
        y = (y - 16.0) / 219.0; cb /= 224.0; cr /= 224.0;
    }
    float kr = u_kr_kb.x, kb = u_kr_kb.y, kg = 1.0 - kr - kb;
    float r = y + 2.0 * (1.0 - kr) * cr;
    float b = y + 2.0 * (1.0 - kb) * cb;
    float g = (y - kr * r - kb * b) / kg;
    return clamp(vec3(r, g, b), 0.0, 1.0);
}

void main() {
    vec3 rgb;
    if (u_mode == 0) {
        rgb = texelFetch(u_image, ivec2(gl_FragCoord.xy), 0).rgb;
    } else {
        vec2 uv = (gl_FragCoord.xy * u_scale + u_offset) / u_src_size;
        rgb = (u_mode == 1 ? texture(u_image, uv).rgb : yuv_to_rgb(uv)) * u_gain;
    }
    f_color = vec4(rgb, 1.0);
}
