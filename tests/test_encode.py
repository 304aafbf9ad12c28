"""The PyAV encoder, read back: codecs, pixel format, colour tags, faststart, audio, sync, verify."""
from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hotfolder.encode import (
    VideoEncoder,
    VideoSpec,
    encoder_works,
    plan_audio,
    probe_audio_ms,
    resolve_encoder,
    verify_output,
)
from hotfolder.errors import ProjectError, RenderError

W, H, FPS = 320, 180, 30


def write_audio(path: Path, seconds: float, rate: int = 44100, codec: str = "pcm_s16le",
                click_at: float | None = None, channels: int = 2) -> None:
    """A quiet 440 Hz tone; with `click_at`, silence with one loud burst starting there."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    if click_at is None:
        x = np.sin(2 * np.pi * 440 * t) * 0.2
    else:
        x = np.zeros(n)
        i = int(round(click_at * rate))
        x[i:i + rate // 50] = 0.9 * np.sin(2 * np.pi * 1000 * t[: len(x[i:i + rate // 50])])
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=rate, layout=layout)
        fmt = s.codec_context.codec.audio_formats[0].name
        frame_size = s.codec_context.frame_size or 1024
        pcm = (x * 32767).astype(np.int16)
        for start in range(0, n, frame_size):
            chunk = pcm[start:start + frame_size]
            inter = np.repeat(chunk[:, None], channels, axis=1).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(inter), format="s16", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            if fmt != "s16":
                res = av.AudioResampler(format=fmt, layout=layout, rate=rate, frame_size=frame_size)
                for f in res.resample(frame):
                    out.mux(s.encode(f))
            else:
                out.mux(s.encode(frame))
        out.mux(s.encode(None))


def luma_frames(n: int) -> list[np.ndarray]:
    """Frame i: flat Y = 20 + 2 i (so order and content can be read back), neutral chroma."""
    frames = []
    for i in range(n):
        a = np.full((H * 3 // 2, W), 128, np.uint8)
        a[:H] = 20 + 2 * i
        frames.append(a)
    return frames


def encode(path: Path, n: int, encoder: str = "libx264", audio: Path | None = None, **kw) -> None:
    spec = VideoSpec(encoder, W, H, FPS, **kw)
    enc = VideoEncoder(path, spec, plan_audio(audio, path) if audio else None)
    for f in luma_frames(n):
        enc.write_yuv420(f)
    enc.finish()


def top_level_boxes(path: Path) -> list[str]:
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return boxes


def test_h264_mp4_read_back(tmp_path: Path):
    out = tmp_path / "v.mp4"
    audio = tmp_path / "a.wav"
    write_audio(audio, 2.0)
    encode(out, 60, audio=audio)
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        assert vs.codec_context.name == "h264"
        assert (vs.codec_context.width, vs.codec_context.height) == (W, H)
        assert vs.codec_context.pix_fmt == "yuv420p"
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
        frames = list(c.decode(vs))
    assert len(frames) == 60
    f = frames[0]
    assert (int(f.colorspace), int(f.color_range), int(f.color_primaries), int(f.color_trc)) == (1, 1, 1, 1)
    # frames arrive in order with their content (Y = 20 + 2 i, x264 keeps flat planes close)
    for i in (0, 17, 59):
        y = frames[i].to_ndarray()[:H]
        assert abs(float(y.mean()) - (20 + 2 * i)) < 1.5
    assert float(frames[-1].pts * frames[-1].time_base) == pytest.approx(59 / FPS, abs=1e-3)
    v = verify_output(out, frames=60, fps=FPS, expect_audio=True, audio_seconds=2.0)
    assert v.frames == 60 and v.duration == pytest.approx(2.0) and v.audio_codec == "aac"


def test_audio_starts_with_the_first_frame(tmp_path: Path):
    """A burst at 1.000 s in the source is at 1.000 s (within a frame) in the output."""
    audio = tmp_path / "click.wav"
    write_audio(audio, 2.0, rate=48000, click_at=1.0)
    out = tmp_path / "sync.mp4"
    encode(out, 60, audio=audio)
    with av.open(str(out)) as c:
        first_video = None
        for f in c.decode(video=0):
            first_video = float(f.pts * f.time_base)
            break
    with av.open(str(out)) as c:
        onset = None
        for f in c.decode(audio=0):
            x = f.to_ndarray()[0]
            hits = np.nonzero(np.abs(x) > 0.3)[0]
            if len(hits):
                onset = float(f.pts * f.time_base) + hits[0] / f.sample_rate
                break
    assert first_video == 0.0
    assert onset is not None and abs(onset - 1.0) < 1 / FPS


def test_aac_is_copied_from_m4a(tmp_path: Path):
    src = tmp_path / "song.m4a"
    write_audio(src, 2.0, codec="aac")
    out = tmp_path / "v.mkv"
    plan = plan_audio(src, out)
    assert plan.copy
    enc = VideoEncoder(out, VideoSpec("libx264", W, H, FPS), plan)
    for f in luma_frames(60):
        enc.write_yuv420(f)
    stats = enc.finish()
    assert stats.audio == "copy:aac"
    with av.open(str(src)) as a, av.open(str(out)) as b:
        src_pkts = sum(1 for p in a.demux(audio=0) if p.size)
        out_pkts = sum(1 for p in b.demux(audio=0) if p.size)
    assert out_pkts == src_pkts
    verify_output(out, frames=60, fps=FPS, expect_audio=True, audio_seconds=probe_audio_ms(src) / 1000)


def test_mp3_and_mono_are_transcoded(tmp_path: Path):
    src = tmp_path / "song.mp3"
    write_audio(src, 1.0, codec="libmp3lame", channels=1)
    out = tmp_path / "v.mp4"
    assert not plan_audio(src, out).copy
    encode(out, 30, audio=src)
    with av.open(str(out)) as c:
        a = c.streams.audio[0]
        assert a.codec_context.name == "aac" and a.codec_context.channels == 1


@pytest.mark.parametrize("encoder,suffix,vcodec,acodec", [
    ("libvpx-vp9", ".webm", "vp9", "opus"),
    ("libsvtav1", ".webm", "av1", "opus"),
    ("libx265", ".mkv", "hevc", "aac"),
    ("libx265", ".mp4", "hevc", "aac"),
])
def test_other_codecs(tmp_path: Path, encoder, suffix, vcodec, acodec):
    if not encoder_works(encoder):
        pytest.skip(f"{encoder} not usable here")
    audio = tmp_path / "a.wav"
    write_audio(audio, 1.0)
    out = tmp_path / f"v{suffix}"
    encode(out, 30, encoder=encoder, audio=audio, crf=30, preset="ultrafast")
    v = verify_output(out, frames=30, fps=FPS, expect_audio=True, audio_seconds=1.0)
    assert v.audio_codec == acodec
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.codec.id == av.codec.Codec(vcodec, "r").id
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        if suffix == ".mp4":
            assert c.streams.video[0].codec_context.codec_tag == "hvc1"


def test_bitrate_replaces_crf(tmp_path: Path):
    rng = np.random.default_rng(1)
    low, high = tmp_path / "low.mp4", tmp_path / "high.mp4"
    for path, rate in ((low, "100k"), (high, "3M")):
        enc = VideoEncoder(path, VideoSpec("libx264", W, H, FPS, bitrate=rate))
        for _ in range(30):
            enc.write_yuv420(rng.integers(16, 235, (H * 3 // 2, W), dtype=np.uint8))
        enc.finish()
    assert high.stat().st_size > 4 * low.stat().st_size


def test_resolve_encoder():
    assert resolve_encoder("auto", Path("x.webm")) == "libvpx-vp9"
    assert resolve_encoder("auto", Path("x.mp4")) in ("libx264", "h264_nvenc")
    assert resolve_encoder("libx265", Path("x.mkv")) == "libx265"
    with pytest.raises(RenderError, match="WebM"):
        resolve_encoder("libx264", Path("x.webm"))
    with pytest.raises(RenderError, match="unknown encoder"):
        resolve_encoder("divx", Path("x.mp4"))
    with pytest.raises(RenderError, match="unsupported output"):
        resolve_encoder("auto", Path("x.avi"))


def test_encoder_works_is_a_real_try():
    assert encoder_works("libx264")
    assert not encoder_works("no_such_encoder")


def test_bad_audio_is_a_project_error(tmp_path: Path):
    bad = tmp_path / "song.mp3"
    bad.write_bytes(b"this is not audio" * 100)
    with pytest.raises(ProjectError, match="song.mp3"):
        probe_audio_ms(bad)
    with pytest.raises(ProjectError):
        plan_audio(tmp_path / "missing.wav", tmp_path / "o.mp4")


def test_verify_catches_wrong_counts_and_missing_audio(tmp_path: Path):
    out = tmp_path / "v.mp4"
    encode(out, 30)
    verify_output(out, frames=30, fps=FPS, expect_audio=False)
    with pytest.raises(RenderError, match="29 video frames|expected 31"):
        verify_output(out, frames=31, fps=FPS, expect_audio=False)
    with pytest.raises(RenderError, match="audio stream is missing"):
        verify_output(out, frames=30, fps=FPS, expect_audio=True)
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 1000)
    with pytest.raises(RenderError, match="cannot reopen"):
        verify_output(tmp_path / "junk.mp4", frames=30, fps=FPS, expect_audio=False)


def test_verify_catches_short_audio(tmp_path: Path):
    audio = tmp_path / "a.wav"
    write_audio(audio, 0.5)
    out = tmp_path / "v.mp4"
    encode(out, 30, audio=audio)
    with pytest.raises(RenderError, match="audio lasts"):
        verify_output(out, frames=30, fps=FPS, expect_audio=True, audio_seconds=1.0)


def test_abort_stops_the_worker(tmp_path: Path):
    out = tmp_path / "v.mp4"
    enc = VideoEncoder(out, VideoSpec("libx264", W, H, FPS))
    for f in luma_frames(10):
        enc.write_yuv420(f)
    enc.abort()
    assert not enc._thread.is_alive()
    with pytest.raises(RenderError):
        verify_output(out, frames=10, fps=FPS, expect_audio=False)


def test_repeated_and_reused_arrays(tmp_path: Path):
    """A read-only array handed in again is a repeat (sent without a new copy); a writable
    array changed in place between calls is a new frame."""
    a = np.full((H * 3 // 2, W), 128, np.uint8)
    a[:H] = 40
    a.flags.writeable = False
    scratch = np.full((H * 3 // 2, W), 128, np.uint8)
    out = tmp_path / "rep.mp4"
    enc = VideoEncoder(out, VideoSpec("libx264", W, H, FPS))
    for _ in range(10):
        enc.write_yuv420(a)
    for i in range(10):
        scratch[:H] = 100 + 10 * i  # same object, new content every time
        enc.write_yuv420(scratch)
    for _ in range(5):
        enc.write_yuv420(a)
    assert enc.finish().frames == 25
    with av.open(str(out)) as c:
        means = [float(f.to_ndarray()[:H].mean()) for f in c.decode(video=0)]
    expected = [40] * 10 + [100 + 10 * i for i in range(10)] + [40] * 5
    assert len(means) == 25
    assert np.allclose(means, expected, atol=1.5), means


def test_probe_is_exact_for_vbr_without_a_header(tmp_path: Path):
    """Raw ADTS AAC has no duration header: FFmpeg estimates it from the first frames' bit
    rate (3 s of silence, then noise: minutes off); the probe reads the packets instead."""
    path = tmp_path / "song.aac"
    rate = 44100
    rng = np.random.default_rng(0)
    x = np.concatenate([np.zeros(3 * rate), rng.uniform(-0.8, 0.8, 3 * rate)])
    with av.open(str(path), "w") as out:
        s = out.add_stream("aac", rate=rate, layout="mono")
        s.bit_rate = 256_000
        res = av.AudioResampler(format="fltp", layout="mono", rate=rate, frame_size=1024)
        frame = av.AudioFrame.from_ndarray(x.astype(np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for f in res.resample(frame) + res.resample(None):
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    with av.open(str(path)) as c:
        estimate = c.duration / av.time_base
    assert abs(estimate - 6.0) > 1.0  # what the header estimate would have said
    assert abs(probe_audio_ms(path) - 6000) <= 50
