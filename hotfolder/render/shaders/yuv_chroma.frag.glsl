#version 330
// U and V planes (BT.709 limited range, 4:2:0) into two half-size R8 targets at once:
// each output is the chroma of its 2x2 block's mean colour (centre sited).
uniform sampler2D u_rgb;

layout(location = 0) out vec4 f_u;
layout(location = 1) out vec4 f_v;

const vec3 KY = vec3(0.2126, 0.7152, 0.0722);

void main() {
    ivec2 c = ivec2(gl_FragCoord.xy) * 2;
    vec3 rgb = 0.25 * (texelFetch(u_rgb, c, 0).rgb + texelFetch(u_rgb, c + ivec2(1, 0), 0).rgb
                     + texelFetch(u_rgb, c + ivec2(0, 1), 0).rgb + texelFetch(u_rgb, c + ivec2(1, 1), 0).rgb);
    float y = dot(KY, rgb);
    float u = 128.0 + 224.0 * (rgb.b - y) / 1.8556;
    float v = 128.0 + 224.0 * (rgb.r - y) / 1.5748;
    f_u = vec4(clamp(floor(u + 0.5), 0.0, 255.0) / 255.0, 0.0, 0.0, 1.0);
    f_v = vec4(clamp(floor(v + 0.5), 0.0, 255.0) / 255.0, 0.0, 0.0, 1.0);
}
