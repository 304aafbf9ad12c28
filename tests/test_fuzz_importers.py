"""Every importer, fed random bytes and mutated valid files, returns a Project or raises
ProjectError, nothing else. Each module's `load` is called directly, not through
load_project, whose catch-all would hide a bug."""
from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotfolder.errors import ProjectError
from hotfolder.project.limits import Limits
from hotfolder.project.model import Project

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SHARED_KT = REPO.parent / "shared" / "fixtures" / "libass-kt" / "kt.ass"

# small limits, so a mutation that multiplies lines runs into them rather than into the clock
LIMITS = Limits(max_file_bytes=64 * 1024, max_lines=500, max_syllables_per_line=200)

KPROJ_SEED = b"""\
version: 1
title: Seed &amp; "quotes"
artist: A
media: {audio: song.ogg, background: bg.png, video: v.mp4, video_gap: -0.5, fonts: fonts}
styles:
  Default: &b {font: DejaVu Sans, size: 40, primary: "#ffcc00", secondary: "#ffffff80", margins: [1, 2, 3]}
  Other: {<<: *b, alignment: 8}
display: {title_card: true, title_card_duration: 2, countdown_gap: "0:03", fade: 200ms, lead_in: 1}
render: {width: 320, height: 180, fps: 25, background: "#000000", tail_ms: 100}
lines:
  - {text: "Ka|ra|o|ke", times: [1, 1.25, "0:01.5", 1.75, 2], singer: P1}
  - start: 2
    end: 4
    style: Other
    syllables: [[a, 2, 2.5], [" b", 2.5, 3, instant], {text: c, start: 3, end: 3.5, kind: outline}]
  - {text: static, start: "1:00", end: "1:01"}
"""

ASS_SEED = b"""\
[Script Info]
ScriptType: v4.00+
PlayResX: 640
PlayResY: 360

[Aegisub Project Garbage]
Audio File: song.ogg

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,40,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:04.00,Default,,0,0,0,,{\\k50}Ka{\\kf25.5}ra{\\ko}o{\\K30}{\\kt120}ke{\\1c&H00FF00&}x
Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\k10}hidden
Dialogue: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,{\\pos(10,20)\\an7\\fad(100,100)}plain
"""

LRC_SEED = b"""\
[ti:Seed]
[ar:Someone]
[offset:+100]
[00:01.00]<00:01.00>Ka <00:01.50>ra <00:02.00>oke<00:02.500>
[00:03.00]plain line
[00:04.00]Word [00:04.50]by [00:05.00]word
"""

ULTRASTAR_SEED = b"""\
#TITLE:Seed
#ARTIST:Someone
#MP3:song.ogg
#BPM:300
#GAP:1000
P1
: 0 4 0 Ka
* 4 4 2 ra
F 8 4 0  o
- 14
R 16 4 0 ke
G 20 4 0 ~
P2
: 0 4 5 Du
: 4 4 5 et
E
"""


def _seeds(*paths: Path, inline: bytes) -> list[bytes]:
    return [inline] + [p.read_bytes() for p in paths if p.is_file()]


IMPORTERS = {
    "kproj": (".kproj", _seeds(EXAMPLES / "kproj/song.kproj", EXAMPLES / "kproj-ref/song.kproj", inline=KPROJ_SEED)),
    "ass": (".ass", _seeds(EXAMPLES / "ass/song.ass", SHARED_KT, inline=ASS_SEED)),
    "lrc": (".lrc", _seeds(EXAMPLES / "lrc/song.lrc", inline=LRC_SEED)),
    "ultrastar": (".txt", _seeds(EXAMPLES / "ultrastar/song.txt", inline=ULTRASTAR_SEED)),
}

