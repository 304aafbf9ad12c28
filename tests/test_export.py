"""The export pipeline end to end on real GL (llvmpipe), real PyAV encodes read back."""
from __future__ import annotations

import logging
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hotfolder import cli
from hotfolder.errors import ExportAborted, ProjectError, RenderError
from hotfolder.export import WARNINGS_FROM, effective_settings, export, partial_path, plan_frames
from hotfolder.progress import ExportProgress
from hotfolder.project.limits import DAY_MS, Limits
from hotfolder.project.model import Project
from hotfolder.settings import RenderSettings

W, H, FPS = 320, 180, 30
RED, GREEN = (255, 0, 0), (0, 255, 0)

# One line, 0.0-2.8 s, centred. The \k syllable is two full-block glyphs: an empty \k80
# first, so the blocks are SecondaryColour (red) until 0.8 s and PrimaryColour (green) after.
ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: 320
PlayResY: 180
ScaledBorderAndShadow: yes
{audio}
[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: K,DejaVu Sans,80,&H0000FF00,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,0,0,5,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.00,0:00:02.80,K,,0,0,0,,{{\\k80}}{{\\k100}}\u2588\u2588
"""


def write_tone(path: Path, seconds: float, rate: int = 44100) -> None:
    n = int(seconds * rate)
    x = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / rate) * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        s = out.add_stream("pcm_s16le", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.repeat(x[:, None], 2, axis=1).reshape(1, -1)),
                                           format="s16", layout="stereo")
        frame.sample_rate = rate
        frame.pts, frame.time_base = 0, Fraction(1, rate)
        out.mux(s.encode(frame))
        out.mux(s.encode(None))


@pytest.fixture
def song(tmp_path: Path, fonts_dir: Path) -> Path:
    write_tone(tmp_path / "song.wav", 3.0)
    path = tmp_path / "song.ass"
    path.write_text(ASS.format(audio="Audio File: song.wav\n"), encoding="utf-8")
    return path


def settings(fonts_dir: Path, **kw) -> RenderSettings:
    return RenderSettings(width=W, height=H, fps=FPS, encoder="libx264", preset="ultrafast", crf=18,
                          fonts_dir=fonts_dir, **kw)


def pixel_at(path: Path, index: int, x: int, y: int) -> tuple[int, int, int]:
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return tuple(int(v) for v in f.to_ndarray(format="rgb24")[y, x])
    raise AssertionError(f"no frame {index}")


def near(got: tuple[int, int, int], want: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(got, want))


def test_end_to_end_clip_with_audio_and_highlight(song: Path, fonts_dir: Path, tmp_path: Path):
    out = tmp_path / "out" / "song.mp4"
    out.parent.mkdir()
    seen: list[ExportProgress] = []
    result = export(song, out, settings(fonts_dir), on_progress=seen.append, poster=tmp_path / "out" / "song.jpg")
    assert result.output == out and out.is_file()
    assert not partial_path(out).exists()
    assert result.frames == 90 and result.duration == pytest.approx(3.0)
    assert result.encoder == "libx264" and result.renderer
    with av.open(str(out)) as c:
        vs, aus = c.streams.video[0], c.streams.audio
        assert (vs.codec_context.width, vs.codec_context.height) == (W, H)
        assert aus and aus[0].codec_context.name == "aac"
        assert c.duration / av.time_base == pytest.approx(3.0, abs=0.1)
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == 90
    # the \k syllable at the centre pixel: red (secondary) before 0.8 s, green (primary) after
    assert near(pixel_at(out, 12, W // 2, H // 2), RED)     # 0.4 s
    assert near(pixel_at(out, 23, W // 2, H // 2), RED)     # 0.766 s
    assert near(pixel_at(out, 25, W // 2, H // 2), GREEN)   # 0.833 s
    assert near(pixel_at(out, 60, W // 2, H // 2), GREEN)   # 2.0 s
    assert near(pixel_at(out, 87, W // 2, H // 2), (0, 0, 0))  # 2.9 s: the line is gone
    # progress: renderer named, frames counted up to the total, ends "done"
    assert seen[0].status == "starting" and seen[-1].status == "done"
    assert seen[-1].current_frame == seen[-1].total_frames == 90
    assert all(p.renderer for p in seen if p.status == "rendering")
    assert [p.current_frame for p in seen] == sorted(p.current_frame for p in seen)
    # throttled: about four reports a second while rendering, plus one per status change
    rendering = [p for p in seen if p.status == "rendering"]
    assert len(rendering) <= result.elapsed / 0.25 + 2
    # the poster is a JPEG inside the first sung line (after the switch: green)
    with av.open(str(result.poster)) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert img.shape == (H, W, 3) and near(tuple(int(v) for v in img[H // 2, W // 2]), GREEN)
    assert result.warnings == []   # nothing fell back (no GPU here is no warning: the renderer says it)


def test_plan_frames_matches_the_export(song: Path, fonts_dir: Path, tmp_path: Path):
    s = settings(fonts_dir)
    assert plan_frames(song, s) == 90  # audio: 3.0 s
    # without audio: last line end (2.8 s) + tail
    silent = tmp_path / "silent.ass"
    silent.write_text(ASS.format(audio=""), encoding="utf-8")
    s2 = settings(fonts_dir, tail_ms=500)
    assert plan_frames(silent, s2) == 99  # 3.3 s at 30 fps
    result = export(silent, tmp_path / "silent.mp4", s2)
    assert result.frames == 99
    with av.open(str(result.output)) as c:
        assert not c.streams.audio


def test_abort_removes_the_partial(song: Path, fonts_dir: Path, tmp_path: Path):
    class AbortAt:
        calls = 0

        def checkpoint(self) -> None:
            self.calls += 1
            if self.calls == 40:
                raise ExportAborted("stop")

    out = tmp_path / "aborted.mp4"
    seen: list[ExportProgress] = []
    control = AbortAt()
    with pytest.raises(ExportAborted):
        export(song, out, settings(fonts_dir), control=control, on_progress=seen.append)
    assert control.calls == 40
    assert not out.exists() and not partial_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fonts", "song.ass", "song.wav"]


def test_pause_reports_paused_and_stops_the_clock(song: Path, fonts_dir: Path, tmp_path: Path):
    class HoldOnce:
        calls = 0
        held = 0.0

        def checkpoint(self) -> None:
            self.calls += 1
            if self.calls == 30:
                t0 = time.monotonic()
                time.sleep(0.8)
                self.held = time.monotonic() - t0

    seen: list[tuple[str, float, str]] = []
    control = HoldOnce()
    t0 = time.monotonic()
    result = export(song, tmp_path / "p.mp4", settings(fonts_dir), control=control,
                    on_progress=lambda p: seen.append((p.status, p.elapsed, threading.current_thread().name)))
    wall = time.monotonic() - t0
    assert control.calls == 90
    statuses = [s for s, _, _ in seen]
    i = statuses.index("paused")
    j = statuses.index("rendering", i)  # resumed (a slow machine may repeat "paused" first)
    assert set(statuses[i:j]) == {"paused"}
    assert seen[j][1] == pytest.approx(seen[i][1], abs=0.1)  # elapsed did not run while held
    assert result.elapsed < wall - control.held + 0.05


def test_bad_input_and_existing_output(song: Path, fonts_dir: Path, tmp_path: Path):
    bad = tmp_path / "bad.ass"
    bad.write_text("[Events]\nDialogue: 0,0:00:05.00,0:00:01.00,Default,,0,0,0,,x\n", encoding="utf-8")
    with pytest.raises(ProjectError):
        export(bad, tmp_path / "bad.mp4", settings(fonts_dir))
    with pytest.raises(ProjectError, match="audio"):
        export(song, tmp_path / "x.mp4", settings(fonts_dir, audio=tmp_path / "missing.wav"))
    exists = tmp_path / "exists.mp4"
    exists.write_bytes(b"keep me")
    with pytest.raises(RenderError, match="already exists"):
        export(song, exists, settings(fonts_dir))
    assert exists.read_bytes() == b"keep me"
    with pytest.raises(RenderError, match="WebM"):
        export(song, tmp_path / "x.webm", settings(fonts_dir))
    with pytest.raises(RenderError, match="bitrate"):  # fails once the renderer is up
        export(song, tmp_path / "x.mp4", settings(fonts_dir, bitrate="fast"), poster=tmp_path / "x.jpg")
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "x.jpg").exists()
    assert not list(tmp_path.glob("*.mp4.partial*")) and not list(tmp_path.glob(".*partial*"))


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_cli_render_with_audio_override(song: Path, fonts_dir: Path, tmp_path: Path, capsys, restore_logging):
    other = tmp_path / "other.wav"
    write_tone(other, 2.0)
    out = tmp_path / "cli.webm"
    rc = cli.main(["render", str(song), "-o", str(out), "--size", f"{W}x{H}", "--fps", "25", "--crf", "40",
                   "--preset", "ultrafast", "--audio", str(other), "--fonts-dir", str(fonts_dir),
                   "--progress", "log"])
    assert rc == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"  # auto for WebM
        assert c.streams.audio[0].codec_context.name == "opus"
        assert sum(1 for _ in c.decode(video=0)) == 50  # the override's 2.0 s at 25 fps
    err = capsys.readouterr().err  # not a terminal: plain log lines, no bar
    assert "rendering: frame" in err and "wrote" in err and "\x1b[" not in err
    # an error is exit status 1 and leaves nothing behind
    rc = cli.main(["render", str(tmp_path / "nope.ass"), "-o", str(tmp_path / "nope.mp4")])
    assert rc == 1 and not (tmp_path / "nope.mp4").exists()


def test_effective_settings_fill_only_defaults(tmp_path: Path):
    p = Project("kproj", tmp_path / "a.kproj", render={
        "size": "1280x720", "fps": 25, "crf": 23, "background": str(tmp_path / "bg.png"),
        "audio": tmp_path / "song.ogg", "gpu": 3, "bogus": 1})
    eff = effective_settings(p, RenderSettings(crf=28))
    assert (eff.width, eff.height, eff.fps) == (1280, 720, 25)
    assert eff.crf == 28  # set by the caller: the caller wins
    assert eff.background == str(tmp_path / "bg.png") and eff.audio == tmp_path / "song.ogg"
    assert eff.gpu is None  # the operator's choice, never the project's
    assert effective_settings(Project("ass", tmp_path / "a.ass"), RenderSettings(fps=50)) == RenderSettings(fps=50)
    for bad in ({"fps": "fast"}, {"size": "big"}, {"crf": 99}, {"width": 1.5}, {"preset": 3},
                {"size_from_project": "yes"}):
        with pytest.raises(ProjectError, match="render"):
            effective_settings(Project("kproj", tmp_path / "a.kproj", render=bad), RenderSettings())


def test_kproj_render_section_applies(tmp_path: Path, fonts_dir: Path):
    """A native project's own render settings reach the export (size and fps here); the
    caller's explicit value wins; project_render=False ignores them."""
    kproj = tmp_path / "song.kproj"
    kproj.write_text("version: 1\ntitle: T\nrender:\n  width: 256\n  height: 144\n  fps: 10\n"
                     "display:\n  title_card: false\n"
                     "lines:\n  - text: \"Hel|lo\"\n    times: [0.2, 0.6, 1.0]\n", encoding="utf-8")
    base = RenderSettings(preset="ultrafast", fonts_dir=fonts_dir, tail_ms=0)
    try:
        frames = plan_frames(kproj, base)
    except ProjectError as exc:  # the kproj schema is the importer's; say so if it moved
        pytest.fail(f"kproj fixture no longer valid: {exc}")
    assert frames == 10  # 1.0 s at the project's 10 fps
    assert plan_frames(kproj, base.updated({"fps": 20})) == 20
    assert plan_frames(kproj, base, project_render=False) == 30
    result = export(kproj, tmp_path / "k.mp4", base)
    with av.open(str(result.output)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.width, cc.height) == (256, 144)
    assert result.frames == 10


def test_doctor_reports_what_works(capsys, restore_logging):
    import json

    from hotfolder.encode import encoder_works

    rc = cli.main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["ok"]
    assert report["gl"]["ok"] and report["gl"]["renderer"]
    assert report["encoders"]["libx264"] is True
    assert report["encoders"]["h264_nvenc"] == encoder_works("h264_nvenc")
    assert report["defaults"]["encoder"] == ("h264_nvenc" if encoder_works("h264_nvenc") else "libx264")
    assert Path(report["fonts"]["default_font"]).is_file()


def test_render_command_knows_the_encoders_and_containers():
    from hotfolder.commands.render import ENCODER_NAMES, OUTPUT_SUFFIXES
    from hotfolder.encode import CONTAINERS, ENCODERS

    assert set(ENCODER_NAMES) == set(ENCODERS)
    assert set(OUTPUT_SUFFIXES) == set(CONTAINERS)


def test_eta_reported_while_rendering(song: Path, fonts_dir: Path, tmp_path: Path):
    """A throttled render (20 ms a frame, under the pause threshold) gets a smoothed rate and
    an ETA that agree with each other and with the real pace."""
    class Slow:
        def checkpoint(self) -> None:
            time.sleep(0.02)

    seen: list[ExportProgress] = []
    export(song, tmp_path / "slow.mp4", settings(fonts_dir), control=Slow(), on_progress=seen.append)
    timed = [p for p in seen if p.status == "rendering" and p.estimated_remaining is not None]
    assert timed, [(p.status, p.current_frame, p.fps) for p in seen]
    assert "paused" not in {p.status for p in seen}
    for p in timed:
        assert 10 < p.fps < 55  # at most 50 fps with a 20 ms wait per frame
        assert p.estimated_remaining == pytest.approx((p.total_frames - p.current_frame) / p.fps, rel=0.02)
        assert p.eta is not None and p.eta.tzinfo is not None


def test_what_the_render_fell_back_on_comes_with_the_result(song: Path, fonts_dir: Path, tmp_path: Path):
    """A font family that is not there, a broken line: the video is made, and the result says
    what it fell back on, one line each, with paths as the project names them."""
    text = song.read_text(encoding="utf-8").replace("Style: K,DejaVu Sans,", "Style: K,No Such Family 7,")
    song.write_text(text + "Dialogue: 0,0:00:01.00\n", encoding="utf-8")
    result = export(song, tmp_path / "fallback.mp4", settings(fonts_dir))
    assert result.output.is_file()
    assert any("font family 'No Such Family 7' not found: using" in w for w in result.warnings), result.warnings
    assert any(w.startswith("song.ass:") and "skipped" in w for w in result.warnings), result.warnings
    assert not any(str(tmp_path) in w for w in result.warnings), result.warnings
    assert len(result.warnings) == len(set(result.warnings)) == 2
    # the collector is gone with the export: a later warning is nobody's
    logging.getLogger("hotfolder.render.fonts").warning("after the export")
    assert len(result.warnings) == 2
    assert not any(hasattr(h, "said") for name in WARNINGS_FROM for h in logging.getLogger(name).handlers)


# -- limits on work and the background ----------------------------------------------------------

def test_a_video_longer_than_the_limit_is_refused_before_rendering(tmp_path: Path, fonts_dir: Path):
    day = tmp_path / "day.kproj"  # the last line ends at 23:59:58; plus the 2 s tail: 24 hours
    day.write_text("version: 1\nlines:\n  - {text: x, start: '23:59:57', end: '23:59:58'}\n", encoding="utf-8")
    s = settings(fonts_dir, tail_ms=2000)
    message = "the video would be 24:00:00 long, more than the limit of 4:00:00 (max_video_seconds)"
    with pytest.raises(ProjectError) as err:
        plan_frames(day, s)
    assert str(err.value) == f"{day}: {message}"
    with pytest.raises(ProjectError, match="more than the limit of 4:00:00"):
        export(day, tmp_path / "day.mp4", s)
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*partial*"))
    # the operator's limit (config max_video_seconds, in the settings) and the Limits both bind
    with pytest.raises(ProjectError, match="limit of 4:00:00"):
        plan_frames(day, s.updated({"max_video_seconds": 90_000}))
    with pytest.raises(ProjectError, match="limit of 4:00:00"):
        plan_frames(day, s.updated({"max_video_seconds": None}))
    with pytest.raises(ProjectError, match="limit of 5:00:00"):
        plan_frames(day, s.updated({"max_video_seconds": 18_000}), Limits(max_video_ms=DAY_MS))
    assert plan_frames(day, s.updated({"max_video_seconds": 90_000}), Limits(max_video_ms=DAY_MS)) == 24 * 3600 * FPS


def test_the_operators_length_limit_applies_to_audio_too(song: Path, fonts_dir: Path, tmp_path: Path):
    with pytest.raises(ProjectError, match=r"the video would be 0:00:03 long, more than the limit of 0:00:02"):
        export(song, tmp_path / "x.mp4", settings(fonts_dir, max_video_seconds=2))
    assert plan_frames(song, settings(fonts_dir, max_video_seconds=3)) == 90


def test_a_project_cannot_raise_the_limits_for_itself(tmp_path: Path):
    kproj = tmp_path / "song.kproj"
    kproj.write_text("version: 1\nrender: {max_video_seconds: 1000000}\nlines:\n  - {text: x, start: 1, end: 2}\n")
    with pytest.raises(ProjectError, match="render: unknown key 'max_video_seconds'"):
        plan_frames(kproj, RenderSettings())
    kproj.write_text("version: 1\nrender: {tail_ms: 86400000}\nlines:\n  - {text: x, start: 1, end: 2}\n")
    with pytest.raises(ProjectError, match="render.tail_ms: 8.64e\\+07 is above the maximum of 600000"):
        plan_frames(kproj, RenderSettings())
    hand_built = Project("kproj", kproj, render={"max_video_seconds": 10**9})
    assert effective_settings(hand_built, RenderSettings()).max_video_seconds == RenderSettings().max_video_seconds


def test_a_kproj_background_dim_is_a_number(tmp_path: Path):
    kproj = tmp_path / "song.kproj"
    kproj.write_text("version: 1\nrender: {background_dim: 0.25}\nlines:\n  - {text: x, start: 1, end: 2}\n")
    from hotfolder.project import load_project

    assert effective_settings(load_project(kproj), RenderSettings()).background_dim == 0.25


@pytest.mark.parametrize("line, what", [("Video File: background.mp4", "background video 'background.mp4'")])
def test_a_missing_background_fails_the_export(song: Path, fonts_dir: Path, tmp_path: Path, line: str, what: str):
    text = ASS.format(audio=f"Audio File: song.wav\n{line}\n")
    song.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectError) as err:
        export(song, tmp_path / "x.mp4", settings(fonts_dir))
    assert str(err.value) == f"{song}: {what} is missing (looked for {tmp_path.resolve() / 'background.mp4'})"
    assert not (tmp_path / "x.mp4").exists()


def test_a_background_that_cannot_be_decoded_fails_before_the_renderer_starts(tmp_path: Path, fonts_dir: Path,
                                                                               monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "bg.png").write_bytes(b"\x89PNG\r\n\x1a\n but nothing after it")
    kproj = tmp_path / "song.kproj"
    kproj.write_text("version: 1\nmedia: {background: bg.png}\ndisplay: {title_card: false}\n"
                     "lines:\n  - {text: x, start: 0, end: 0.5}\n", encoding="utf-8")
    s = settings(fonts_dir, tail_ms=0)
    from hotfolder.render import frames

    with monkeypatch.context() as m:  # no GL start-up (seconds, or a GPU) for a job that cannot succeed
        m.setattr(frames, "FrameRenderer", lambda *a, **k: pytest.fail("the renderer was started"))
        with pytest.raises(RenderError, match="background image .*bg.png: cannot decode it"):
            export(kproj, tmp_path / "x.mp4", s)
    assert not (tmp_path / "x.mp4").exists()
    # a colour background needs no file: the same project renders with one
    result = export(kproj, tmp_path / "c.mp4", s.updated({"background": "#203040"}))
    assert result.frames == 15
