#version 330
// A picture behind the lyrics. Exact mode: a texture of the output size, copied texel for
// texel. Cover mode: a video frame at its own size, scaled to cover and centre-cropped here.
uniform sampler2D u_image;
uniform bool u_exact;
uniform vec2 u_scale;    // source px per output px
uniform vec2 u_offset;   // source px at output px 0
uniform float u_gain;    // 1 - dim

out vec4 f_color;

void main() {
    vec3 rgb;
    if (u_exact) {
        rgb = texelFetch(u_image, ivec2(gl_FragCoord.xy), 0).rgb;
    } else {
        vec2 src = gl_FragCoord.xy * u_scale + u_offset;
        rgb = texture(u_image, src / vec2(textureSize(u_image, 0))).rgb * u_gain;
    }
    f_color = vec4(rgb, 1.0);
}
