#version 330
// RGB frame -> I420 (BT.709, limited range) in one R8 target W wide and H*3/2 tall whose
// bytes, read back row by row, ARE the Y, U and V planes back to back. Each fragment finds
// which plane byte it is from its linear offset, so any even W x H works.
uniform sampler2D u_rgb;  // the composed frame, row 0 = top
uniform ivec2 u_size;     // W, H (both even)

out vec4 f_value;

const vec3 KY = vec3(0.2126, 0.7152, 0.0722);

void main() {
    int w = u_size.x;
    int h = u_size.y;
    ivec2 p = ivec2(gl_FragCoord.xy);
    int o = p.y * w + p.x;
    float v;
    if (o < w * h) {
        vec3 rgb = texelFetch(u_rgb, ivec2(o % w, o / w), 0).rgb;
        v = 16.0 + 219.0 * dot(KY, rgb);
    } else {
        int cw = w / 2;
        int ch = h / 2;
        o -= w * h;
        bool is_v = o >= cw * ch;
        if (is_v) o -= cw * ch;
        ivec2 c = ivec2(o % cw, o / cw) * 2;
        // chroma of the 2x2 block's mean colour (centre sited)
        vec3 rgb = 0.25 * (texelFetch(u_rgb, c, 0).rgb + texelFetch(u_rgb, c + ivec2(1, 0), 0).rgb
                         + texelFetch(u_rgb, c + ivec2(0, 1), 0).rgb + texelFetch(u_rgb, c + ivec2(1, 1), 0).rgb);
        float y = dot(KY, rgb);
        v = is_v ? 128.0 + 224.0 * (rgb.r - y) / 1.5748 : 128.0 + 224.0 * (rgb.b - y) / 1.8556;
    }
    f_value = vec4(clamp(floor(v + 0.5), 0.0, 255.0) / 255.0, 0.0, 0.0, 1.0);
}
