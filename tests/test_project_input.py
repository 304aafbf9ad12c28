"""What a project may name (path lengths, symbolic links) and what it must hold (timed lines),
for every format, through the one loader that the daemon, `validate` and `inspect` share."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotfolder.errors import ProjectError
from hotfolder.project import load_project
from hotfolder.project.limits import resolve_media

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
LONG = "a/" * 2500 + "x.mp3"          # 5,002 characters: ENAMETOOLONG anywhere it reaches the OS
LONG_NAME = "n" * 300 + ".mp3"        # one name over NAME_MAX

ASS = """[Script Info]
ScriptType: v4.00+
{info}
[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,40,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
{events}"""
DIALOGUE = "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\k50}Hel{\\k50}lo\n"
ULTRASTAR = "#TITLE:T\n#ARTIST:A\n{headers}#BPM:300\n#GAP:1000\n{notes}E\n"
NOTES = ": 0 4 5 Hel\n: 4 4 5 lo\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load_err(path: Path) -> ProjectError:
    with pytest.raises(ProjectError) as err:
        load_project(path)
    return err.value


# -- path length --------------------------------------------------------------------------------

@pytest.mark.parametrize("ref", [LONG, LONG_NAME, "ok/" + LONG_NAME])
def test_resolve_media_refuses_a_path_too_long_before_the_os_sees_it(tmp_path, ref):
    project = write(tmp_path, "song.kproj", "x")
    with pytest.raises(ProjectError) as err:
        resolve_media(project, ref, "audio", 7)
    assert err.value.line == 7 and "path is too long" in err.value.message
    assert len(str(err.value)) < 200 + len(str(project))


@pytest.mark.parametrize("name, text, line", [
    ("song.kproj", f'version: 1\nmedia: {{audio: "{LONG}"}}\nlines:\n  - {{text: x, start: 1, end: 2}}\n', 2),
    ("song.ass", ASS.format(info=f"Audio File: {LONG}\n", events=DIALOGUE), 3),
    ("song.ass", ASS.format(info=f"Video File: C:\\media\\{LONG_NAME}\n", events=DIALOGUE), 3),
    ("song.txt", ULTRASTAR.format(headers=f"#MP3:{LONG}\n", notes=NOTES), 3),
    ("song.txt", ULTRASTAR.format(headers=f"#VIDEO:{LONG}\n", notes=NOTES), 3),
    ("song.txt", ULTRASTAR.format(headers=f"#BACKGROUND:{LONG_NAME}\n", notes=NOTES), 3),
])
def test_every_format_refuses_a_media_path_too_long(tmp_path, name, text, line):
    err = load_err(write(tmp_path, name, text))
    assert err.line == line and "path is too long" in err.message, str(err)


def test_lrc_beside_audio_lookup_survives_a_name_near_name_max(tmp_path):
    path = write(tmp_path, "s" * 251 + ".lrc", "[00:01.00]<00:01.00>Hel<00:01.50>lo<00:02.00>\n")
    assert load_project(path).media.audio is None  # "sss….flac" is one byte too long: not an OSError


# -- symbolic links -----------------------------------------------------------------------------

def test_a_symlink_inside_the_folder_is_refused(tmp_path):
    (tmp_path / "real.ogg").write_bytes(b"OggS")
    (tmp_path / "song.ogg").symlink_to("real.ogg")
    project = write(tmp_path, "song.kproj", "x")
    with pytest.raises(ProjectError) as err:
        resolve_media(project, "song.ogg", "audio", 4)
    assert str(err.value) == f"{project}:4: audio: 'song.ogg' is a symbolic link; copy the file itself"
    assert resolve_media(project, "real.ogg", "audio") == tmp_path.resolve() / "real.ogg"


def test_a_symlinked_folder_on_the_way_is_refused(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "song.ogg").write_bytes(b"OggS")
    (tmp_path / "linked").symlink_to("media")
    project = write(tmp_path, "song.kproj", "x")
    with pytest.raises(ProjectError, match="'linked' is a symbolic link"):
        resolve_media(project, "linked/song.ogg", "audio")
    # a dangling link is refused just the same (it is what a link becomes in work/)
    (tmp_path / "gone.ogg").symlink_to("nowhere.ogg")
    with pytest.raises(ProjectError, match="'gone.ogg' is a symbolic link"):
        resolve_media(project, "gone.ogg", "audio")


@pytest.mark.parametrize("name, text", [
    ("song.kproj", "version: 1\nmedia: {audio: song.ogg}\nlines:\n  - {text: x, start: 1, end: 2}\n"),
    ("song.ass", ASS.format(info="Audio File: song.ogg\n", events=DIALOGUE)),
    ("song.txt", ULTRASTAR.format(headers="#MP3:song.ogg\n", notes=NOTES)),
    ("song.lrc", "[00:01.00]<00:01.00>Hel<00:01.50>lo<00:02.00>\n"),
])
def test_every_format_refuses_symlinked_media_and_validate_agrees(tmp_path, capsys, name, text):
    from hotfolder.cli import main

    (tmp_path / "real.ogg").write_bytes(b"OggS")
    (tmp_path / "song.ogg").symlink_to("real.ogg")
    path = write(tmp_path, name, text)
    assert "is a symbolic link; copy the file itself" in load_err(path).message
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a symbolic link" in err


# -- nothing to render ------------------------------------------------------------------------

@pytest.mark.parametrize("name, text", [
    ("empty.lrc", ""),
    ("plain.lrc", "just some words\nwithout any time stamps\n"),
    ("tags.lrc", "[ti:Title]\n[ar:Artist]\n"),
    ("blank.lrc", "[00:01.00]\n[00:02.00]   \n"),
    ("song.ass", ASS.format(info="", events="")),
    ("comments.ass", ASS.format(info="", events="Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,x\n")),
    ("song.kproj", "version: 1\ntitle: Nothing\n"),
    ("lines.kproj", "version: 1\nlines: []\n"),
    ("song.txt", ULTRASTAR.format(headers="", notes="")),
])
def test_a_project_without_timed_lines_fails(tmp_path, name, text):
    err = load_err(write(tmp_path, name, text))
    assert err.message == "no lyric lines with times: nothing to render" and err.line is None, str(err)


def test_a_kproj_whose_lyrics_file_is_empty_fails(tmp_path):
    write(tmp_path, "words.lrc", "")
    err = load_err(write(tmp_path, "song.kproj", "version: 1\nlyrics: words.lrc\n"))
    assert err.file == str(tmp_path.resolve() / "words.lrc") and "nothing to render" in err.message


# -- the commands -------------------------------------------------------------------------------

def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    exe = Path(sys.executable).parent / "hotfolder"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", ["validate", "inspect"])
def test_commands_print_one_line_for_a_path_too_long(tmp_path, command):
    write(tmp_path, "long.kproj", f'version: 1\nmedia: {{audio: "{LONG}"}}\nlines:\n  - {{text: x, start: 1, end: 2}}\n')
    proc = run_cli(command, "long.kproj", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.count(b"\n") == 1 and proc.stderr.startswith(b"long.kproj:2: media.audio: path is too long"), proc.stderr
    name = "n" * 300 + ".kproj"  # the project's own name too long: no traceback either
    proc = run_cli(command, name, cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1 and b"Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", ["validate", "inspect"])
def test_commands_on_a_name_that_is_not_utf8(tmp_path, command):
    folder = os.fsencode(tmp_path)
    shutil.copytree(EXAMPLES / "lrc", tmp_path / "lrc")
    os.rename(tmp_path / "lrc" / "song.lrc", os.path.join(folder, b"lrc", b"ok\xff.lrc"))
    os.rename(tmp_path / "lrc" / "song.ogg", os.path.join(folder, b"lrc", b"ok\xff.ogg"))
    with open(os.path.join(folder, b"bad\xff.ass"), "w") as fh:
        fh.write("not a project at all\n")
    strict = {"PYTHONIOENCODING": "utf-8:strict"}  # as under a UTF-8 locale: surrogates cannot be printed
    proc = run_cli(command, os.fsdecode(b"bad\xff.ass"), cwd=tmp_path, env=strict)
    assert proc.returncode == 1 and proc.stdout == b"" and b"Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count(b"\n") == 1 and proc.stderr.startswith(b"bad\\udcff.ass: "), proc.stderr
    proc = run_cli(command, os.fsdecode(b"lrc/ok\xff.lrc"), cwd=tmp_path, env=strict)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    assert b"ok\\udcff.lrc" in proc.stdout


def test_too_many_lines_at_once_are_refused_before_rendering(tmp_path: Path):
    from hotfolder.project import load_project
    from hotfolder.project.limits import most_simultaneous

    assert most_simultaneous([(0, 10), (5, 15), (10, 20)]) == (2, 5)   # an end and a start at 10 do not overlap
    assert most_simultaneous([(0, 0), (3, 3)]) == (0, 0)
    lines = "\n".join(f"Dialogue: 0,0:00:00.00,0:00:05.00,Default,,0,0,0,,{{\\k50}}la{i}" for i in range(2001))
    path = tmp_path / "crowd.ass"
    path.write_text("[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
                    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n" + lines + "\n")
    with pytest.raises(ProjectError, match="2001 lines are shown at once at 0.00 s, more than the limit of 2000"):
        load_project(path)