# tokens that each format gives meaning to, so mutations reach past the first parse error
TOKENS = [b"-1", b"99999999999999999999", b"1e308", b"nan", b":", b"::", b"[", b"]", b"{", b"}", b"*", b"&a ",
          b"*a", b"<<: ", b"!!python/object:os.system ", b"\\k", b"{\\kt-5}", b"{\\k}", b"\\N", b"<00:00.00>",
          b"[99:99.99]", b"[offset:-99999]", b"#BPM:0\n", b"#GAP:-5\n", b"#VERSION:2.0.0\n", b"#RELATIVE:yes\n",
          b"#ENCODING:CP1250\n", b"P3\n", b"- 0 -5\n", b": -5 -5 -5 x\n", b"\xff\xfe", b"\xef\xbb\xbf", b"\x00",
          b"\r", b"\t", b"../../etc/passwd", b"/etc/passwd", b"version: 1\n", b"lyrics: song.lrc\n",
          b"Dialogue: 0,9:99:99.99,0:00:00.00,Nope,,0,0,0,,x\n", b"[Events]\n", b"[V4+ Styles]\n", b"\xe2\x80\x8b"]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "dup_line", "insert", "token", "delete", "swap_lines"]))
        pos = draw(st.integers(0, max(0, len(data))))
        if op == "flip" and data:
            i = min(pos, len(data) - 1)
            data[i] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "token":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 32))]
        elif op in ("dup_line", "swap_lines"):
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":
                lines[i:i] = [lines[i]] * draw(st.integers(1, 30))
            else:
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _load_module(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"hotfolder.project.{name}")


def _companions(folder: Path) -> None:
    for name in ("song.lrc", "lyrics.lrc"):  # what the kproj seeds name as lyrics
        (folder / name).write_bytes(LRC_SEED)
    (folder / "song.ogg").write_bytes(b"OggS")


def _check(module, suffix: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # a referenced lyrics file and media next to the project, so those paths run too
        _companions(folder)
        path = folder / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            result = module.load(path, LIMITS)
        except ProjectError as exc:
            assert exc.file is not None and exc.message
            return
    assert isinstance(result, Project)
    for line in result.lines:
        assert isinstance(line.start, int) and isinstance(line.end, int)
        for syl in line.syllables:
            assert isinstance(syl.start, int) and isinstance(syl.end, int) and isinstance(syl.text, str)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(IMPORTERS))
def test_seeds_load(name):
    module = _load_module(name)
    suffix, seeds = IMPORTERS[name]
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            _companions(Path(tmp))
            path = Path(tmp) / f"seed{suffix}"
            path.write_bytes(seed)
            assert module.load(path, LIMITS).lines, name  # the seeds are valid: mutations start from sense


@pytest.mark.parametrize("name", sorted(IMPORTERS))
def test_random_bytes(name):
    module = _load_module(name)
    suffix, _ = IMPORTERS[name]

    @FUZZ
    @given(data=st.binary(max_size=4096))
    def inner(data: bytes) -> None:
        _check(module, suffix, data)

    inner()


@pytest.mark.parametrize("name", sorted(IMPORTERS))
def test_mutated_valid_files(name):
    module = _load_module(name)
    suffix, seeds = IMPORTERS[name]

    @settings(FUZZ, max_examples=200)
    @given(data=mutated(seeds))
    def inner(data: bytes) -> None:
        _check(module, suffix, data)

    inner()


def test_random_text_kproj():
    """YAML-shaped text reaches the kproj reader's semantics, not just the YAML parser."""
    module = _load_module("kproj")
    keys = st.sampled_from(["version", "title", "media", "styles", "display", "render", "lines", "lyrics",
                            "text", "times", "start", "end", "syllables", "Default", "size", "audio", "<<"])
    scalars = st.one_of(st.sampled_from(["1", "-1", "1:02.5", "'#ffffff'", "yes", "~", "song.ogg", "a|b", "250ms"]),
                        st.text(max_size=6))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                          max_leaves=20)

    def render(v: object) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(render(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {render(x)}" for k, x in v.items()) + "}"
        return str(v)

    @FUZZ
    @given(doc=st.dictionaries(keys, values, max_size=6))
    def inner(doc: dict) -> None:
        text = "version: 1\n" + "".join(f"{k}: {render(v)}\n" for k, v in doc.items() if k != "version")
        _check(module, ".kproj", text.encode("utf-8", "surrogatepass"))

    inner()
