"""The native .kproj format: every documented field, exact times, and errors with lines."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotfolder import boundedyaml
from hotfolder.errors import ProjectError
from hotfolder.project import kproj, load_project
from hotfolder.project.limits import Limits
from hotfolder.project.model import Color, Display, Line, Media, Project, Style, Syllable

REPO = Path(__file__).resolve().parent.parent

FULL = """\
version: 1
title: "  Full Song "
artist: Somebody
play_res: [1280, 720]
media:
  audio: media/song.ogg
  background: bg.png
  video: clip.mp4
  video_gap: -0.25
  fonts: fonts
styles:
  Default:
    font: DejaVu Serif
    size: 52.5
    bold: yes
    italic: true
    underline: true
    strikeout: false
    primary: "#ffcc00"
    secondary: "#11223344"
    outline_colour: "102030"
    back: "#000000c0"
    outline: 3.5
    shadow: 1.5
    alignment: 8
    margins: [11, 12, 13]
    scale_x: 90
    scale_y: 110
    spacing: 1.5
    angle: -5
    border_style: 3
  Second:
    margin_l: 5
    margin_r: 6
    margin_v: 7
display:
  title_card: false
  title_card_duration: "0:02.500"
  next_line: false
  countdown: false
  countdown_gap: 12
  fade: 120ms
  lead_in: 0.8
render:
  width: 640
  height: 360
  fps: 25
  encoder: libx264
  crf: 23
  preset: fast
  bitrate: 2M
  background: "#203040"
  tail_ms: 1500
  gpu: 0
  audio: other.ogg
  fonts_dir: fonts
  size_from_project: true
lines:
  - text: "Twin|kle |star"
    times: [1.1, 1.45, "0:01.800", 2.5]
    singer: P1
    kind: instant
  - start: 3
    end: 5.5
    style: Second
    position: [320, 40.5]
    alignment: 7
    fade: [0.2, 300ms]
    layer: 2
    margins: [1, 2, 3]
    syllables:
      - [How, 3.0, 3.35]
      - [" I", 3.35, 3.7, outline]
      - {text: " won", start: "3.7", end: 4}
      - {text: der, start: 4.0, end: 4.5, kind: none}
  - {text: "a static line", start: "1:00", end: "1:02.25"}
