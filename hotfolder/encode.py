"""PyAV output: the video stream (x264 / NVENC / HEVC / AV1 / VP9), the song's audio, the
container options, and the check that reopens the result.

`VideoEncoder` runs the encoder in its own thread fed by a bounded queue, so the caller's
render/readback of frame n+1 overlaps the encode of frame n. Audio is muxed from the same
thread, interleaved with the video as it goes (the muxer then never has to buffer a whole
song). Frames are I420 (yuv420p), BT.709, limited range: the tags are always written (not
only at HD sizes) because our frames are always converted with BT.709 coefficients.
"""
from __future__ import annotations

import functools
import io
import logging
import os
import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hotfolder.errors import ProjectError, RenderError

log = logging.getLogger(__name__)

# output suffix -> libavformat muxer
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
# encoder -> codec family
ENCODERS = {
    "libx264": "h264",
    "h264_nvenc": "h264",
    "libx265": "hevc",
    "hevc_nvenc": "hevc",
    "libsvtav1": "av1",
    "libvpx-vp9": "vp9",
}
WEBM_FAMILIES = {"vp9", "av1"}
# CRF-less encoders get CRF mapped to their own constant-quality knob below.
_X26X_PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
_NVENC_PRESETS = dict(zip(_X26X_PRESETS, ["p1", "p2", "p3", "p4", "p4", "p5", "p6", "p7", "p7"]))
_SVT_PRESETS = dict(zip(_X26X_PRESETS, ["12", "11", "10", "9", "8", "7", "5", "4", "2"]))
_VP9_CPU_USED = dict(zip(_X26X_PRESETS, ["8", "7", "6", "5", "4", "3", "2", "1", "0"]))
_AAC_RATES = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000}
# containers AAC can be stream-copied from without a bitstream filter (they carry extradata)
_AAC_COPY_SOURCES = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}


def container_format(path: Path) -> str:
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise RenderError(f"{path.name}: unsupported output type {path.suffix!r}; use one of {', '.join(sorted(CONTAINERS))}")
    return fmt


def default_encoder_for(path: Path) -> str:
    """What `encoder: auto` means for this output: NVENC H.264 when it works here, else x264;
    VP9 for WebM (WebM cannot hold H.264)."""
    if container_format(path) == "webm":
        return "libvpx-vp9"
    return "h264_nvenc" if encoder_works("h264_nvenc") else "libx264"


def resolve_encoder(name: str, path: Path) -> str:
    """The concrete encoder for a settings value and an output file; RenderError if it
    cannot be used there."""
    fmt = container_format(path)
    if name == "auto":
        return default_encoder_for(path)
    if name not in ENCODERS:
        raise RenderError(f"unknown encoder {name!r}; use auto or one of {', '.join(ENCODERS)}")
    if fmt == "webm" and ENCODERS[name] not in WEBM_FAMILIES:
        raise RenderError(f"{name} cannot be written to WebM; use libvpx-vp9 or libsvtav1, or an .mp4/.mkv output")
    return name


