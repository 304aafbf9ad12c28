"""presentation.present: plain karaoke projects into ASS-like projects (pure, no GPU)."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings, strategies as st

from hotfolder.presentation import (
    ARTIST_STYLE, COUNTDOWN_DOT, COUNTDOWN_STYLE, TITLE_STYLE, Geometry, present,
)
from hotfolder.project.model import Color, Display, Line, Project, Style, Syllable

W, H = 1920, 1080
GEO = Geometry(W, H)
UPPER, LOWER = GEO.upper_slot, GEO.lower_slot


def line(start: int, end: int, words: int = 2, singer: str | None = None, style: str = "Default") -> Line:
    step = (end - start) // words
    syl = [Syllable(f"w{i} ", start + i * step, start + (i + 1) * step, "fill") for i in range(words)]
    syl[-1].end = end
    return Line(start=start, end=end, syllables=syl, singer=singer, style=style)


def project(lines: list[Line], display: Display | None = None, **kw) -> Project:
    return Project(format="ultrastar", source=Path("song.txt"), lines=lines,
                   display=display if display is not None else Display(), **kw)


def lyrics(p: Project) -> list[Line]:
    return [ln for ln in p.lines if ln.style not in (TITLE_STYLE, ARTIST_STYLE, COUNTDOWN_STYLE)]


def slot_of(ln: Line) -> str:
    if (ln.position, ln.alignment) == UPPER:
        return "upper"
    if (ln.position, ln.alignment) == LOWER:
        return "lower"
    raise AssertionError(f"not in a slot: {ln.position} {ln.alignment}")


def assert_no_overlap(p: Project) -> None:
    """Events at the same anchor must not share time; the slots are apart and grow apart."""
    by_anchor: dict[tuple, list[Line]] = {}
    for ln in p.lines:
        by_anchor.setdefault((ln.position, ln.alignment), []).append(ln)
    for anchor, events in by_anchor.items():
        events.sort(key=lambda e: e.start)
        for a, b in zip(events, events[1:]):
            assert a.end <= b.start, f"{anchor}: {a.text!r} {a.start}-{a.end} overlaps {b.text!r} {b.start}-{b.end}"
    (ux, uy), ua = UPPER
    (lx, ly), la = LOWER
    assert ua == 2 and la == 8 and uy < ly  # upper grows up from uy, lower grows down from ly


def test_ass_project_is_returned_unchanged() -> None:
    p = Project(format="ass", source=Path("a.ass"), lines=[line(0, 1000)], play_res=(640, 360))
    assert present(p, W, H) is p


def test_two_lines_alternate_slots_with_lead_in_and_fades() -> None:
    d = Display(title_card=False, next_line=False, countdown=False, lead_in_ms=1500, fade_ms=300)
    src = [line(2000, 4000), line(4000, 6000), line(6000, 8000)]
    out = present(project(src, d), W, H)
    assert out.display is None and out.play_res == (W, H)
    got = lyrics(out)
    assert [slot_of(ln) for ln in got] == ["upper", "lower", "upper"]
    assert [(ln.start, ln.end) for ln in got] == [(500, 4300), (2500, 6300), (4500, 8300)]
    assert all(ln.fade == (300, 300) for ln in got)
    # syllable kinds and times kept, absolute
    assert [(s.text, s.start, s.end, s.kind) for s in got[1].syllables] == [
        ("w0 ", 4000, 5000, "fill"), ("w1 ", 5000, 6000, "fill")]
    assert_no_overlap(out)


def test_next_line_shows_when_the_previous_starts_and_slot_waits_for_fade_out() -> None:
    d = Display(title_card=False, next_line=True, countdown=False, lead_in_ms=1000, fade_ms=200)
    src = [line(2000, 5000), line(5000, 9000), line(9000, 12000)]
    got = lyrics(present(project(src, d), W, H))
    assert got[0].start == 1000
    assert got[1].start == 2000  # on screen once line 0 is being sung (earlier than its own lead-in)
    assert got[2].start == 5200  # upper slot frees when line 0 has faded out (5000 + 200)
    assert got[2].fade == (200, 200)


def test_countdown_after_long_gap_in_other_slot() -> None:
    d = Display(title_card=False, next_line=True, countdown=True, countdown_gap_seconds=8.0, lead_in_ms=1500, fade_ms=300)
    src = [line(2000, 4000), line(20_000, 22_000), line(22_000, 24_000)]
    out = present(project(src, d), W, H)
    cd = [ln for ln in out.lines if ln.style == COUNTDOWN_STYLE]
    assert [(ln.text, ln.start, ln.end) for ln in cd] == [
        (" ".join([COUNTDOWN_DOT] * 3), 17_000, 18_000), (" ".join([COUNTDOWN_DOT] * 2), 18_000, 19_000),
        (COUNTDOWN_DOT, 19_000, 20_000)]
    got = lyrics(out)
    after_gap = got[1]
    assert after_gap.start == 17_000  # appears with the countdown
    assert {slot_of(c) for c in cd} == {"upper"} and slot_of(after_gap) == "lower"
    assert slot_of(got[2]) == "upper" and got[2].start == 20_000  # next line once the countdown is done
    assert all(c.syllables[0].kind == "none" for c in cd)
    assert_no_overlap(out)


def test_no_countdown_for_short_gap_or_when_switched_off() -> None:
    src = [line(10_000, 12_000), line(19_000, 21_000)]  # intro 10 s: countdown; gap 7 s: none
    out = present(project(src, Display(title_card=False, countdown_gap_seconds=8.0)), W, H)
    cd = [ln for ln in out.lines if ln.style == COUNTDOWN_STYLE]
    assert [(c.start, c.end) for c in cd] == [(7000, 8000), (8000, 9000), (9000, 10_000)]
    off = present(project(src, Display(title_card=False, countdown=False)), W, H)
    assert not [ln for ln in off.lines if ln.style == COUNTDOWN_STYLE]


def test_title_card_until_shortly_before_first_line() -> None:
    d = Display(title_card=True, title_card_seconds=4.0, fade_ms=300, countdown=False)
    p = project([line(3000, 5000)], d, title="Song", artist="Band")
    out = present(p, W, H)
    title = [ln for ln in out.lines if ln.style == TITLE_STYLE]
    artist = [ln for ln in out.lines if ln.style == ARTIST_STYLE]
    assert [(t.text, t.start, t.end) for t in title] == [("Song", 0, 2700)]
    assert [(a.text, a.start, a.end) for a in artist] == [("Band", 0, 2700)]
    assert title[0].fade == (300, 300)
    assert title[0].alignment == 2 and artist[0].alignment == 8
    assert title[0].position[1] < artist[0].position[1] < UPPER[0][1] - GEO.font_size * 2.5
    # full length when the song starts late
    late = present(project([line(30_000, 31_000)], d, title="Song"), W, H)
    assert [(t.start, t.end) for t in late.lines if t.style == TITLE_STYLE] == [(0, 4000)]
    # too little room, switched off, or nothing to show: no card
    assert not [t for t in present(project([line(1200, 2000)], d, title="S"), W, H).lines if t.style == TITLE_STYLE]
    off = Display(title_card=False)
    assert not [t for t in present(project([line(9000, 9500)], off, title="S"), W, H).lines if t.style == TITLE_STYLE]
    assert not [t for t in present(project([line(9000, 9500)], d), W, H).lines if t.style in (TITLE_STYLE, ARTIST_STYLE)]


def test_duet_styles_differ_and_scale_with_height() -> None:
    src = [line(2000, 4000, singer="P1"), line(4000, 6000, singer="P2"), line(6000, 8000, singer="Choir"),
           line(8000, 9000)]
    out = present(project(src, Display(title_card=False, countdown=False)), 1280, 720)
    got = lyrics(out)
    names = [ln.style for ln in got]
    assert names[0] == names[3] == "Default" and len(set(names[:3])) == 3
    p1, p2, choir = (out.styles[n] for n in names[:3])
    assert p1.secondary != p2.secondary != choir.secondary
    assert p1.primary == p2.primary == Color(255, 255, 255)
    assert p1.font == "DejaVu Sans" and p1.outline_colour == Color(0, 0, 0) and p1.outline >= 1
    assert p1.size == round(720 * 0.07)
    assert present(project(src), 1920, 1080).styles["Default"].size == round(1080 * 0.07)
    assert present(project(src), 320, 180).styles["Default"].size == round(180 * 0.07)


def test_three_lines_at_once_cut_the_oldest() -> None:
    # a duet where P1 holds a long line while P2 sings two: never three on screen
    src = [line(2000, 12_000, singer="P1"), line(3000, 6000, singer="P2"), line(6500, 9000, singer="P2")]
    out = present(project(src, Display(title_card=False, countdown=False, fade_ms=300, lead_in_ms=1000)), W, H)
    got = lyrics(out)
    assert_no_overlap(out)
    # the third line takes the slot that frees first (P2's), so P1's long line is not cut
    assert slot_of(got[2]) == slot_of(got[1]) and got[0].end == 12_300
    four = src + [line(7000, 8000, singer="P1")]
    out = present(project(four, Display(title_card=False, countdown=False, fade_ms=300, lead_in_ms=1000)), W, H)
    assert_no_overlap(out)
    shown = lyrics(out)
    for ln in shown[1:]:
        assert ln.start <= ln.syllables[0].start  # each line is up before it is sung


def test_project_styles_and_positions_are_kept_scaled() -> None:
    mine = Style(name="Big", font="Other", size=50, primary=Color(1, 2, 3))
    src = [line(2000, 4000, style="Big"), line(4000, 6000)]
    src[1].position = (320.0, 90.0)
    p = project(src, Display(title_card=False, countdown=False), styles={"Default": Style(), "Big": mine},
                play_res=(640, 360))
    out = present(p, 1280, 720)
    got = lyrics(out)
    big = out.styles[got[0].style]
    assert big.font == "Other" and big.size == 100 and big.primary == Color(1, 2, 3)
    assert got[1].position == (640.0, 180.0) and got[1].style == "Default"


_line_sets = st.lists(
    st.tuples(st.integers(0, 15_000), st.integers(100, 6000), st.sampled_from([None, "P1", "P2"])),
    min_size=1, max_size=14)


@settings(max_examples=100, deadline=None)
@given(gaps=_line_sets, next_line=st.booleans(), countdown=st.booleans(), title=st.booleans(),
       lead=st.integers(0, 4000), fade=st.integers(0, 800), height=st.sampled_from([180, 720, 1080]))
def test_lines_never_overlap_and_are_up_while_sung(gaps, next_line, countdown, title, lead, fade, height) -> None:
    t, src = 0, []
    for gap, dur, singer in gaps:  # sung lines one after another (UltraStar / LRC shape)
        t += gap
        src.append(line(t, t + dur, singer=singer))
        t += dur
    d = Display(title_card=title, next_line=next_line, countdown=countdown, lead_in_ms=lead, fade_ms=fade)
    out = present(project(src, d, title="T", artist="A"), height * 16 // 9, height)
    geo = Geometry(height * 16 // 9, height)
    by_anchor: dict[tuple, list[Line]] = {}
    for ln in out.lines:
        by_anchor.setdefault((ln.position, ln.alignment), []).append(ln)
        assert ln.start < ln.end
        if ln.fade:
            assert ln.fade[0] + ln.fade[1] <= ln.end - ln.start
    for events in by_anchor.values():
        events.sort(key=lambda e: e.start)
        for a, b in zip(events, events[1:]):
            assert a.end <= b.start
    assert set(by_anchor) <= {geo.upper_slot, geo.lower_slot, (geo.title_pos, 2), (geo.artist_pos, 8)}
    shown = sorted(lyrics(out), key=lambda ln: ln.syllables[0].start)
    assert len(shown) == len(src)
    for s, o in zip(src, shown):
        assert o.start <= s.start and o.end >= s.end  # on screen for the whole time it is sung
        assert [(x.text, x.start, x.end, x.kind) for x in o.syllables] == [(x.text, x.start, x.end, x.kind) for x in s.syllables]
        assert o.fade is None or s.start - o.start >= o.fade[0]  # opaque by the time it is sung


def test_present_does_not_touch_its_input() -> None:
    import copy

    p = project([line(2000, 4000, singer="P2"), line(15_000, 16_000)], title="T", artist="A")
    before = copy.deepcopy(p)
    present(p, 640, 360)
    assert p == before
