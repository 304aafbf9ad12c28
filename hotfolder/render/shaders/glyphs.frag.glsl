#version 330
uniform sampler2D u_atlas;  // R8 coverage

flat in ivec2 v_origin;
flat in ivec2 v_atlas;
flat in vec4 v_left;
flat in vec4 v_right;
flat in int v_split;

out vec4 f_color;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    float coverage = texelFetch(u_atlas, v_atlas + (p - v_origin), 0).r;
    vec4 c = p.x < v_split ? v_left : v_right;
    // straight alpha "over" on 8-bit sRGB values (no linearization), as libass/ffmpeg blend
    f_color = vec4(c.rgb, c.a * coverage);
}