@functools.lru_cache(maxsize=None)
def encoder_works(name: str) -> bool:
    """Whether `name` really encodes on this machine: opens a tiny encode once (cached).
    NVENC, for instance, is compiled into FFmpeg but fails to open without an NVIDIA GPU."""
    try:
        spec = VideoSpec(encoder=name, width=256, height=144, fps=25, crf=30, preset="ultrafast", threads=1)
        buf = io.BytesIO()
        with av.open(buf, "w", format="matroska") as out:
            stream = _add_video_stream(out, spec)
            frame = av.VideoFrame.from_ndarray(np.full((144 * 3 // 2, 256), 128, np.uint8), format="yuv420p")
            for i in range(3):
                frame.pts = i
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        return buf.tell() > 0
    except Exception as exc:  # any failure means "not usable here"; say why at debug level
        log.debug("encoder %s does not work here: %s", name, exc)
        return False


@dataclass(frozen=True)
class VideoSpec:
    encoder: str                 # concrete encoder name (see resolve_encoder)
    width: int
    height: int
    fps: int
    crf: int = 20
    preset: str = "veryfast"
    bitrate: str | None = None   # "6M", "800k" or bits/s; replaces CRF
    threads: int = 0             # 0: automatic (x264/x265 decide; others one per core)
    gpu: int | None = None       # NVENC: the CUDA device (same index as the EGL device on usual setups)


def parse_bitrate(text: str) -> int:
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if mult != 1 else t) * mult
    except ValueError:
        raise RenderError(f"bitrate {text!r} is not a number like 6M or 800k") from None
    if value <= 0:
        raise RenderError(f"bitrate {text!r} must be positive")
    return int(value)


def encoder_options(spec: VideoSpec) -> dict[str, str]:
    """Private options for each encoder, from the x264-style preset/CRF/bitrate settings."""
    family_opts: dict[str, str]
    preset = spec.preset
    quality = spec.bitrate is None
    if spec.encoder in ("libx264", "libx265"):
        family_opts = {"preset": preset}
        if quality:
            family_opts["crf"] = str(spec.crf)
        if spec.encoder == "libx265":
            family_opts["x265-params"] = "log-level=error"
    elif spec.encoder.endswith("_nvenc"):
        family_opts = {"preset": _NVENC_PRESETS.get(preset, preset)}
        if spec.gpu is not None:
            family_opts["gpu"] = str(spec.gpu)
        if quality:
            family_opts.update({"rc": "vbr", "cq": str(spec.crf)})
    elif spec.encoder == "libsvtav1":
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner and warnings to stderr; errors only
        family_opts = {"preset": _SVT_PRESETS.get(preset, preset)}
        if quality:
            family_opts["crf"] = str(spec.crf)
    elif spec.encoder == "libvpx-vp9":
        family_opts = {"deadline": "good" if preset in _X26X_PRESETS[5:] else "realtime",
                       "cpu-used": _VP9_CPU_USED.get(preset, preset), "row-mt": "1"}
        if quality:
            family_opts["crf"] = str(spec.crf)
    else:
        raise RenderError(f"unknown encoder {spec.encoder!r}")
    return family_opts


def _add_video_stream(out: av.container.OutputContainer, spec: VideoSpec) -> av.VideoStream:
    stream = out.add_stream(spec.encoder, rate=spec.fps, options=encoder_options(spec))
    cc = stream.codec_context
    cc.width = spec.width
    cc.height = spec.height
    cc.pix_fmt = "yuv420p"
    cc.time_base = Fraction(1, spec.fps)
    stream.time_base = Fraction(1, spec.fps)
    # BT.709, limited range: what the GPU conversion produces; tag it so players agree.
    cc.colorspace = 1        # AVCOL_SPC_BT709
    cc.color_primaries = 1   # AVCOL_PRI_BT709
    cc.color_trc = 1         # AVCOL_TRC_BT709
    cc.color_range = 1       # AVCOL_RANGE_MPEG (limited)
    if spec.encoder in ("libx264", "libx265"):
        # as ffmpeg does: the encoder picks its thread count (x264: 1.5 a core) and uses
        # frame threads; PyAV's default, slice threads, left a core idle, and the encoder
        # is what every frame waits for
        cc.thread_count = spec.threads
        cc.thread_type = "FRAME"
    else:
        cc.thread_count = spec.threads or (os.cpu_count() or 1)
    if ENCODERS.get(spec.encoder) == "hevc" and out.format.name in ("mp4", "mov"):
        cc.codec_tag = "hvc1"  # Apple players refuse FFmpeg's default 'hev1' in MP4
    if spec.bitrate is not None:
        cc.bit_rate = parse_bitrate(spec.bitrate)
    elif spec.encoder == "libvpx-vp9":
        cc.bit_rate = 0  # constant quality needs b=0
    return stream


# ---------------------------------------------------------------------------- audio


# containers whose headers give an exact duration; others (MP3, raw ADTS AAC, ...) may only
# have an estimate from the bit rate, which can be off by minutes for VBR audio
_EXACT_DURATION_FORMATS = {"wav", "w64", "aiff", "flac", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}


def probe_audio_ms(path: Path) -> int:
    """Duration of the first audio stream in ms: from the header where that is exact, else
    from the packets' timestamps (a demux without decoding: fast).
    ProjectError when the file cannot be read or has no audio."""
    try:
        with av.open(str(path)) as src:
            if not src.streams.audio:
                raise ProjectError(path, None, "no audio stream in this file")
            stream = src.streams.audio[0]
            seconds = None
            if src.format.name in _EXACT_DURATION_FORMATS and stream.duration is not None and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            if not seconds:
                seconds = _packet_duration(stream, src)
    except ProjectError:
        raise
    except (av.FFmpegError, OSError) as exc:
        raise ProjectError(path, None, f"cannot read audio: {exc}") from None
    if not seconds or seconds <= 0:
        raise ProjectError(path, None, "audio has no duration")
    return int(round(seconds * 1000))


def _packet_duration(stream: av.AudioStream, src: av.container.InputContainer) -> float:
    first: int | None = None
    end = 0
    for pkt in src.demux(stream):
        if pkt.pts is None or pkt.size == 0:
            continue
        first = pkt.pts if first is None else min(first, pkt.pts)
        end = max(end, pkt.pts + (pkt.duration or 0))
    if first is None or stream.time_base is None:
        return 0.0
    return float((end - min(first, 0)) * stream.time_base)


@dataclass(frozen=True)
class AudioPlan:
    source: Path
    copy: bool        # stream copy (already compatible) instead of transcoding
    codec: str        # aac | libopus (when transcoding)


def plan_audio(source: Path, out_path: Path) -> AudioPlan:
    fmt = container_format(out_path)
    target = "libopus" if fmt == "webm" else "aac"
    try:
        with av.open(str(source)) as src:
            if not src.streams.audio:
                raise ProjectError(source, None, "no audio stream in this file")
            name = src.streams.audio[0].codec_context.name
            copy = (target == "aac" and name == "aac" and src.format.name in _AAC_COPY_SOURCES) or (
                target == "libopus" and name == "opus" and src.format.name in ("ogg", "matroska,webm"))
    except ProjectError:
        raise
    except (av.FFmpegError, OSError) as exc:
        raise ProjectError(source, None, f"cannot read audio: {exc}") from None
    return AudioPlan(source, copy, target)


class _AudioMuxer:
    """Feeds the song's audio into the output, up to a given time, so it interleaves with video.

    Transcoded audio gets timestamps from its sample count: decoded sample 0 is audio time 0,
    the time of the first video frame."""

    def __init__(self, out: av.container.OutputContainer, plan: AudioPlan) -> None:
        self.plan = plan
        self.src = av.open(str(plan.source))
        self.in_stream = self.src.streams.audio[0]
        self.out = out
        self.done = False
        self.muxed_until = 0.0  # seconds of audio handed to the muxer
        if plan.copy:
            self.stream = out.add_stream_from_template(self.in_stream)
            self._packets = self.src.demux(self.in_stream)
        else:
            icc = self.in_stream.codec_context
            rate = icc.sample_rate if plan.codec == "aac" and icc.sample_rate in _AAC_RATES else 48000
            layout = "mono" if icc.channels == 1 else "stereo"
            self.stream = out.add_stream(plan.codec, rate=rate, layout=layout)
            self.stream.bit_rate = 192_000 if plan.codec == "aac" else 128_000
            self.stream.time_base = Fraction(1, rate)
            fmt = self.stream.codec_context.codec.audio_formats[0].name
            self._rate = rate
            self._resampler: av.AudioResampler | None = None
            self._layout = layout
            self._fmt = fmt
            self._frames = self.src.decode(self.in_stream)
            self._samples = 0

    def mux_until(self, seconds: float | None) -> None:
        """Mux audio up to `seconds` (None: all of it)."""
        while not self.done and (seconds is None or self.muxed_until < seconds):
            if self.plan.copy:
                self._copy_one()
            else:
                self._transcode_one()

    def _copy_one(self) -> None:
        pkt = next(self._packets, None)
        if pkt is None or pkt.size == 0 and pkt.pts is None:
            self.done = True
            return
        if pkt.dts is None:
            return  # demuxer's flush packet
        pkt.stream = self.stream
        if pkt.pts is not None:
            self.muxed_until = float(pkt.pts * pkt.time_base)
        self.out.mux(pkt)

    def _transcode_one(self) -> None:
        if self._resampler is None:
            self._resampler = av.AudioResampler(format=self._fmt, layout=self._layout, rate=self._rate,
                                                frame_size=self.stream.codec_context.frame_size or None)
        try:
            frame = next(self._frames, None)
        except av.FFmpegError as exc:
            raise RenderError(f"cannot decode audio {self.plan.source.name}: {exc}") from None
        if frame is not None:
            frame.pts = None  # timestamps from the sample count (see class doc)
        for rf in self._resampler.resample(frame):
            rf.pts = self._samples
            rf.time_base = Fraction(1, self._rate)
            self._samples += rf.samples
            self.out.mux(self.stream.encode(rf))
        self.muxed_until = self._samples / self._rate
        if frame is None:
            self.out.mux(self.stream.encode(None))
            self.done = True

    def close(self) -> None:
        self.src.close()


# ---------------------------------------------------------------------------- video


@dataclass
class EncodeStats:
    frames: int
    encoder: str
    audio: str | None   # "aac", "libopus" or "copy:<codec>"


_STOP = object()


class VideoEncoder:
    """One output file: video frames in (I420), audio muxed alongside, in a worker thread.

    Use: `write_yuv420(...)` per frame, then `finish()`; on any failure call `abort()` (the
    caller removes the file)."""

    def __init__(self, path: Path, spec: VideoSpec, audio: AudioPlan | None = None, queue_size: int = 6) -> None:
        self.path = Path(path)
        self.spec = spec
        self.frames = 0
        try:
            self.out = av.open(str(self.path), "w", format=container_format(self.path),
                               options={"movflags": "+faststart"} if container_format(self.path) in ("mp4", "mov") else {})
        except (av.FFmpegError, OSError) as exc:
            raise RenderError(f"cannot create {self.path}: {exc}") from None
        self.audio: _AudioMuxer | None = None
        try:
            self.stream = _add_video_stream(self.out, spec)
            if audio is not None:
                self.audio = _AudioMuxer(self.out, audio)
            self.stream.codec_context.open()  # fail here, not in the thread, if the encoder cannot start
        except Exception as exc:
            self._close_quietly()
            if isinstance(exc, (ProjectError, RenderError)):
                raise
            raise RenderError(f"cannot start encoder {spec.encoder}: {exc}") from None
        self._last_array: np.ndarray | None = None
        self._last_frame: av.VideoFrame | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._aborting = False
        self._thread = threading.Thread(target=self._work, name=f"encode-{self.path.name}", daemon=True)
        self._thread.start()

    # -- producer side
    def write_yuv420(self, i420: np.ndarray) -> None:
        """Queue one frame, (H*3/2, W) uint8 I420. Copied at once, so the caller may reuse
        the array afterwards; handing in the very same array object again (a repeated
        frame) re-sends the previous frame without copying it again."""
        if i420 is self._last_array and self._last_frame is not None:
            frame = self._last_frame
        else:
            frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
            # only a read-only array is guaranteed unchanged when it comes back
            self._last_array = i420 if not i420.flags.writeable else None
            self._last_frame = frame
        self.write_frame(frame)

    def write_frame(self, frame: av.VideoFrame) -> None:
        # pts travels beside the frame: one VideoFrame may be queued several times
        self._put((frame, self.frames))
        self.frames += 1

    def finish(self) -> EncodeStats:
        """Flush the encoder, mux the rest of the audio, write the trailer and close."""
        self._put(_STOP)
        self._thread.join()
        self._raise_worker_error()
        try:
            self.out.close()
        except (av.FFmpegError, OSError) as exc:
            raise RenderError(f"cannot finish {self.path}: {exc}") from None
        finally:
            if self.audio:
                self.audio.close()
        audio = None
        if self.audio:
            audio = f"copy:{self.audio.in_stream.codec_context.name}" if self.audio.plan.copy else self.audio.plan.codec
        return EncodeStats(self.frames, self.spec.encoder, audio)

    def abort(self) -> None:
        """Stop the worker and close the file without finishing it."""
        self._aborting = True
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                try:
                    self._queue.get_nowait()  # make room; the frames are thrown away anyway
                except queue.Empty:
                    pass
        self._thread.join()
        self._close_quietly()

    def _put(self, item: object) -> None:
        while True:
            self._raise_worker_error()
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    self._raise_worker_error()
                    raise RenderError("encoder thread ended unexpectedly")

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            err = self._error
            if isinstance(err, (RenderError, ProjectError)):
                raise err
            raise RenderError(f"encoding failed ({self.spec.encoder}): {err}") from err

    def _close_quietly(self) -> None:
        for closer in (self.out.close, self.audio.close if self.audio else None):
            if closer is None:
                continue
            try:
                closer()
            except Exception:  # already failing; the original error is what matters
                log.debug("closing after failure", exc_info=True)

    # -- worker side
    def _work(self) -> None:
        try:
            fps = self.spec.fps
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if self._aborting:
                    continue
                frame, pts = item
                frame.pts = pts  # the encoder takes its own reference (data and pts) at send
                self.out.mux(self.stream.encode(frame))
                if self.audio:
                    # keep audio about one frame ahead of the video
                    self.audio.mux_until((pts + 2) / fps)
            if not self._aborting:
                self.out.mux(self.stream.encode(None))
                if self.audio:
                    self.audio.mux_until(None)
        except BaseException as exc:  # handed to the producer thread
            self._error = exc
            # drain so a blocked producer wakes up and sees the error
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break


# ---------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class VerifyResult:
    video_codec: str
    frames: int
    duration: float           # seconds of video
    audio_codec: str | None
    audio_duration: float | None


def verify_output(path: Path, *, frames: int, fps: int, expect_audio: bool,
                  audio_seconds: float | None = None) -> VerifyResult:
    """Reopen a finished file and check it: a video stream with exactly `frames` frames
    (counted from packets) lasting frames/fps within one frame, an audio stream when one
    was muxed, and the audio within one frame (plus codec framing slack) of its source.
    RenderError on any mismatch."""
    name = path.name
    try:
        with av.open(str(path)) as src:
            if not src.streams.video:
                raise RenderError(f"{name}: no video stream in the output")
            vs = src.streams.video[0]
            as_ = src.streams.audio[0] if src.streams.audio else None
            if expect_audio and as_ is None:
                raise RenderError(f"{name}: the audio stream is missing from the output")
            count = 0
            v_end = 0.0
            a_end = 0.0
            a_start: float | None = None
            streams = [vs] + ([as_] if as_ is not None else [])
            for pkt in src.demux(streams):
                if pkt.pts is None or pkt.size == 0:
                    continue
                end = float((pkt.pts + (pkt.duration or 0)) * pkt.time_base)
                if pkt.stream.type == "video":
                    count += 1
                    v_end = max(v_end, end)
                else:
                    a_start = float(pkt.pts * pkt.time_base) if a_start is None else min(a_start, float(pkt.pts * pkt.time_base))
                    a_end = max(a_end, end)
            vcodec = vs.codec_context.name
            acodec = as_.codec_context.name if as_ is not None else None
    except RenderError:
        raise
    except (av.FFmpegError, OSError) as exc:
        raise RenderError(f"{name}: cannot reopen the output to check it: {exc}") from None
    if count != frames:
        raise RenderError(f"{name}: {count} video frames written, expected {frames}")
    expected = frames / fps
    frame = 1 / fps
    if abs(v_end - expected) > frame + 1e-6:
        raise RenderError(f"{name}: video lasts {v_end:.3f} s, expected {expected:.3f} s")
    a_dur = None
    if as_ is not None:
        a_dur = a_end - min(a_start or 0.0, 0.0)
        if audio_seconds is not None and abs(a_end - audio_seconds) > frame + 0.05:
            # 0.05 s: AAC/Opus frames (21-60 ms) and priming may pad the last packet
            raise RenderError(f"{name}: audio lasts {a_end:.3f} s, expected {audio_seconds:.3f} s")
    return VerifyResult(vcodec, count, v_end, acodec, a_dur)
