"""Enhanced LRC importer: dialects, time stamps, offset, media by stem, errors.

Expected times are derived by hand in the comments (ms = (min*60 + s)*1000 + fraction).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hotfolder.errors import ProjectError
from hotfolder.project import load_project, lrc
from hotfolder.project.limits import Limits
from hotfolder.project.model import Display


def write(tmp_path: Path, text: str, name: str = "song.lrc", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def sylls(line):
    return [(s.text, s.start, s.end) for s in line.syllables]


def test_a2_dialect_with_and_without_closing_stamp(tmp_path):
    p = write(tmp_path, (
        "[ar:The Artist]\n"
        "[ti:The Title]\n"
        "[al:Album]\n"
        "[by:someone]\n"
        "[re:Editor][ve:1.0]\n"
        "[00:12.00] <00:12.00> Hello <00:12.50> world <00:13.20>\n"
        "[00:14.00] <00:14.00> Next <00:14.40> line\n"
        "[00:14.90] <00:14.90> Last <00:15.30> one\n"
    ))
    project = load_project(p)
    assert project.format == "lrc"
    assert project.title == "The Title" and project.artist == "The Artist"
    assert project.display == Display()
    l1, l2, l3 = project.lines
    # 00:12.00 = 12000; 00:12.50 = 12500; closing stamp 00:13.20 = 13200.
    assert sylls(l1) == [("Hello ", 12000, 12500), ("world", 12500, 13200)]
    assert (l1.start, l1.end, l1.text) == (12000, 13200, "Hello world")
    # No closing stamp: "line" (14400) ends at the next line's start 14900, which comes
    # before the +1 s cap (15400).
    assert sylls(l2) == [("Next ", 14000, 14400), ("line", 14400, 14900)]
    # Last line of the file, no closing stamp: 15300 + 1000 = 16300.
    assert sylls(l3) == [("Last ", 14900, 15300), ("one", 15300, 16300)]
    assert all(s.kind == "fill" for ln in project.lines for s in ln.syllables)
    assert [ln.source_line for ln in project.lines] == [6, 7, 8]


def test_a2_first_word_without_stamp_starts_at_line_stamp(tmp_path):
    # Some exporters omit the first word's stamp: "I" starts at the line stamp 5000.
    p = write(tmp_path, "[00:05.00]I <00:05.40>see <00:05.90>you<00:06.50>\n")
    (line,) = lrc.load(p, Limits()).lines
    assert sylls(line) == [("I ", 5000, 5400), ("see ", 5400, 5900), ("you", 5900, 6500)]


def test_inline_square_bracket_dialect_syllables_and_spaces(tmp_path):
    # 01:02.10 = 62100, 01:02.35 = 62350, 01:02.80 = 62800, closing 01:03.55 = 63550.
    p = write(tmp_path, "[01:02.10]Hel[01:02.35]lo [01:02.80]world[01:03.55]\n")
    (line,) = lrc.load(p, Limits()).lines
    assert sylls(line) == [("Hel", 62100, 62350), ("lo ", 62350, 62800), ("world", 62800, 63550)]
    assert line.text == "Hello world"


def test_plain_lines_span_to_next_stamp_capped_and_sorted(tmp_path):
    p = write(tmp_path, (
        "[00:30.00]third, then a long instrumental\n"
        "[00:10.00]first line\n"
        "[00:13.50]second line\n"
        "[00:17.00]\n"              # a bare stamp ends "second line" without a line of its own
        "no stamp: ignored\n"
        "[01:00.00]after the solo\n"
    ))
    lines = lrc.load(p, Limits()).lines
    assert [ln.text for ln in lines] == ["first line", "second line", "third, then a long instrumental", "after the solo"]
    # first: 10000 -> next stamp 13500; second: 13500 -> bare stamp 17000;
    # third: 30000 -> next 60000, capped at 30000 + 10000 = 40000; last: 60000 + 10000.
    assert [(ln.start, ln.end) for ln in lines] == [(10000, 13500), (13500, 17000), (30000, 40000), (60000, 70000)]
    assert all(len(ln.syllables) == 1 for ln in lines)
    assert lines[0].syllables[0].kind == "fill"


def test_repeated_line_stamps(tmp_path):
    # One chorus line sung at 00:12.00 and 01:15.00; the next stamps end each copy.
    p = write(tmp_path, "[00:12.00][01:15.00]la la la\n[00:15.00]verse\n[01:18.25]outro\n")
    lines = lrc.load(p, Limits()).lines
    assert [(ln.text, ln.start, ln.end) for ln in lines] == [
        ("la la la", 12000, 15000), ("verse", 15000, 25000), ("la la la", 75000, 78250), ("outro", 78250, 88250)]


def test_repeated_line_with_word_stamps_is_shifted(tmp_path):
    # Word stamps are written for the first stamp (10.00); the copy at 20.00 is shifted by 10 s.
    p = write(tmp_path, "[00:10.00][00:20.00]<00:10.00>Oh <00:10.50>yeah<00:11.00>\n")
    a, b = lrc.load(p, Limits()).lines
    assert sylls(a) == [("Oh ", 10000, 10500), ("yeah", 10500, 11000)]
    assert sylls(b) == [("Oh ", 20000, 20500), ("yeah", 20500, 21000)]


@pytest.mark.parametrize("stamp, ms", [
    ("00:01.5", 1500),      # one digit: tenths
    ("00:01.50", 1500),     # two digits: hundredths
    ("00:01.505", 1505),    # three digits: milliseconds
    ("00:01:50", 1500),     # [mm:ss:xx]: hundredths after a colon
    ("02:03", 123000),      # no fraction
    ("75:00.00", 4500000),  # minutes above 59
    ("1:40:00.50", 6000500),  # h:mm:ss.xx = (60 + 40) * 60 s + 0.5 s
])
def test_time_stamp_forms(tmp_path, stamp, ms):
    p = write(tmp_path, f"[{stamp}]x\n")
    (line,) = lrc.load(p, Limits()).lines
    assert line.start == ms


def test_offset_positive_means_earlier_and_negative_later(tmp_path):
    # LRC convention: positive offset shows lyrics earlier: 10000 - 250 = 9750.
    p = write(tmp_path, "[offset:+250]\n[00:10.00]<00:10.00>a <00:10.40>b<00:10.80>\n[00:00.10]intro\n")
    lines = lrc.load(p, Limits()).lines
    # "intro" at 100 - 250 < 0 is clamped to 0; it ends at the next stamp 9750.
    assert (lines[0].text, lines[0].start, lines[0].end) == ("intro", 0, 9750)
    assert sylls(lines[1]) == [("a ", 9750, 10150), ("b", 10150, 10550)]
    p = write(tmp_path, "[offset:-1000]\n[00:10.00]late\n")
    (line,) = lrc.load(p, Limits()).lines
    assert (line.start, line.end) == (11000, 21000)


def test_one_syllable_per_line_kar_style(tmp_path):
    # Converted from MIDI karaoke: "/" starts a lyric line, "\\" a paragraph; syllables carry
    # their own spaces. Each syllable ends where the next entry starts; a line's last one
    # at most 1 s after its start.
    p = write(tmp_path, (
        "[ti:Kar]\n"
        "[00:01.00]/Hel\n"
        "[00:01.40]lo\n"
        "[00:01.80] dear\n"
        "[00:02.30] friend\n"
        "[00:05.00]\\Se\n"
        "[00:05.30]cond\n"
        "[00:05.60] line\n"
    ))
    a, b = lrc.load(p, Limits()).lines
    # "friend" 2300 -> next entry 5000, capped at 3300.
    assert sylls(a) == [("Hel", 1000, 1400), ("lo ", 1400, 1800), ("dear ", 1800, 2300), ("friend", 2300, 3300)]
    assert a.text == "Hello dear friend"
    # last syllable of the file: 5600 + 1000.
    assert sylls(b) == [("Se", 5000, 5300), ("cond ", 5300, 5600), ("line", 5600, 6600)]


def test_one_word_per_line_without_spaces_gets_spaces(tmp_path):
    p = write(tmp_path, "[00:01.00]/Take\n[00:01.50]me\n[00:01.90]home\n[00:02.60]/Country\n[00:03.10]roads\n")
    a, b = lrc.load(p, Limits()).lines
    assert sylls(a) == [("Take ", 1000, 1500), ("me ", 1500, 1900), ("home", 1900, 2600)]
    assert b.text == "Country roads"


def test_media_by_stem(tmp_path):
    p = write(tmp_path, "[00:01.00]x\n")
    assert lrc.load(p, Limits()).media.audio is None
    (tmp_path / "song.ogg").write_bytes(b"OggS")
    assert lrc.load(p, Limits()).media.audio == (tmp_path / "song.ogg").resolve()
    (tmp_path / "song.mp3").write_bytes(b"ID3")
    assert lrc.load(p, Limits()).media.audio == (tmp_path / "song.mp3").resolve()  # mp3 comes first
    (tmp_path / "other.flac").write_bytes(b"fLaC")
    assert load_project(p).media.audio.name == "song.mp3"


def test_media_symlink_leading_outside_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "real.mp3").write_bytes(b"ID3")
    folder = tmp_path / "job"
    folder.mkdir()
    os.symlink(outside / "real.mp3", folder / "song.mp3")
    p = write(folder, "[00:01.00]x\n")
    with pytest.raises(ProjectError, match="outside"):
        lrc.load(p, Limits())


@pytest.mark.parametrize("text, line, message", [
    ("[00:01.00]ok\n[00:6x.00]bad\n", 2, "malformed time stamp"),
    ("[00:01.00]ok\n\n[00:61.00]bad\n", 3, "seconds must be below 60"),
    ("[1441:00.00]too late\n", 1, "beyond 24 hours"),
    ("[00:01.00]<00:01.00>a <00:01.50>b\n[00:02.00]<00:02.00>c <00:01.90>d\n", 2, "go backwards"),
    ("[00:01.00]Hel[00:02.00]lo[00:01.50]\n", 1, "go backwards"),
    ("[00:01.00]a <00:0x:00>b\n", 1, "malformed time stamp"),
    ("[offset:soon]\n[00:01.00]a\n", 1, "malformed offset"),
])
def test_errors_name_file_and_line(tmp_path, text, line, message):
    p = write(tmp_path, text)
    with pytest.raises(ProjectError, match=message) as info:
        lrc.load(p, Limits())
    assert info.value.line == line
    assert info.value.file == str(p)


def test_brackets_that_are_not_stamps_stay_text(tmp_path):
    p = write(tmp_path, "[00:01.00][Chorus] sing it [2x] <3\n")
    (line,) = lrc.load(p, Limits()).lines
    assert line.text == "[Chorus] sing it [2x] <3"


def test_limits(tmp_path):
    p = write(tmp_path, "".join(f"[00:{i:02d}.00]line {i}\n" for i in range(5)))
    with pytest.raises(ProjectError, match="lines"):
        lrc.load(p, Limits(max_lines=3))
    p = write(tmp_path, "[00:01.00]" + "".join(f"<00:01.{i:02d}>w " for i in range(10)) + "\n")
    with pytest.raises(ProjectError, match="syllables") as info:
        lrc.load(p, Limits(max_syllables_per_line=5))
    assert info.value.line == 1


def test_encodings_bom_and_cp1252(tmp_path):
    p = tmp_path / "a.lrc"
    p.write_bytes("[ti:Grüße]\n[00:01.00]Straße\n".encode("cp1252"))
    project = lrc.load(p, Limits())
    assert project.title == "Grüße" and project.lines[0].text == "Straße"
    p.write_bytes("[00:01.00]歌词\n".encode("utf-16"))
    assert lrc.load(p, Limits()).lines[0].text == "歌词"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_raise_only_project_error(tmp_path, data):
    p = tmp_path / "fuzz.lrc"
    p.write_bytes(data)
    try:
        lrc.load(p, Limits())
    except ProjectError:
        pass


VALID = "[ti:T]\n[00:01.00]<00:01.00>a <00:01.50>b<00:02.00>\n[00:03.00]Hel[00:03.20]lo[00:03.40]\n[00:05.00]/x\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(VALID)), junk=st.text(alphabet="[]<>:.0123456789/\\ab \n-+", max_size=12))
def test_mutated_valid_file_raises_only_project_error(tmp_path, cut, junk):
    p = write(tmp_path, VALID[:cut] + junk + VALID[cut:], name="mut.lrc")
    try:
        project = lrc.load(p, Limits())
    except ProjectError:
        return
    for line in project.lines:
        assert 0 <= line.start <= line.end
        for s in line.syllables:
            assert s.start <= s.end


def test_plain_file_with_a_slash_line_stays_plain(tmp_path):
    p = write(tmp_path, "[00:01.00]first whole line\n[00:03.00]/ spoken: and now\n[00:05.00]third whole line\n")
    lines = lrc.load(p, Limits()).lines
    assert [ln.text for ln in lines] == ["first whole line", "/ spoken: and now", "third whole line"]


def test_huge_numbers_are_project_errors(tmp_path):
    p = write(tmp_path, "[offset:" + "9" * 5000 + "]\n[00:01.00]a\n")
    with pytest.raises(ProjectError, match="offset"):
        lrc.load(p, Limits())


def test_lines_sharing_a_stamp_both_last_until_the_next_stamp(tmp_path):
    # A translation under the lyric at the same stamp: both run from 15300 to the next later
    # stamp 62300, capped at 15300 + 10000 = 25300 (not to 15300, the next entry).
    p = write(tmp_path, "[00:15.30]hello\n[00:15.30]你好\n[01:02.30]world\n")
    lines = lrc.load(p, Limits()).lines
    assert [(ln.text, ln.start, ln.end) for ln in lines[:2]] == [("hello", 15300, 25300), ("你好", 15300, 25300)]


def test_real_world_shapes(tmp_path):
    p = write(tmp_path, (
        # The Wikipedia A2 example: the line stamp comes before the first word.
        "[00:00.00] <00:00.04> When <00:00.16> the <00:00.82> truth \n"
        "[00:06.47] <00:07.67> And <00:07.94> all\n"
        # A line-level lyric with a closing stamp: one syllable up to it.
        "[00:10.00]Hello World[00:12.50]\n"
        # Per-character CJK from streaming sources: no spaces, no boundaries.
        "[00:17.12]走[00:17.30]廊[00:17.47]灯\n"
    ))
    a, b, c, d = lrc.load(p, Limits()).lines
    # "truth" has no closing stamp: next stamp 6470 is after its +1 s cap 820 + 1000 = 1820.
    assert (a.start, a.end) == (0, 1820)
    assert sylls(a) == [("When ", 40, 160), ("the ", 160, 820), ("truth", 820, 1820)]
    assert (b.start, b.syllables[0].start) == (6470, 7670)
    assert sylls(c) == [("Hello World", 10000, 12500)]
    assert d.text == "走廊灯" and sylls(d)[-1] == ("灯", 17470, 18470)
