#version 330
// One instance per glyph part (shadow / outline / fill). Everything that depends on the
// frame time only per quad (karaoke state, wipe column, fade) is decided here, once per
// vertex; the fragment shader only picks a side of the wipe and applies coverage.
uniform ivec2 u_size;   // output width, height
uniform int u_t;        // frame time, ms

in ivec4 i_rect;        // x, y (top-left, output px, y down), w, h
in ivec2 i_atlas;       // bitmap origin in the atlas, texels
in vec4 i_color;        // colour once sung (or the only colour)
in vec4 i_before;       // colour before it is sung
in ivec4 i_karaoke;     // kind (0 none, 1 instant, 2 fill, 3 outline), part (0 shadow, 1 outline, 2 fill), k_start, k_end
in vec2 i_wipe;         // wipe x0, x1 (output px)
in ivec4 i_fade_t;      // absolute fade times t1..t4 (ms)
in ivec4 i_fade_a;      // a1, a2, a3 (ASS alpha, 255 transparent), has_fade

flat out ivec2 v_origin;
flat out ivec2 v_atlas;
flat out vec4 v_left;   // colour left of the split column
flat out vec4 v_right;
flat out int v_split;   // columns x < v_split take v_left

const int FAR = 1 << 28;

int fade_alpha(int now) {
    // libass interpolate_alpha: piecewise linear, truncated to an integer
    int a1 = i_fade_a.x, a2 = i_fade_a.y, a3 = i_fade_a.z;
    if (now < i_fade_t.x) return a1;
    if (now < i_fade_t.y) {
        float cf = float(now - i_fade_t.x) / float(i_fade_t.y - i_fade_t.x);
        return int(float(a1) * (1.0 - cf) + float(a2) * cf);
    }
    if (now < i_fade_t.z) return a2;
    if (now < i_fade_t.w) {
        float cf = float(now - i_fade_t.z) / float(i_fade_t.w - i_fade_t.z);
        return int(float(a2) * (1.0 - cf) + float(a3) * cf);
    }
    return a3;
}

float faded(float opacity, int fade) {
    // libass mult_alpha on ASS alphas (transparency), in integers as libass does
    int a = 255 - int(round(opacity * 255.0));
    int m = a - (a * fade + 127) / 255 + fade;
    return float(255 - m) / 255.0;
}

void main() {
    int kind = i_karaoke.x;
    int part = i_karaoke.y;
    int ks = i_karaoke.z;
    int ke = i_karaoke.w;
    bool hidden = kind == 3 && part == 1 && u_t < ks;   // \ko: no outline before the syllable
    if (kind == 0) {
        v_split = FAR;
    } else if (kind == 2 && u_t >= ks && u_t < ke) {
        float f = float(u_t - ks) / float(ke - ks);
        v_split = int(i_wipe.x + (i_wipe.y - i_wipe.x) * f);  // truncation, as libass
    } else {
        v_split = u_t >= ks ? FAR : -FAR;
    }
    int fade = i_fade_a.w != 0 ? fade_alpha(u_t) : 0;
    v_left = vec4(i_color.rgb, faded(i_color.a, fade));
    v_right = vec4(i_before.rgb, faded(i_before.a, fade));
    v_origin = i_rect.xy;
    v_atlas = i_atlas;

    ivec2 corner = ivec2(gl_VertexID & 1, gl_VertexID >> 1);
    vec2 px = vec2(i_rect.xy + corner * i_rect.zw);
    // output row 0 is framebuffer row 0, so a readback is already top-down
    vec2 ndc = px / vec2(u_size) * 2.0 - 1.0;
    gl_Position = hidden ? vec4(2.0, 2.0, 2.0, 1.0) : vec4(ndc, 0.0, 1.0);
}