"""


def write(tmp_path: Path, text: str, name: str = "song.kproj") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_err(tmp_path: Path, text: str, limits: Limits | None = None) -> ProjectError:
    path = write(tmp_path, text)
    with pytest.raises(ProjectError) as exc:
        kproj.load(path, limits or Limits())
    assert exc.value.file == str(path)
    return exc.value


def test_every_documented_field(tmp_path):
    p = kproj.load(write(tmp_path, FULL))
    base = tmp_path.resolve()
    assert p.format == "kproj" and p.source == tmp_path / "song.kproj"
    assert (p.title, p.artist, p.play_res) == ("Full Song", "Somebody", (1280, 720))
    assert p.media == Media(audio=base / "media/song.ogg", background=base / "bg.png", video=base / "clip.mp4",
                            video_gap=-250, fonts_dir=base / "fonts")
    assert p.styles["Default"] == Style(
        name="Default", font="DejaVu Serif", size=52.5, bold=True, italic=True, underline=True, strikeout=False,
        primary=Color(255, 204, 0, 255), secondary=Color(0x11, 0x22, 0x33, 0x44),
        outline_colour=Color(0x10, 0x20, 0x30, 255), back=Color(0, 0, 0, 0xC0), outline=3.5, shadow=1.5,
        alignment=8, margin_l=11, margin_r=12, margin_v=13, scale_x=90, scale_y=110, spacing=1.5, angle=-5,
        border_style=3)
    assert p.styles["Second"] == Style(name="Second", margin_l=5, margin_r=6, margin_v=7)
    assert p.display == Display(title_card=False, title_card_seconds=2.5, next_line=False, countdown=False,
                                countdown_gap_seconds=12.0, fade_ms=120, lead_in_ms=800)
    assert p.render == {"width": 640, "height": 360, "fps": 25, "encoder": "libx264", "crf": 23, "preset": "fast",
                        "bitrate": "2M", "background": "#203040", "tail_ms": 1500, "gpu": 0,
                        "audio": base / "other.ogg", "fonts_dir": base / "fonts", "size_from_project": True}
    one, two, three = p.lines
    assert (one.start, one.end, one.singer, one.style, one.source_line) == (
        1100, 2500, "P1", "Default", FULL.splitlines().index('  - text: "Twin|kle |star"') + 1)
    assert one.syllables == [Syllable("Twin", 1100, 1450, "instant"), Syllable("kle ", 1450, 1800, "instant"),
                             Syllable("star", 1800, 2500, "instant")]
    assert (two.start, two.end, two.style, two.position, two.alignment, two.fade, two.layer, two.margins) == (
        3000, 5500, "Second", (320.0, 40.5), 7, (200, 300), 2, (1, 2, 3))
    assert two.syllables == [Syllable("How", 3000, 3350, "fill"), Syllable(" I", 3350, 3700, "outline"),
                             Syllable(" won", 3700, 4000, "fill"), Syllable("der", 4000, 4500, "none")]
    assert (three.start, three.end, three.syllables) == (60000, 62250, [Syllable("a static line", 60000, 62250, "none")])
    assert p.duration == 62250


def _without_lines_meta(project: Project) -> Project:
    for ln in project.lines:
        ln.source_line = None
    return project


def test_written_kproj_loads_back_equal(tmp_path):
    p = kproj.load(write(tmp_path, FULL))
    out = tmp_path / "copy.kproj"
    out.write_text(kproj.to_yaml(p, out), encoding="utf-8")
    q = kproj.load(out)
    q.source = p.source
    assert _without_lines_meta(q) == _without_lines_meta(p)


def test_render_settings_are_usable(tmp_path):
    from hotfolder.settings import RenderSettings

    p = kproj.load(write(tmp_path, FULL))
    settings_ = RenderSettings().updated(p.render)
    assert (settings_.width, settings_.fps, settings_.tail_ms) == (640, 25, 1500)


@pytest.mark.parametrize("raw, ms", [
    ("1.1", 1100), ("0.1", 100), ("1", 1000), ("1.", 1000), (".5", 500), ("0:01.5", 1500), ("1:02.003", 62003),
    ("1:02:03.004", 3723004), ("250ms", 250), ("250 ms", 250), ("1.0005", 1001), ("1.0004999", 1000),
    ("-0.25", -250), ("86400", 86_400_000),
])
def test_time_values_are_exact(raw, ms):
    assert kproj.parse_time_ms(raw) == ms


@pytest.mark.parametrize("raw", ["abc", "1e3", ".inf", "1:60", "1:60:00", "1,5", "", "0x10", "1:2:3:4", "1.5s"])
def test_bad_time_values(raw):
    with pytest.raises(ValueError):
        kproj.parse_time_ms(raw)


def test_many_small_steps_stay_exact(tmp_path):
    # 0.1 added 1000 times as floats drifts; written times are read as written
    times = ", ".join(f"{i / 10:.1f}" for i in range(1001))
    text = "|".join("x" * 1 for _ in range(1000))
    p = kproj.load(write(tmp_path, f"version: 1\nlines:\n  - text: \"{text}\"\n    times: [{times}]\n"))
    assert [s.start for s in p.lines[0].syllables] == [100 * i for i in range(1000)]
    assert p.lines[0].end == 100_000


# -- errors name the file and the line ------------------------------------------------------------

@pytest.mark.parametrize("text, line, words", [
    ("version: 1\ntitel: x\n", 2, "unknown key 'titel'"),
    ("version: 1\nstyles:\n  Default:\n    colour: '#fff'\n", 4, "unknown key 'colour'"),
    ("version: 1\nlines:\n  - text: a|b\n    times: [1, 2, 3]\n    speed: 2\n", 5, "unknown key 'speed'"),
    ("version: 1\nmedia:\n  audio: a.ogg\n  sound: b.ogg\n", 4, "unknown key 'sound'"),
    ("version: 1\ndisplay: {title_card: true, fade_ms: 3}\n", 2, "unknown key 'fade_ms'"),
    ("version: 1\nrender:\n  width: 640\n  colour: red\n", 4, "unknown key 'colour'"),
    ("version: 1\nlines:\n  - text: a|b\n    times: [1, 2, 1:7x]\n", 4, "expected a time"),
    ("version: 1\nlines:\n  - syllables:\n    - [a, 1.0, 0.5]\n", 4, "ends (500 ms) before it starts (1000 ms)"),
    ("version: 1\nlines:\n  - text: a|b\n    times: [1, 3, 2]\n", 4, "before it starts"),
    ("version: 1\nlines:\n  - {text: x, start: 5, end: 4}\n", 3, "line 1 ends"),
    ("version: 1\nlines:\n  - {text: x, start: -1, end: 4}\n", 3, "negative"),
    ("version: 1\nlines:\n  - {text: x, start: 1, end: 25:00:00}\n", 3, "beyond 24 hours"),
    ("version: 1\nmedia:\n  audio: ../outside.ogg\n", 3, "outside the project's folder"),
    ("version: 1\nmedia:\n  background: /etc/passwd\n", 3, "absolute path"),
    ("title: x\n", 1, "missing `version: 1`"),
    ("version: 2\n", 1, "unsupported version"),
    ("version: 1\nlines: []\nlyrics: a.lrc\n", 3, "not both"),
    ("version: 1\nlines:\n  - {text: x, start: 1, end: 2, style: Nope}\n", 3, "unknown style 'Nope'"),
    ("version: 1\nlines:\n  - text: a|b\n    times: [1, 2]\n", 4, "2 syllables need 3 times"),
    ("version: 1\nstyles:\n  Default:\n    primary: #ffffff\n", 4, "write it in quotes"),
    ("version: 1\ntitle: a\ntitle: b\n", 3, "duplicate key 'title'"),
    ("version: 1\nlines: [\n  {text: x\n", 4, "invalid YAML"),
    ("version: 1\ntitle: !!python/object:os.system x\n", 2, "not allowed"),
    ("version: 1\nlines:\n  - start: 2\n    syllables: [[a, 1, 3]]\n", 4, "outside its line"),
    ("version: 1\nlines:\n  - syllables:\n    - [a, 1, 3]\n    - [b, 2, 4]\n", 5, "before the previous syllable"),
    ("version: 1\nlines:\n  - text: x\n", 3, "needs start and end"),
    ("version: 1\nlines:\n  - {start: 1}\n", 3, "needs syllables"),
    ("version: 1\nstyles:\n  Default: {size: big}\n", 3, "expected a number"),
    ("version: 1\nstyles:\n  Default: {alignment: 10}\n", 3, "above the maximum"),
    ("version: 1\nrender: {fps: 0}\n", 2, "below the minimum"),
    ("version: 1\nrender: {width: wide}\n", 2, "expected a whole number"),
    ("version: 1\nstyles:\n  Default: {bold: maybe}\n", 3, "expected true or false"),
    ("version: 1\nlines:\n  - syllables: [[a, 1, 2, wipe]]\n", 3, "kind must be one of"),
    ("version: 1\nlines: {a: 1}\n", 2, "expected a list"),
    ("- version: 1\n", 1, "expected a mapping"),
    ("", 1, "empty project"),
    ("version: 1\nlyrics: other.kproj\n", 2, "is not an ASS/SSA, LRC or UltraStar file"),
    ("version: 1\nlyrics: missing.lrc\n", 2, "does not exist"),
    ("version: 1\ntitle: \x07\n", 2, "invalid YAML"),
])
def test_errors_name_file_line_and_problem(tmp_path, text, line, words):
    err = load_err(tmp_path, text)
    assert err.line == line, str(err)
    assert words in err.message, str(err)
    assert str(err).startswith(f"{tmp_path / 'song.kproj'}:{line}: ")


def test_alias_bomb_is_refused_quickly(tmp_path):
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "version: 1\nrender:\n" + "".join(f"  {r}\n" for r in rows)
    err = load_err(tmp_path, text)
    assert "expands to more than" in err.message
    assert 3 < err.line <= 12


def test_alias_bomb_inside_lines_is_refused(tmp_path):
    text = ("version: 1\nx: &s [[a, 1, 2]]\n"
            + "".join(f"y{i}: &y{i} [" + ", ".join([f"*{'y' + str(i - 1) if i else 's'}"] * 20) + "]\n" for i in range(6))
            + "lines: [{syllables: *y5}]\n")
    err = load_err(tmp_path, text)
    assert "expands to more than" in err.message


def test_recursive_alias_is_refused(tmp_path):
    err = load_err(tmp_path, "version: 1\nstyles: &s {Default: *s}\n")
    assert err.line == 2 and ("refers to itself" in err.message or "YAML" in err.message)


def test_deep_nesting_is_refused_without_recursion_error(tmp_path):
    err = load_err(tmp_path, "version: 1\ntitle: " + "[" * 100 + "]" * 100 + "\n")
    assert err.line == 2 and "nested more than 24 levels deep" in err.message
    err = load_err(tmp_path, "version: 1\ntitle: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert err.line == 2 and "nest" in err.message  # ours, or libyaml's own limit


def test_aliases_within_reason_are_fine(tmp_path):
    p = kproj.load(write(tmp_path, """\
        version: 1
        styles:
          Default: &base {font: DejaVu Sans, size: 40, primary: "#00ff00"}
          Big:
            <<: *base
            size: 80
        lines:
          - {text: x, start: 1, end: 2, style: Big}
        """))
    assert p.styles["Big"].size == 80 and p.styles["Big"].primary == Color(0, 255, 0)


def test_limits_on_size_lines_and_syllables(tmp_path):
    many_lines = "version: 1\nlines:\n" + "".join(f"  - {{text: x, start: {i}, end: {i + 1}}}\n" for i in range(6))
    assert "more than the limit of 5" in load_err(tmp_path, many_lines, Limits(max_lines=5)).message
    many_syll = "version: 1\nlines:\n  - text: " + "|".join("x" * 6) + "\n    times: [0, 1, 2, 3, 4, 5, 6]\n"
    err = load_err(tmp_path, many_syll, Limits(max_syllables_per_line=5))
    assert err.line == 3 and "6 syllables" in err.message
    err = load_err(tmp_path, "version: 1\ntitle: " + "x" * 500 + "\n", Limits(max_file_bytes=100))
    assert "more than the limit of 100" in err.message


def test_symlinked_media_leading_outside_is_refused(tmp_path):
    (tmp_path / "secret.ogg").write_bytes(b"x")
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "song.ogg").symlink_to(tmp_path / "secret.ogg")
    err = load_err(proj, "version: 1\nmedia: {audio: song.ogg}\n")
    assert err.line == 2 and "outside" in err.message


# -- lyrics by reference ----------------------------------------------------------------------------

LRC = """\
[ti:From LRC]
[ar:LRC Artist]
[00:01.00]<00:01.00>Hel<00:01.50>lo <00:02.00>world<00:02.50>
"""


def test_lyrics_reference_with_overrides(tmp_path):
    (tmp_path / "words.lrc").write_text(LRC, encoding="utf-8")
    p = kproj.load(write(tmp_path, """\
        version: 1
        title: From kproj
        lyrics: words.lrc
        media: {audio: song.ogg, video_gap: 1}
        styles:
          Default: {size: 30}
        display: {countdown: false}
        """))
    assert (p.format, p.source, p.title, p.artist) == ("kproj", tmp_path / "song.kproj", "From kproj", "LRC Artist")
    assert p.media.audio == tmp_path.resolve() / "song.ogg" and p.media.video_gap == 1000
    assert p.styles["Default"].size == 30 and p.styles["Default"].font == Style().font
    assert p.display is not None and p.display.countdown is False
    assert [(s.text, s.start, s.end) for s in p.lines[0].syllables] == [
        ("Hel", 1000, 1500), ("lo ", 1500, 2000), ("world", 2000, 2500)]


def test_errors_in_referenced_lyrics_name_that_file(tmp_path):
    (tmp_path / "words.txt").write_text("#TITLE:x\n#BPM:abc\n: 0 1 0 a\nE\n", encoding="utf-8")
    with pytest.raises(ProjectError) as exc:
        load_project(write(tmp_path, "version: 1\nlyrics: words.txt\n"))
    assert exc.value.file == str(tmp_path.resolve() / "words.txt")


def test_load_project_dispatches_kproj(tmp_path):
    assert load_project(write(tmp_path, FULL)).format == "kproj"


# -- property: whatever a kproj can say survives writing and reading back ---------------------------

_ms = st.integers(0, 86_400_000)
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8).filter(lambda t: "|" not in t)
_color = st.builds(Color, *(st.integers(0, 255) for _ in range(4)))


@st.composite
def _lines(draw: st.DrawFn) -> Line:
    bounds = sorted(draw(st.lists(_ms, min_size=2, max_size=8)))
    sylls = [Syllable(draw(_text), a, b, draw(st.sampled_from(kproj.KINDS))) for a, b in zip(bounds, bounds[1:])]
    return Line(bounds[0], bounds[-1], sylls, style=draw(st.sampled_from(["Default", "Other"])),
                singer=draw(st.none() | st.sampled_from(["P1", "P2", "Anna Lena"])),
                position=draw(st.none() | st.tuples(st.integers(-50, 2000).map(float), st.integers(0, 2000).map(float))),
                alignment=draw(st.none() | st.integers(1, 9)),
                fade=draw(st.none() | st.tuples(st.integers(0, 5000), st.integers(0, 5000))),
                layer=draw(st.integers(0, 5)),
                margins=draw(st.none() | st.tuples(*(st.integers(0, 300) for _ in range(3)))))


@st.composite
def _projects(draw: st.DrawFn, folder: Path) -> Project:
    style = st.builds(Style, font=st.sampled_from(["DejaVu Sans", "WenQuanYi Zen Hei"]),
                      size=st.integers(1, 200).map(float), bold=st.booleans(), italic=st.booleans(),
                      primary=_color, secondary=_color, outline_colour=_color, back=_color,
                      outline=st.integers(0, 20).map(float), alignment=st.integers(1, 9),
                      margin_l=st.integers(0, 100), margin_v=st.integers(0, 100))
    styles = {"Default": draw(style), "Other": draw(style)}
    for name, s in styles.items():
        s.name = name
    return Project(
        format="kproj", source=folder / "p.kproj", title=draw(_text).strip(), artist=draw(_text).strip(),
        lines=draw(st.lists(_lines(), max_size=4)), styles=styles,
        media=Media(audio=draw(st.none() | st.just(folder / "a b.ogg")), background=draw(st.none() | st.just(folder / "bg.png")),
                    video_gap=draw(st.integers(-10_000, 10_000))),
        display=Display(title_card=draw(st.booleans()), title_card_seconds=draw(st.integers(0, 10_000)) / 1000,
                        fade_ms=draw(st.integers(0, 2000)), lead_in_ms=draw(st.integers(0, 5000))),
        render=draw(st.fixed_dictionaries({}, optional={"width": st.integers(16, 4000), "preset": st.just("slow"),
                                                        "background": st.just("#102030")})),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_write_then_load_is_identity(tmp_path, data):
    folder = tmp_path.resolve()
    project = data.draw(_projects(folder))
    path = folder / "p.kproj"
    path.write_text(kproj.to_yaml(project, path), encoding="utf-8")
    back = kproj.load(path)
    assert _without_lines_meta(back) == project


def test_empty_values_count_as_not_given(tmp_path):
    p = kproj.load(write(tmp_path, """\
        version: 1
        title:
        artist: ~
        media: {audio: ~}
        styles:
          Default: {size: ~, font: }
        display: {fade: ~}
        render: {bitrate: ~}
        lines:
          - {text: x, start: 1, end: 2, style: ~, singer: ~, kind: ~}
        """))
    assert (p.title, p.artist, p.media.audio, p.styles["Default"], p.display) == ("", "", None, Style(), Display())
    assert p.render == {"bitrate": None}
    assert (p.lines[0].style, p.lines[0].singer) == ("Default", None)


def test_referenced_ass_stays_libass_like_unless_display_is_given(tmp_path):
    ass = REPO / "examples" / "ass" / "song.ass"
    shutil.copy(ass, tmp_path / "words.ass")
    p = kproj.load(write(tmp_path, "version: 1\nlyrics: words.ass\ntitle: Mine\n"))
    assert (p.format, p.title, p.display, p.play_res) == ("kproj", "Mine", None, (1920, 1080))
    assert p.media.video == tmp_path.resolve() / "background.mp4"  # the ASS file's own Video File
    assert [s.start for s in p.lines[1].syllables][:2] == [1400, 1750]
    p = kproj.load(write(tmp_path, "version: 1\nlyrics: words.ass\ndisplay: {next_line: false}\n"))
    assert p.display == Display(next_line=False)


def test_long_merge_chain_is_refused_without_recursion_error(tmp_path):
    rows = "".join(f"    s{i}: &s{i} {{<<: *s{i - 1}, size: {i + 1}}}\n" for i in range(1, 500))
    text = "version: 1\nrender:\n  x:\n    s0: &s0 {size: 1}\n" + rows + "styles:\n  Default: *s499\n"
    err = load_err(tmp_path, text)
    assert "merge keys (<<) nested more than 8 deep" in err.message


@pytest.mark.parametrize("c_loader", [True, False], ids=["libyaml", "pure-python"])
def test_both_yaml_paths_guard_and_load(tmp_path, monkeypatch, c_loader):
    if not c_loader:
        monkeypatch.setattr(boundedyaml, "_CSafeLoader", None)
    elif boundedyaml._CSafeLoader is None:
        pytest.skip("PyYAML without libyaml")
    assert kproj.load(write(tmp_path, FULL)).duration == 62250
    for text, line, words in [("version: 1\ntitle:\n  " + "- " * 60 + "x\n", 3, "nested more than"),
                              ("version: 1\nlines: [\n", 3, "invalid YAML"),
                              ("version: 1\ntitle: a\x07\n", 2, "invalid YAML")]:
        err = load_err(tmp_path, text)
        assert (err.line, words in err.message) == (line, True), str(err)
