#version 330
// Y plane of BT.709 limited range: one R8 texel per output pixel (row 0 = top).
uniform sampler2D u_rgb;

out vec4 f_value;

const vec3 KY = vec3(0.2126, 0.7152, 0.0722);

void main() {
    vec3 rgb = texelFetch(u_rgb, ivec2(gl_FragCoord.xy), 0).rgb;
    f_value = vec4(floor(16.0 + 219.0 * dot(KY, rgb) + 0.5) / 255.0, 0.0, 0.0, 1.0);
}
