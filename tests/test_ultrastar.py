"""UltraStar TXT importer: beat timing by version, relative mode, duets, '~', encodings,
detection by content, media, errors. Expected times are derived by hand in the comments.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hotfolder.errors import ProjectError
from hotfolder.project import detect_format, load_project, ultrastar
from hotfolder.project.limits import Limits
from hotfolder.project.model import Display


def write(tmp_path: Path, text: str, name: str = "song.txt", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def sylls(line):
    return [(s.text, s.start, s.end) for s in line.syllables]


HEADER = "#TITLE:Song\n#ARTIST:Band\n#MP3:song.mp3\n"


def test_quarter_beats_before_version_2(tmp_path):
    # BPM 300 counts quarter beats: one beat = 60000 / (4*300) = 50 ms; GAP 1000 ms.
    p = write(tmp_path, HEADER + (
        "#BPM:300\n#GAP:1000\n"
        ": 0 4 0 Hel\n"        # 1000 .. 1000 + 4*50 = 1200
        ": 4 4 2 lo\n"         # 1200 .. 1400
        "* 10 6 4  world\n"    # 1500 .. 1800 (golden: still a wipe)
        "- 18\n"
        "R 20 2 0 Rap \n"      # 2000 .. 2100
        "G 22 2 0 gold\n"      # 2100 .. 2200
        "F 24 8 0  free\n"     # 2200 .. 2600, freestyle: lit at once
        "E\n"
        ": 99 1 0 after the end marker\n"
    ))
    project = load_project(p)
    assert project.format == "ultrastar"
    assert (project.title, project.artist) == ("Song", "Band")
    assert project.display == Display()
    assert project.media.audio == (tmp_path / "song.mp3").resolve()
    a, b = project.lines
    assert sylls(a) == [("Hel", 1000, 1200), ("lo", 1200, 1400), (" world", 1500, 1800)]
    assert a.text == "Hello world" and a.singer is None and a.source_line == 6
    assert sylls(b) == [("Rap ", 2000, 2100), ("gold", 2100, 2200), (" free", 2200, 2600)]
    assert [s.kind for s in a.syllables + b.syllables] == ["fill"] * 5 + ["instant"]
    assert (b.start, b.end) == (2000, 2600)


def test_fractional_bpm_is_exact_and_rounded_once(tmp_path):
    # BPM "217,5" (comma decimal): beat = 60000 / 870 ms = 68.96551... ms; GAP 500.
    # beat 100: 500 + 6000000/870 = 7396.55 -> 7397 (rounding each beat first would give 7400);
    # beat 103: 500 + 6180000/870 = 7603.45 -> 7603.
    p = write(tmp_path, HEADER + "#BPM:217,5\n#GAP:500\n: 100 3 0 la\nE\n")
    (line,) = ultrastar.load(p, Limits()).lines
    assert sylls(line) == [("la", 7397, 7603)]


def test_version_2_beats_are_not_quadrupled_and_videogap_is_ms(tmp_path):
    # From 2.0.0 a beat is 60000 / BPM: BPM 300 -> 200 ms; GAP 1000.
    p = write(tmp_path, "#VERSION:2.0.0\n#TITLE:S\n#ARTIST:A\n#AUDIO:a.ogg\n#BPM:300\n#GAP:1000\n"
                        "#VIDEO:v.mp4\n#VIDEOGAP:-250\n: 0 2 0 one\n: 3 1 0  two\nE\n")
    project = ultrastar.load(p, Limits())
    (line,) = project.lines
    assert sylls(line) == [("one", 1000, 1400), (" two", 1600, 1800)]
    assert project.media.video == (tmp_path / "v.mp4").resolve()
    assert project.media.video_gap == -250
    # The same file as 1.0.0: quarter beats (50 ms) and #VIDEOGAP in seconds.
    p = write(tmp_path, "#VERSION:1.0.0\n#TITLE:S\n#ARTIST:A\n#BPM:300\n#GAP:1000\n#VIDEOGAP:1,5\n"
                        ": 0 2 0 one\n: 3 1 0  two\nE\n")
    project = ultrastar.load(p, Limits())
    assert sylls(project.lines[0]) == [("one", 1000, 1100), (" two", 1150, 1200)]
    assert project.media.video_gap == 1500


def test_relative_mode(tmp_path):
    # 50 ms beats, GAP 0. Phrase 1 at base 0; "- 10 20" ends it and moves the base to 20;
    # "- 6 10" then moves it to 30.
    p = write(tmp_path, HEADER + "#BPM:300\n#RELATIVE:yes\n"
                        ": 0 4 0 A\n: 4 4 0 B\n- 10 20\n"
                        ": 0 4 0 C\n- 6 10\n"
                        ": 2 2 0 D\nE\n")
    a, b, c = ultrastar.load(p, Limits()).lines
    assert sylls(a) == [("A", 0, 200), ("B", 200, 400)]
    assert sylls(b) == [("C", 1000, 1200)]       # beat 20 + 0
    assert sylls(c) == [("D", 1600, 1700)]       # beat 30 + 2


def test_relative_mode_errors(tmp_path):
    p = write(tmp_path, HEADER + "#BPM:300\n#RELATIVE:YES\n: 0 4 0 A\n- 10\n: 0 1 0 B\nE\n")
    with pytest.raises(ProjectError, match="two numbers") as info:
        ultrastar.load(p, Limits())
    assert info.value.line == 7
    p = write(tmp_path, "#VERSION:1.0.0\n" + HEADER + "#BPM:300\n#RELATIVE:YES\n: 0 4 0 A\nE\n")
    with pytest.raises(ProjectError, match="removed") as info:
        ultrastar.load(p, Limits())
    assert info.value.line == 6


def test_duets_p1_p2_and_p3_both(tmp_path):
    # 50 ms beats, GAP 0.
    p = write(tmp_path, HEADER + "#BPM:300\n#P1:Anna\n#P2:Ben\n"
                        "P1\n: 0 4 0 I\n: 4 4 0  sing\n- 10\n"
                        "P2\n: 12 4 0 You\n: 16 4 0  too\n- 22\n"
                        "P3\n: 30 4 0 Both\n: 34 2 0  now\n"
                        "E\n")
    lines = ultrastar.load(p, Limits()).lines
    assert [(ln.singer, ln.text, ln.start, ln.end) for ln in lines] == [
        ("P1", "I sing", 0, 400),
        ("P2", "You too", 600, 1000),
        ("P1", "Both now", 1500, 1800),
        ("P2", "Both now", 1500, 1800),
    ]


def test_notes_before_first_voice_change_are_p1(tmp_path):
    p = write(tmp_path, HEADER + "#BPM:300\n: 0 2 0 a\n- 4\nP2\n: 4 2 0 b\nE\n")
    a, b = ultrastar.load(p, Limits()).lines
    assert (a.singer, b.singer) == ("P1", "P2")


def test_tilde_continues_the_previous_syllable(tmp_path):
    # 50 ms beats. "lo" 200..400 is held on through "~" (400..600) and "~ " (700..800),
    # whose trailing space becomes the word boundary; "~" never shows as text.
    p = write(tmp_path, HEADER + "#BPM:300\n"
                        ": 0 4 0 Lo\n: 4 4 2 ~\n: 8 4 4 ~\n: 14 2 4 ~ \n: 16 4 0 you\n- 22\n"
                        ": 30 2 0 ~\nE\n")
    a, b = ultrastar.load(p, Limits()).lines
    assert sylls(a) == [("Lo ", 0, 800), ("you", 800, 1000)]
    assert a.text == "Lo you"
    # A "~" with nothing to continue keeps its timing with empty text.
    assert sylls(b) == [("", 1500, 1600)]


def test_spaces_are_word_boundaries(tmp_path):
    p = write(tmp_path, HEADER + "#BPM:300\n: 0 1 0  Leading\n: 1 1 0 trail \n: 2 1 0 ing\n: 3 1 0 end \nE\n")
    (line,) = ultrastar.load(p, Limits()).lines
    # Inner spaces are kept as written; spaces at the line's edges are dropped.
    assert [s.text for s in line.syllables] == ["Leading", "trail ", "ing", "end"]
    assert line.text == "Leadingtrail ingend"


def test_media_headers(tmp_path):
    p = write(tmp_path, "#TITLE:S\n#ARTIST:A\n#MP3:old.mp3\n#AUDIO:new.ogg\n#BPM:300\n"
                        "#COVER:cover.jpg\n#BACKGROUND:bg.jpg\n#VIDEO:sub/clip.mp4\n: 0 1 0 a\nE\n")
    media = ultrastar.load(p, Limits()).media
    assert media.audio == (tmp_path / "new.ogg").resolve()  # #AUDIO wins over #MP3
    assert media.background == (tmp_path / "bg.jpg").resolve()
    assert media.video == (tmp_path / "sub" / "clip.mp4").resolve()
    assert media.video_gap == 0


@pytest.mark.parametrize("ref", ["../escape.mp3", "/etc/passwd", "C:\\music\\x.mp3"])
def test_media_escapes_are_refused(tmp_path, ref):
    p = write(tmp_path, f"#TITLE:S\n#ARTIST:A\n#BPM:300\n#MP3:{ref}\n: 0 1 0 a\nE\n")
    with pytest.raises(ProjectError) as info:
        ultrastar.load(p, Limits())
    assert info.value.line == 4


def test_encoding_utf16_with_bom(tmp_path):
    p = write(tmp_path, HEADER + "#BPM:300\n: 0 1 0 Grü\n: 1 1 0 ße 歌\nE\n", encoding="utf-16")
    assert p.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    project = load_project(p)
    assert project.lines[0].text == "Grüße 歌"


def test_encoding_utf8_bom_and_cp1252_fallback(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf" + (HEADER + "#BPM:300\n: 0 1 0 Mädchen\nE\n").encode("utf-8"))
    assert ultrastar.load(p, Limits()).lines[0].text == "Mädchen"
    # No BOM, not UTF-8, no #ENCODING: cp1252.
    p = write(tmp_path, "#TITLE:Über\n#ARTIST:Bär\n#BPM:300\n: 0 1 0 schön\nE\n", encoding="cp1252")
    project = ultrastar.load(p, Limits())
    assert (project.title, project.artist, project.lines[0].text) == ("Über", "Bär", "schön")


def test_encoding_header_cp1250(tmp_path):
    # "Łódź się" in cp1250 holds bytes that cp1252 would read as other letters (0xB3 -> ³).
    text = "#TITLE:Łódź\n#ARTIST:Zespół\n#ENCODING:CP1250\n#BPM:300\n: 0 1 0 się\nE\n"
    p = write(tmp_path, text, encoding="cp1250")
    assert "Łódź".encode("cp1250").decode("cp1252", errors="replace") != "Łódź"
    project = ultrastar.load(p, Limits())
    assert (project.title, project.artist, project.lines[0].text) == ("Łódź", "Zespół", "się")


def test_encoding_header_utf8_and_stale_cp1252_header(tmp_path):
    p = write(tmp_path, "#ENCODING:UTF8\n#TITLE:Ça va\n#ARTIST:A\n#BPM:300\n: 0 1 0 été\nE\n")
    assert ultrastar.load(p, Limits()).title == "Ça va"
    # A file converted to UTF-8 that still says CP1252: the valid UTF-8 wins.
    p = write(tmp_path, "#ENCODING:CP1252\n#TITLE:Ça va\n#ARTIST:A\n#BPM:300\n: 0 1 0 été\nE\n")
    assert ultrastar.load(p, Limits()).lines[0].text == "été"
    # From format 1.0.0 on #ENCODING is ignored: files are UTF-8.
    p = write(tmp_path, "#VERSION:1.0.0\n#ENCODING:CP1250\n#TITLE:Łódź\n#ARTIST:A\n#BPM:300\n: 0 1 0 x\nE\n")
    assert ultrastar.load(p, Limits()).title == "Łódź"


def test_detection_by_content(tmp_path):
    song = HEADER + "#BPM:300\n: 0 1 0 a\nE\n"
    txt = write(tmp_path, song, name="My Song.txt")
    other = write(tmp_path, song, name="karaoke-song.usdx")
    noext = write(tmp_path, "\n\n#BPM:300\n: 0 1 0 a\n", name="noext")
    utf16 = write(tmp_path, song, name="wide.dat", encoding="utf-16")
    assert ultrastar.looks_like_ultrastar(txt)
    assert ultrastar.looks_like_ultrastar(other)
    assert ultrastar.looks_like_ultrastar(noext)  # one known header plus a note line
    assert ultrastar.looks_like_ultrastar(utf16)
    assert detect_format(other) == "ultrastar"
    assert load_project(other).lines[0].text == "a"

    prose = write(tmp_path, "Shopping list\n#1: milk\n: 0 1 0 a\n", name="notes.txt")
    hashtags = write(tmp_path, "#TITLE:x\nsome prose\n", name="tags.txt")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 20)
    assert not ultrastar.looks_like_ultrastar(prose)
    assert not ultrastar.looks_like_ultrastar(hashtags)
    assert not ultrastar.looks_like_ultrastar(binary)
    assert not ultrastar.looks_like_ultrastar(tmp_path / "missing.txt")  # never raises
    assert not ultrastar.looks_like_ultrastar(tmp_path)                  # a folder: never raises
    with pytest.raises(ProjectError, match="not a project file"):
        detect_format(prose)


def test_detection_reads_only_the_start(tmp_path):
    # A valid header followed by megabytes: detection looks at the first few KB only.
    p = tmp_path / "big.txt"
    p.write_bytes((HEADER + "#BPM:300\n").encode() + b": 0 1 0 a\n" * 300_000)
    assert ultrastar.looks_like_ultrastar(p)
    garbage = tmp_path / "late.txt"
    garbage.write_bytes(b"x" * 10_000 + (HEADER + "#BPM:300\n").encode())
    assert not ultrastar.looks_like_ultrastar(garbage)


@pytest.mark.parametrize("body, line, message", [
    (": 0 x 0 a\n", 5, "bad note line"),
    (": 0 1\n", 5, "bad note line"),
    ("X 0 1 0 a\n", 5, "unknown note type"),
    (": 0 1 0 a\n#GAP:100\n", 6, "header line after the notes"),
    (": 0 1 0 a\nP0\n", 6, "bad voice change"),
    (": 0 1 0 a\n- x\n", 6, "bad phrase end"),
    ("B 0 200\n", 5, "variable BPM"),
])
def test_body_errors_name_the_line(tmp_path, body, line, message):
    p = write(tmp_path, HEADER + "#BPM:300\n" + body + "E\n")
    with pytest.raises(ProjectError, match=message) as info:
        ultrastar.load(p, Limits())
    assert info.value.line == line and info.value.file == str(p)


@pytest.mark.parametrize("headers, line, message", [
    ("", None, "#BPM is missing"),
    ("#BPM:0\n", 4, "above zero"),
    ("#BPM:fast\n", 4, "not a number"),
    ("#BPM:300\n#GAP:soon\n", 5, "not a number"),
    ("#VERSION:two\n#BPM:300\n", 4, "not a version"),
    ("#VERSION:3.0.0\n#BPM:300\n", 4, "below 3.0.0"),
])
def test_header_errors(tmp_path, headers, line, message):
    p = write(tmp_path, HEADER + headers + ": 0 1 0 a\nE\n")
    with pytest.raises(ProjectError, match=message) as info:
        ultrastar.load(p, Limits())
    assert info.value.line == line


def test_negative_and_too_late_times(tmp_path):
    # GAP -1000 with 50 ms beats: beat 10 is at -500 ms.
    p = write(tmp_path, HEADER + "#BPM:300\n#GAP:-1000\n: 40 2 0 ok\n: 10 2 0 early\nE\n")
    with pytest.raises(ProjectError, match="negative") as info:
        ultrastar.load(p, Limits())
    assert info.value.line == 7
    # 24 h = 86400000 ms = 1728000 beats of 50 ms; one beat more is too late.
    p = write(tmp_path, HEADER + "#BPM:300\n: 1728001 1 0 late\nE\n")
    with pytest.raises(ProjectError, match="24 hours") as info:
        ultrastar.load(p, Limits())
    assert info.value.line == 5


def test_limits(tmp_path):
    body = "".join(f": {i * 4} 2 0 w{i}\n- {i * 4 + 3}\n" for i in range(5))
    p = write(tmp_path, HEADER + "#BPM:300\n" + body + "E\n")
    with pytest.raises(ProjectError, match="lines"):
        ultrastar.load(p, Limits(max_lines=3))
    body = "".join(f": {i} 1 0 s\n" for i in range(8))
    p = write(tmp_path, HEADER + "#BPM:300\n" + body + "E\n")
    with pytest.raises(ProjectError, match="syllables") as info:
        ultrastar.load(p, Limits(max_syllables_per_line=5))
    assert info.value.line == 10
    with pytest.raises(ProjectError, match="bytes"):
        ultrastar.load(p, Limits(max_file_bytes=20))


def test_nul_bytes_are_refused(tmp_path):
    p = tmp_path / "nul.txt"
    p.write_bytes((HEADER + "#BPM:300\n: 0 1 0 a\x00b\nE\n").encode())
    with pytest.raises(ProjectError, match="NUL"):
        ultrastar.load(p, Limits())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_raise_only_project_error(tmp_path, data):
    p = tmp_path / "fuzz.txt"
    p.write_bytes(data)
    ultrastar.looks_like_ultrastar(p)  # must not raise either
    try:
        ultrastar.load(p, Limits())
    except ProjectError:
        pass


VALID = (HEADER + "#BPM:217,5\n#GAP:120\n#RELATIVE:no\nP1\n: 0 4 0 Hel\n: 4 4 0 lo\n: 8 2 0 ~\n- 12\n"
         "P2\nF 14 2 0  you\nP3\n* 20 2 0 all\nE\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(VALID)), junk=st.text(alphabet="#:*FRGPE-~ 0123456789,.\nx", max_size=12))
def test_mutated_valid_file_raises_only_project_error(tmp_path, cut, junk):
    p = write(tmp_path, VALID[:cut] + junk + VALID[cut:], name="mut.txt")
    try:
        project = ultrastar.load(p, Limits())
    except ProjectError:
        return
    for line in project.lines:
        assert 0 <= line.start <= line.end
        assert all(s.start <= s.end for s in line.syllables)


def test_huge_numbers_are_project_errors(tmp_path):
    p = write(tmp_path, HEADER + "#BPM:300\n: " + "9" * 5000 + " 1 0 a\nE\n")
    with pytest.raises(ProjectError, match="bad note line"):
        ultrastar.load(p, Limits())
    p = write(tmp_path, HEADER + "#BPM:" + "9" * 5000 + "\n: 0 1 0 a\nE\n")
    with pytest.raises(ProjectError, match="not a number"):
        ultrastar.load(p, Limits())


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised(tmp_path, encoding):
    p = write(tmp_path, HEADER + "#BPM:300\n: 0 1 0 Grüße\nE\n", name="wide.txt", encoding=encoding)
    assert p.read_bytes()[:2] not in (b"\xff\xfe", b"\xfe\xff")
    assert ultrastar.looks_like_ultrastar(p)
    assert load_project(p).lines[0].text == "Grüße"
