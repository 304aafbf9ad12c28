"""Layout without GL: wrapping, alignment anchoring, collision stacking, karaoke quads."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import pytest

from hotfolder.project.model import Color, Line, Project, Run, Style, Syllable
from hotfolder.render.layout import (
    Segment,
    box_image,
    alignment_parts,
    apply_overrides,
    base_point,
    build_layout,
    fit_segment,
    fix_collisions,
    line_shift,
    style_of,
)
from hotfolder.render.wrap import Cluster, wrap


def clusters_of(text: str, char_w: float = 10.0) -> list[Cluster]:
    """'|' is a hard break, ' ' a space; every char is char_w wide with full-width ink."""
    out, x = [], 0.0
    for ch in text:
        kind = "break" if ch == "|" else "space" if ch == " " else "char"
        out.append(Cluster(x, 0.0, char_w if kind == "char" else 0.0, kind))
        if kind != "break":
            x += char_w
    return out


def lines_of(text: str, max_width: float, style: int) -> list[str]:
    return [text[a:b].replace("|", "").strip() for a, b, _ in wrap(clusters_of(text), max_width, style)]


# ---- wrapping -------------------------------------------------------------------------


def test_wrap_style_2_only_hard_breaks() -> None:
    assert lines_of("aaaa bbbb cccc dd ee", 50, 2) == ["aaaa bbbb cccc dd ee"]
    assert lines_of("aaaa|bbbb cccc", 50, 2) == ["aaaa", "bbbb cccc"]


def test_wrap_style_1_end_of_line() -> None:
    assert lines_of("aaaa bbbb cccc dd ee", 100, 1) == ["aaaa bbbb", "cccc dd", "ee"]


def test_wrap_style_0_balances_neighbouring_lines() -> None:
    # greedy gives "cccc dd" / "ee"; moving "dd" down evens those two lines
    assert lines_of("aaaa bbbb cccc dd ee", 100, 0) == ["aaaa bbbb", "cccc", "dd ee"]
    # two lines of a short overflow become two even halves
    assert lines_of("aa bb cc dd ee ff", 150, 0) == ["aa bb cc", "dd ee ff"]


def test_wrap_style_3_makes_the_lower_line_wider() -> None:
    assert lines_of("aa bb cc dd ee", 100, 0) == ["aa bb cc", "dd ee"]
    assert lines_of("aa bb cc dd ee", 100, 3) == ["aa bb", "cc dd ee"]


def test_wrap_keeps_a_single_long_word_whole() -> None:
    assert lines_of("abcdefghijkl", 50, 0) == ["abcdefghijkl"]


def test_wrap_hard_break_in_smart_mode() -> None:
    assert lines_of("aa|bb", 1000, 0) == ["aa", "bb"]
    assert lines_of("aa||bb", 1000, 0) == ["aa", "", "bb"]


# ---- anchoring and stacking -----------------------------------------------------------


def test_alignment_parts_numpad() -> None:
    assert alignment_parts(1) == (0, 0)
    assert alignment_parts(2) == (1, 0)
    assert alignment_parts(6) == (2, 1)
    assert alignment_parts(7) == (0, 2)
    assert alignment_parts(0) == (1, 0)   # invalid → bottom centre


def test_base_point_and_line_shift() -> None:
    bbox = (10.0, -20.0, 110.0, 5.0)
    assert base_point(0, 0, bbox) == (10.0, 5.0)
    assert base_point(1, 1, bbox) == (60.0, -7.5)
    assert base_point(2, 2, bbox) == (110.0, -20.0)
    assert line_shift(0, 300, 100) == 0
    assert line_shift(1, 300, 100) == 100
    assert line_shift(2, 300, 100) == 200


def test_fit_segment_moves_up_or_down_past_fixed_boxes() -> None:
    fixed = [Segment(100, 30, 0, 200)]
    up = Segment(110, 30, 50, 100)
    assert fit_segment(up, fixed, -1) == -40          # bottom of the new box at the top of the old
    assert [s.top for s in fixed] == [70, 100]
    down = Segment(75, 30, 50, 100)
    assert fit_segment(down, fixed, 1) == 55          # below both
    apart = Segment(100, 30, 300, 50)                 # no horizontal overlap: stays
    assert fit_segment(apart, fixed, -1) == 0


def test_fix_collisions_read_order_and_kept_positions() -> None:
    placed: dict = {}
    a = Segment(150, 25, 10, 100)
    b = Segment(150, 25, 20, 100)
    shifts = fix_collisions([(0, a, -1), (1, b, -1)], placed)
    assert shifts == {0: 0, 1: -25}
    # a later frame: event 0 ended, event 2 arrives; event 1 keeps its place
    c = Segment(150, 25, 20, 100)
    shifts = fix_collisions([(1, b, -1), (2, c, -1)], placed)
    assert shifts == {1: -25, 2: 0}


# ---- styles ---------------------------------------------------------------------------


def test_overrides_apply_over_the_style() -> None:
    styles = {"Default": Style(), "Alt": Style(name="Alt", size=20, primary=Color(1, 2, 3))}
    base = style_of(styles["Default"])
    rs = apply_overrides(base, {"1c": Color(9, 8, 7), "1a": 128, "b": True, "bord": 4, "fs": 30}, styles, styles["Default"])
    assert rs.c1 == Color(9, 8, 7, 128) and rs.bold and rs.border == 4 and rs.size == 30
    reset = apply_overrides(rs, {"r": "Alt"}, styles, styles["Default"])
    assert reset.size == 20 and reset.c1 == Color(1, 2, 3)
    alpha = apply_overrides(base, {"alpha": 0}, styles, styles["Default"])
    assert alpha.c1.a == alpha.c3.a == alpha.c4.a == 0


# ---- whole events ---------------------------------------------------------------------


def karaoke_project(lines: list[Line], **style_kw) -> Project:
    kw = dict(font="DejaVu Sans", size=28, outline=2, shadow=2, alignment=2,
              primary=Color(255, 255, 255), secondary=Color(255, 0, 0))
    kw.update(style_kw)
    style = Style(**kw)
    return Project(format="ass", source=Path("t.ass"), lines=lines, styles={"Default": style}, play_res=(320, 180))


def kline(start: int, texts: list[tuple[str, str, int]], **kw) -> Line:
    t = start
    sylls = []
    for text, kind, dur in texts:
        sylls.append(Syllable(text, t, t + dur, kind))  # type: ignore[arg-type]
        t += dur
    return Line(start=start, end=start + 3000, syllables=sylls, **kw)


def test_event_quads_draw_order_and_karaoke(fonts_dir: Path) -> None:
    line = kline(0, [("Hel", "instant", 500), ("lo ", "instant", 500), ("wor", "fill", 1000), ("ld", "outline", 500)])
    layout = build_layout(karaoke_project([line]), 320, 180, fonts_dir)
    (ev,) = layout.events_at(100)
    parts = [q.part for q in ev.quads]
    assert parts == sorted(parts, key=["shadow", "outline", "fill"].index)
    fills = [q for q in ev.quads if q.part == "fill"]
    assert len(fills) == len("Helloworld")
    kinds = [q.karaoke for q in fills]
    assert kinds == ["instant"] * 5 + ["fill"] * 3 + ["outline"] * 2
    wor = fills[5:8]
    assert len({(q.wipe_x0, q.wipe_x1) for q in wor}) == 1
    x0, x1 = wor[0].wipe_x0, wor[0].wipe_x1
    assert x0 <= min(q.x for q in wor) + 1 and x1 >= max(q.x + q.image.pixels.shape[1] for q in wor) - 1
    assert wor[0].k_start == 1000 and wor[0].k_end == 2000
    assert all(q.color == Color(255, 255, 255) and q.color_before == Color(255, 0, 0) for q in fills)
    ko_outlines = [q for q in ev.quads if q.part == "outline" and q.karaoke == "outline"]
    assert len(ko_outlines) == 2
    # bottom centre: ink ends above MarginV, centred around x=160
    xs = [q.x for q in fills] + [q.x + q.image.pixels.shape[1] for q in fills]
    assert abs((min(xs) + max(xs)) / 2 - 160) < 4
    assert max(q.y + q.image.pixels.shape[0] for q in fills) <= 180 - 10 + 1
    # cheap when nothing changed: the very same list comes back
    assert layout.events_at(200) is layout.events_at(100)


def test_simultaneous_events_stack_without_overlap(fonts_dir: Path) -> None:
    a = kline(0, [("first line", "fill", 1000)])
    b = kline(0, [("second line", "fill", 1000)])
    layout = build_layout(karaoke_project([a, b]), 320, 180, fonts_dir)
    ev_a, ev_b = layout.events_at(500)
    bottom_b = max(q.y + q.image.pixels.shape[0] for q in ev_b.quads if q.part == "fill")
    top_a = min(q.y for q in ev_a.quads if q.part == "fill")
    assert bottom_b <= top_a        # the later event moved up above the first
    # \pos events do not take part
    c = kline(0, [("positioned", "none", 0)], position=(160.0, 170.0))
    layout2 = build_layout(karaoke_project([a, c]), 320, 180, fonts_dir)
    ev_a2, ev_c = layout2.events_at(500)
    assert max(q.y + q.image.pixels.shape[0] for q in ev_c.quads if q.part == "fill") > top_a


def test_pos_anchors_by_alignment(fonts_dir: Path) -> None:
    def ink(an: int) -> tuple[int, int, int, int]:
        line = kline(0, [("Anchor", "none", 0)], position=(160.0, 90.0), alignment=an)
        (ev,) = build_layout(karaoke_project([line], outline=0, shadow=0), 320, 180, fonts_dir).events_at(0)
        fills = [q for q in ev.quads if q.part == "fill"]
        return (min(q.x for q in fills), min(q.y for q in fills),
                max(q.x + q.image.pixels.shape[1] for q in fills), max(q.y + q.image.pixels.shape[0] for q in fills))

    left = ink(7)    # top-left corner at the point
    assert abs(left[0] - 160) <= 3 and 90 <= left[1] <= 100
    right = ink(3)   # bottom-right at the point
    assert abs(right[2] - 160) <= 3 and right[3] <= 91
    mid = ink(5)
    assert abs((mid[0] + mid[2]) / 2 - 160) <= 2 and abs((mid[1] + mid[3]) / 2 - 90) <= 4


def test_wrapping_long_line_and_fade(fonts_dir: Path) -> None:
    words = [(w + " ", "fill", 200) for w in "one two three four five six seven eight nine ten".split()]
    line = kline(0, words, fade=(300, 400))
    (ev,) = build_layout(karaoke_project([line]), 320, 180, fonts_dir).events_at(10)
    tops = sorted({q.y for q in ev.quads if q.part == "fill"})
    assert tops[-1] - tops[0] > 25          # more than one line
    assert ev.fade == (255, 0, 255, 0, 300, 2600, 3000)
    assert max(q.x + q.image.pixels.shape[1] for q in ev.quads) <= 320 - 10 + 3


def test_runs_overrides_change_size_and_colour(fonts_dir: Path) -> None:
    line = Line(start=0, end=1000, syllables=[Syllable("Big small", 0, 1000, "none")],
                runs=[Run("Big ", 0, {"fs": 50.0, "1c": Color(0, 255, 0)}), Run("small", 0, {})])
    (ev,) = build_layout(karaoke_project([line]), 320, 180, fonts_dir).events_at(0)
    fills = [q for q in ev.quads if q.part == "fill"]
    big, small = fills[0], fills[-1]
    assert big.image.pixels.shape[0] > small.image.pixels.shape[0] * 1.3
    assert big.color == Color(0, 255, 0) and small.color == Color(255, 255, 255)
    assert big.karaoke == "none" and big.color_before == big.color


def test_playres_scales_to_output(fonts_dir: Path) -> None:
    line = kline(0, [("Scale", "none", 0)])
    small = build_layout(karaoke_project([line]), 320, 180, fonts_dir).events_at(0)[0]
    big = build_layout(karaoke_project([line]), 640, 360, fonts_dir).events_at(0)[0]
    w_small = max(q.x + q.image.pixels.shape[1] for q in small.quads) - min(q.x for q in small.quads)
    w_big = max(q.x + q.image.pixels.shape[1] for q in big.quads) - min(q.x for q in big.quads)
    assert w_big == pytest.approx(2 * w_small, abs=3)


def test_a_syllable_over_two_lines_lights_its_second_line_at_its_end(fonts_dir: Path) -> None:
    """libass starts a new karaoke run on every line: the part of a syllable on a later
    line is a zero-length word that lights when the syllable ends."""
    words = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll"
    line = Line(start=0, end=5000, syllables=[Syllable(words, 0, 500, "fill")])
    (ev,) = build_layout(karaoke_project([line]), 320, 180, fonts_dir).events_at(0)
    fills = [q for q in ev.quads if q.part == "fill"]
    tops = sorted({q.y + q.image.pixels.shape[0] for q in fills})
    first_line = [q for q in fills if q.y + q.image.pixels.shape[0] <= tops[0] + 2]
    later = [q for q in fills if q not in first_line]
    assert first_line and later
    assert {(q.k_start, q.k_end) for q in first_line} == {(0, 500)}
    assert {(q.k_start, q.k_end) for q in later} == {(500, 500)}
    # each line part wipes over its own extent
    assert max(q.wipe_x1 for q in first_line) <= 320 and len({q.wipe_x0 for q in later}) <= 2


def test_middle_aligned_events_stack_downwards(fonts_dir: Path) -> None:
    a = kline(0, [("first middle", "fill", 1000)], alignment=5)
    b = kline(0, [("second middle", "fill", 1000)], alignment=5)
    ev_a, ev_b = build_layout(karaoke_project([a, b]), 320, 180, fonts_dir).events_at(500)
    top_b = min(q.y for q in ev_b.quads if q.part == "fill")
    bottom_a = max(q.y + q.image.pixels.shape[0] for q in ev_a.quads if q.part == "fill")
    assert top_b >= bottom_a


def test_translucent_fill_cuts_the_glyph_out_of_its_border(fonts_dir: Path) -> None:
    line = kline(0, [("O", "none", 0)])
    opaque = build_layout(karaoke_project([line]), 320, 180, fonts_dir).events_at(0)[0]
    ghost = build_layout(karaoke_project([line], primary=Color(255, 255, 0, 128)), 320, 180, fonts_dir).events_at(0)[0]
    border_opaque = next(q for q in opaque.quads if q.part == "outline").image.pixels
    border_ghost = next(q for q in ghost.quads if q.part == "outline").image.pixels
    assert border_opaque.shape == border_ghost.shape
    assert border_ghost.astype(int).sum() < border_opaque.astype(int).sum() * 0.8


def test_box_image_antialiases_fractional_edges() -> None:
    img, left, top = box_image(10.5, 20.0, 13.0, 22.25)
    assert (left, top) == (10, 20)
    assert img is not None
    assert img.pixels.tolist() == [[128, 255, 255], [128, 255, 255], [32, 64, 64]]
    assert box_image(5, 5, 5, 9)[0] is None
    assert box_image(0.5, 0, 3.0, 2.25)[0] is img   # same fractions: the cached image


def test_opaque_box_style_draws_boxes_in_the_outline_colour(fonts_dir: Path) -> None:
    line = kline(0, [("Boxed text", "fill", 1000)])
    project = karaoke_project([line], border_style=3, outline=3, shadow=0, outline_colour=Color(0, 0, 200))
    (ev,) = build_layout(project, 320, 180, fonts_dir).events_at(0)
    outlines = [q for q in ev.quads if q.part == "outline"]
    assert len(outlines) == len("Boxed text")            # one box per character, the space too
    assert all(q.color == Color(0, 0, 200) and q.image.key[0] == "box" for q in outlines)
    lefts = sorted(q.x for q in outlines)
    rights = sorted(q.x + q.image.pixels.shape[1] for q in outlines)
    assert all(r >= l2 for r, l2 in zip(rights, lefts[1:]))   # neighbouring boxes touch: one bar


# ---- robustness --------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

TEXT_ALPHABET = st.sampled_from(list("ab Z  \n\u00a0\u0301\u0628\u0644あ한中🎤\t.,!") + ["\\N", "\\h"])
OVERRIDES = st.fixed_dictionaries({}, optional={
    "fs": st.floats(min_value=-5, max_value=200, allow_nan=False),
    "b": st.one_of(st.booleans(), st.sampled_from([100, 400, 700, 900])),
    "i": st.booleans(),
    "bord": st.floats(min_value=0, max_value=12, allow_nan=False),
    "shad": st.floats(min_value=0, max_value=8, allow_nan=False),
    "1c": st.builds(Color, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    "1a": st.integers(0, 255),
    "fn": st.sampled_from(["DejaVu Sans", "Nope Font", ""]),
})


@st.composite
def random_lines(draw) -> list[Line]:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 2000))
        n = draw(st.integers(0, 5))
        sylls, runs, t = [], [], start
        for k in range(n):
            text = "".join(draw(st.lists(TEXT_ALPHABET, max_size=8)))
            dur = draw(st.integers(0, 800))
            sylls.append(Syllable(text, t, t + dur, draw(st.sampled_from(["fill", "instant", "outline", "none"]))))
            runs.append(Run(text, k, draw(OVERRIDES)))
            t += dur
        lines.append(Line(start=start, end=start + 3000, syllables=sylls, runs=runs if draw(st.booleans()) else [],
                          alignment=draw(st.sampled_from([None, 1, 5, 9])),
                          position=draw(st.sampled_from([None, (160.0, 90.0), (-50.0, 400.0)])),
                          fade=draw(st.sampled_from([None, (200, 200), (5000, 0)])),
                          layer=draw(st.integers(0, 1))))
    return lines


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=random_lines(), wrap_style=st.integers(0, 3))
def test_any_text_lays_out_without_errors(fonts_dir: Path, caplog: pytest.LogCaptureFixture,
                                         lines: list[Line], wrap_style: int) -> None:
    caplog.clear()
    project = karaoke_project(lines)
    project.wrap_style = wrap_style
    layout = build_layout(project, 320, 180, fonts_dir)
    for t in (0, 1000, 2500, 4000):
        for ev in layout.events_at(t):
            assert ev.start <= t < ev.end
            for q in ev.quads:
                assert q.image.pixels.dtype == np.uint8 and q.image.pixels.ndim == 2
                assert q.part in ("shadow", "outline", "fill")
                assert -5000 < q.x < 5000 and -5000 < q.y < 5000
    # a failing event is logged and skipped by the layout: here none may fail
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
