"""`hotfolder inspect` and `hotfolder validate` on the examples and on broken input."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotfolder.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
EXAMPLE_FILES = ["kproj/song.kproj", "kproj-ref/song.kproj", "ass/song.ass", "lrc/song.lrc",
                 "ultrastar/song.txt", "bundle/twinkle/twinkle.kproj", "sidecar/song.kproj"]


def _make_media_module():
    spec = importlib.util.spec_from_file_location("make_media", EXAMPLES / "make_media.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


MAKE_MEDIA = _make_media_module()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _is_seconds(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and round(x * 1000) / 1000 == x and x >= 0


def check_schema(obj: dict) -> None:
    """The stable interface of issue 2 (plus the optional video/video_gap keys)."""
    assert set(obj) == {"format", "title", "artist", "audio", "background", "video", "video_gap", "duration", "lines"}
    assert obj["format"] in ("kproj", "ass", "lrc", "ultrastar")
    assert isinstance(obj["title"], str) and isinstance(obj["artist"], str)
    for key in ("audio", "background", "video"):
        assert obj[key] is None or isinstance(obj[key], str)
    assert _is_seconds(obj["duration"])
    starts = []
    for line in obj["lines"]:
        assert set(line) == {"start", "end", "text", "singer", "style", "syllables"}
        assert _is_seconds(line["start"]) and _is_seconds(line["end"]) and line["start"] <= line["end"]
        assert line["singer"] is None or isinstance(line["singer"], str)
        assert isinstance(line["style"], str)
        assert line["text"] == "".join(s["text"] for s in line["syllables"])
        for syl in line["syllables"]:
            assert set(syl) == {"text", "start", "end", "kind"}
            assert _is_seconds(syl["start"]) and _is_seconds(syl["end"]) and syl["start"] <= syl["end"]
            assert syl["kind"] in ("fill", "instant", "outline", "none")
        starts.append((line["start"], line["end"]))
    assert starts == sorted(starts)
    assert obj["duration"] == max((e for _, e in starts), default=0)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_inspect_json_of_each_example(capsys, name):
    code, out, err = run_cli(capsys, "inspect", "--json", str(EXAMPLES / name))
    assert code == 0, err
    obj = json.loads(out)
    check_schema(obj)
    assert obj["title"].startswith("Twinkle, Twinkle")
    assert obj["audio"] and Path(obj["audio"]).is_file()
    # every example is timed to the synthesized melody: the sung syllables are its notes
    sung = [(round(s["start"] * 1000), round(s["end"] * 1000))
            for ln in obj["lines"] for s in ln["syllables"] if s["text"].strip() and s["kind"] != "none"]
    assert sung == MAKE_MEDIA.sung_notes()


def test_example_formats_and_details(capsys):
    seen = {}
    for name in EXAMPLE_FILES:
        code, out, _ = run_cli(capsys, "inspect", "--json", str(EXAMPLES / name))
        seen[name] = json.loads(out)
    assert seen["ass/song.ass"]["format"] == "ass"
    assert seen["ass/song.ass"]["video"].endswith("background.mp4")
    kinds = {s["kind"] for ln in seen["ass/song.ass"]["lines"] for s in ln["syllables"] if s["text"].strip()}
    assert {"fill", "instant", "outline"} <= kinds
    assert seen["lrc/song.lrc"]["format"] == "lrc"
    assert {ln["singer"] for ln in seen["ultrastar/song.txt"]["lines"]} >= {"P1", "P2"}
    assert seen["kproj/song.kproj"]["background"].endswith("background.png")
    ref = seen["kproj-ref/song.kproj"]
    assert ref["format"] == "kproj" and ref["title"].endswith("(lyrics by reference)") and ref["artist"] == "Traditional"
    assert seen["bundle/twinkle/twinkle.kproj"]["background"].endswith("media/background.mp4")


def test_inspect_summary(capsys):
    code, out, _ = run_cli(capsys, "inspect", str(EXAMPLES / "kproj/song.kproj"))
    assert code == 0
    assert "title:      Twinkle, Twinkle, Little Star" in out
    assert "format:     kproj" in out
    assert "lines:      3, syllables: 21" in out
    assert "duration:   00:13.300" in out
    assert "[00:01.400 → 00:04.200] Twinkle, twinkle, little star" in out
    assert "[00:10.500 → 00:13.300] Up above the world so high" in out
    code, out, _ = run_cli(capsys, "inspect", str(EXAMPLES / "ass/song.ass"))
    assert "[00:00.000 → 00:01.400] Twinkle, Twinkle, Little Star / Traditional\n" in out


def test_inspect_bad_input_is_one_line_on_stderr(capsys, tmp_path):
    bad = tmp_path / "bad.kproj"
    bad.write_text("version: 1\nlines:\n  - {text: x, start: 5, end: 4}\n")
    code, out, err = run_cli(capsys, "inspect", str(bad))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"{bad}:3: ")
    code, out, err = run_cli(capsys, "inspect", "--json", str(tmp_path / "nothing.kproj"))
    assert code == 1 and out == "" and "no such file" in err


def test_inspect_several_files_json_is_a_list(capsys):
    files = [str(EXAMPLES / n) for n in ("kproj/song.kproj", "lrc/song.lrc")]
    code, out, _ = run_cli(capsys, "inspect", "--json", *files)
    assert code == 0
    assert [o["format"] for o in json.loads(out)] == ["kproj", "lrc"]


def test_makefile_demo_command_works():
    """The exact glob `make demo` runs, through the installed console script."""
    exe = Path(sys.executable).parent / "hotfolder"
    cmd = f"{exe} inspect examples/*/*.kproj examples/*/*.ass examples/*/*.lrc examples/*/*.txt"
    proc = subprocess.run(["bash", "-c", cmd], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Twinkle, twinkle, little star") >= 6


# -- validate -------------------------------------------------------------------------------------

def copy_example(tmp_path: Path, folder: str) -> Path:
    dest = tmp_path / folder.replace("/", "_")
    shutil.copytree(EXAMPLES / folder, dest)
    return dest


def test_validate_examples_ok(capsys):
    files = [str(EXAMPLES / n) for n in EXAMPLE_FILES]
    code, out, err = run_cli(capsys, "validate", *files)
    assert code == 0, err
    assert out.splitlines() == [f"OK {f}" for f in files]


def test_validate_missing_audio(capsys, tmp_path):
    d = copy_example(tmp_path, "kproj")
    (d / "song.ogg").unlink()
    code, out, err = run_cli(capsys, "validate", str(d / "song.kproj"))
    assert code == 1 and out == ""
    line = (d / "song.kproj").read_text().splitlines().index("  audio: song.ogg") + 1
    assert err.strip() == f"{d / 'song.kproj'}:{line}: audio 'song.ogg': does not exist (looked for {d.resolve() / 'song.ogg'})"


def test_validate_unplayable_media(capsys, tmp_path):
    d = copy_example(tmp_path, "ultrastar")
    (d / "song.ogg").write_bytes(b"this is not audio at all" * 10)
    shutil.copy(d / "background.png", d / "background.mp4")  # a picture where a video is expected: fine
    (d / "background.png").write_bytes(b"\x89PNG broken")
    code, _, err = run_cli(capsys, "validate", str(d / "song.txt"))
    assert code == 1
    problems = err.strip().splitlines()
    assert len(problems) == 2, err
    assert problems[0].startswith(f"{d / 'song.txt'}:7: audio 'song.ogg': cannot be opened as audio")
    assert problems[1].startswith(f"{d / 'song.txt'}:8: background image 'background.png': ")


def test_validate_image_as_audio_and_missing_fonts(capsys, tmp_path):
    d = copy_example(tmp_path, "kproj")
    shutil.copy(d / "background.png", d / "song.ogg")
    text = (d / "song.kproj").read_text().replace("  background: background.png\n",
                                                  "  background: background.png\n  fonts: fonts\n")
    (d / "song.kproj").write_text(text)
    code, _, err = run_cli(capsys, "validate", str(d / "song.kproj"))
    assert code == 1
    assert "audio 'song.ogg': has no audio stream" in err
    assert "fonts folder 'fonts': no such folder" in err


def test_validate_mixed_files(capsys, tmp_path):
    bad = tmp_path / "bad.kproj"
    bad.write_text("version: 1\ntitel: oops\n")
    good = EXAMPLES / "lrc/song.lrc"
    code, out, err = run_cli(capsys, "validate", str(good), str(bad))
    assert code == 1
    assert out.strip() == f"OK {good}"
    assert err.strip() == f"{bad}:2: project: unknown key 'titel' (known keys: version, title, artist, media, " \
                          "styles, display, render, play_res, lines, lyrics)"


def test_make_media_is_idempotent(tmp_path, monkeypatch):
    """make_media skips what exists and rebuilds into an empty tree; the media it makes open and fit."""
    import av

    monkeypatch.setattr(MAKE_MEDIA, "HERE", tmp_path)
    monkeypatch.setattr(MAKE_MEDIA, "AUDIO_TARGETS", ["a/song.ogg"])
    monkeypatch.setattr(MAKE_MEDIA, "IMAGE_TARGETS", ["a/bg.png", "b/bg.png"])
    monkeypatch.setattr(MAKE_MEDIA, "VIDEO_TARGETS", ["a/clip.mp4"])
    assert MAKE_MEDIA.main([]) == 0
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert len(stamps) == 4
    assert MAKE_MEDIA.main([]) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    with av.open(str(tmp_path / "a/song.ogg")) as c:
        assert c.streams.audio and 14 < c.duration / 1e6 < 15
    with av.open(str(tmp_path / "a/clip.mp4")) as c:
        assert c.streams.video[0].frames in (0, 75) and c.streams.video[0].codec_context.width == 320
    assert (tmp_path / "a/bg.png").read_bytes() == (tmp_path / "b/bg.png").read_bytes()
    assert sum(stamps_size := [p.stat().st_size for p in stamps]) < 300_000, stamps_size
