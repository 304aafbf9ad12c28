"""One job: import → render (FrameRenderer, GPU) → encode (PyAV, own thread) → verify → rename.

Settings: `export` applies the project's own render settings (`project.render`, e.g. a
.kproj's `render:` section) through `effective_settings`, which only fills fields the
caller left at their defaults; whatever the caller set explicitly wins. A caller that wants
its settings used exactly as given passes `project_render=False`.

Pause/abort: `control.checkpoint()` runs before every frame is rendered. A checkpoint that
holds longer than `HOLD_SECONDS` is a pause: a monitor thread reports status "paused" (from
that thread; the render thread is blocked meanwhile) and the whole hold is left out of the
elapsed time and the frame rate.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from hotfolder.encode import (
    VideoEncoder,
    VideoSpec,
    plan_audio,
    probe_audio_ms,
    resolve_encoder,
    verify_output,
)
from hotfolder.errors import ExportAborted, ProjectError, RenderError
from hotfolder.eta import RateEstimator, WorkClock, estimated_remaining, eta_at
from hotfolder.poster import poster_time_ms, write_poster
from hotfolder.progress import ExportProgress, ExportStatus
from hotfolder.project import load_project
from hotfolder.project.limits import DEFAULT_LIMITS, Limits
from hotfolder.project.model import Project
from hotfolder.render.background import check_background
from hotfolder.render.types import frame_count, frame_time_ms
from hotfolder.settings import MAX_TAIL_MS, OPERATOR_ONLY, RenderSettings

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25   # seconds between progress reports (plus one at each status change)
HOLD_SECONDS = 0.25        # a checkpoint blocking longer than this is a pause

# Loggers whose warnings say that the video is not quite what the project asked for (a font
# family that is not there, a line skipped, a setting ignored): ExportResult.warnings. The GL
# module's "no GPU" note is not one: the renderer string says so, and it comes once a process.
WARNINGS_FROM = ("hotfolder.export", "hotfolder.project", "hotfolder.render", "hotfolder.encode")
_NOT_WARNINGS = {"hotfolder.render.gl"}
MAX_WARNINGS = 20
MAX_WARNING_CHARS = 200


@dataclass
class ExportResult:
    output: Path            # the final file
    frames: int
    duration: float         # seconds of video
    renderer: str           # GL renderer string
    encoder: str            # e.g. "libx264"
    elapsed: float          # seconds of work
    poster: Path | None     # JPEG poster frame when asked for
    warnings: list[str] = field(default_factory=list)  # what the render fell back on (WARNINGS_FROM)


class ExportControl(Protocol):
    def checkpoint(self) -> None:
        """Called before every frame: blocks while paused, raises ExportAborted to abort."""


ProgressCallback = Callable[[ExportProgress], None]

# project.render keys that stay with the operator: the daemon spreads jobs over GPUs itself
_OPERATOR_KEYS = {"gpu", *OPERATOR_ONLY}
_INT_RANGES = {"width": (16, 16384), "height": (16, 16384), "fps": (1, 240), "crf": (0, 63),
               "tail_ms": (0, MAX_TAIL_MS)}


def effective_settings(project: Project, settings: RenderSettings) -> RenderSettings:
    """`settings` with the project's render section (`project.render`, RenderSettings field
    names as the importers produce them, media paths already resolved and checked there)
    filling the fields the caller left at their RenderSettings() default; "size": "WxH" is
    also understood. `gpu` is ignored (the operator's choice). A value of the wrong type
    is a ProjectError naming the key; unknown keys are logged and ignored."""
    if not project.render:
        return settings
    defaults = RenderSettings()
    names = {f.name for f in fields(RenderSettings)}
    values: dict[str, Any] = {}
    for key, value in project.render.items():
        if key == "size":
            values["width"], values["height"] = _parse_size(str(value), project.source)
        elif key in _OPERATOR_KEYS:
            log.info("%s: render.%s is left to the operator; ignored", project.source.name, key)
        elif key in names:
            values[key] = _check_value(key, value, getattr(defaults, key), project.source)
        else:
            log.warning("%s: render.%s is not a render setting; ignored", project.source.name, key)
    chosen = {k: v for k, v in values.items() if getattr(settings, k) == getattr(defaults, k)}
    return settings.updated(chosen)


def _parse_size(text: str, source: Path) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ProjectError(source, None, f"render.size {text!r} is not WIDTHxHEIGHT") from None
    return _check_value("width", w, 0, source), _check_value("height", h, 0, source)


def _check_value(key: str, value: Any, default: Any, source: Path) -> Any:
    """The importers validate; this keeps a hand-built Project from smuggling in nonsense."""
    if value is None:
        return None
    if key in ("audio", "fonts_dir"):
        return Path(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ProjectError(source, None, f"render.{key} must be true or false, not {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ProjectError(source, None, f"render.{key} must be a whole number, not {value!r}")
        lo, hi = _INT_RANGES.get(key, (0, 2**31))
        if not lo <= int(value) <= hi:
            raise ProjectError(source, None, f"render.{key} = {value} is outside {lo}..{hi}")
        return int(value)
    if key == "background_dim":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ProjectError(source, None, f"render.{key} must be a number from 0 to 1, not {value!r}")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise ProjectError(source, None, f"render.{key} must be text, not {value!r}")
    return value.strip()


def _load(project_path: Path, settings: RenderSettings, limits: Limits, project_render: bool
          ) -> tuple[Project, RenderSettings]:
    project = load_project(project_path, limits)
    if project_render:
        settings = effective_settings(project, settings)
    return project, settings


def _audio_and_duration(project: Project, settings: RenderSettings, limits: Limits = DEFAULT_LIMITS
                        ) -> tuple[Path | None, int]:
    """The audio to use (settings.audio wins) and the video's length in ms: the audio's,
    or the last line's end plus settings.tail_ms without audio. A length beyond the limits
    is refused here, before hours of rendering are started."""
    audio = settings.audio or project.media.audio
    if audio is not None:
        audio = Path(audio)
        if not audio.is_file():
            raise ProjectError(project.source, None, f"audio file not found: {audio}")
        ms = probe_audio_ms(audio)
        if ms > limits.max_time_ms:
            raise ProjectError(audio, None, f"audio lasts {ms / 3_600_000:.1f} hours, more than the limit")
    else:
        ms = project.duration + settings.tail_ms
    check_video_length(ms, project.source, settings, limits)
    return audio, ms


def check_video_length(duration_ms: int, source: Path, settings: RenderSettings, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a video longer than Limits.max_video_ms or settings.max_video_seconds (the operator's)."""
    limit_ms = limits.max_video_ms
    if settings.max_video_seconds is not None:
        limit_ms = min(limit_ms, round(settings.max_video_seconds * 1000))
    if duration_ms > limit_ms:
        raise ProjectError(source, None, f"the video would be {_hms(duration_ms)} long, more than the limit of "
                                         f"{_hms(limit_ms)} (max_video_seconds)")


def _hms(ms: int) -> str:
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def plan_frames(project_path: Path, settings: RenderSettings, limits: Limits = DEFAULT_LIMITS, *,
                project_render: bool = True) -> int:
    """The number of frames `export` will produce (import + audio probe only)."""
    project = load_project(Path(project_path), limits)
    return frames_of(project, settings, limits, project_render=project_render)


def frames_of(project: Project, settings: RenderSettings, limits: Limits = DEFAULT_LIMITS, *,
              project_render: bool = True) -> int:
    """plan_frames for a project already loaded (the daemon reads each project once)."""
    if project_render:
        settings = effective_settings(project, settings)
    _, duration_ms = _audio_and_duration(project, settings, limits)
    return frame_count(duration_ms, settings.fps)


def partial_path(output: Path) -> Path:
    return output.with_name(f".{output.stem}.partial{output.suffix}")


class _Reporter:
    """Progress bookkeeping: work clock, smoothed rate, throttled callback; thread-safe
    because the pause monitor reports from its own thread."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback = callback
        self.total = total
        self.frame = 0
        self.renderer = ""
        self.clock = WorkClock(time.monotonic())
        self.rate = RateEstimator()
        self.lock = threading.Lock()
        self.last_emit = -1e9
        self.status: ExportStatus = "starting"
        self.operation = "loading project"
        self._warned = False

    def set(self, status: ExportStatus, operation: str) -> None:
        with self.lock:
            self.status, self.operation = status, operation
            self._emit(time.monotonic())

    def frame_done(self, frame: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.frame = frame
            self.rate.update(frame, self.clock.elapsed(now))
            if now - self.last_emit >= PROGRESS_INTERVAL:
                self._emit(now)

    def snapshot(self, now: float) -> ExportProgress:
        fps = self.rate.fps
        # while paused the work left stays put and the ETA moves on with the clock
        remaining = estimated_remaining(self.total, self.frame, fps) if self.status in ("rendering", "paused") else None
        if self.status in ("verifying", "done"):
            remaining = 0.0
            elapsed = self.clock.elapsed(now)
            fps = self.frame / elapsed if elapsed > 0 else fps  # the whole job's average
        return ExportProgress(
            status=self.status, current_frame=self.frame, total_frames=self.total,
            elapsed=round(self.clock.elapsed(now), 3), estimated_remaining=remaining,
            eta=eta_at(datetime.now().astimezone(), remaining), current_operation=self.operation,
            fps=round(fps or 0.0, 2), renderer=self.renderer)

    def _emit(self, now: float) -> None:
        self.last_emit = now
        if self.callback is None:
            return
        try:
            self.callback(self.snapshot(now))
        except Exception:  # a failing progress sink (e.g. a share gone away) must not kill the render
            if not self._warned:
                log.warning("progress callback failed; the export goes on", exc_info=True)
                self._warned = True


class _Checkpoints:
    """Calls control.checkpoint() and turns long holds into "paused" reports."""

    def __init__(self, control: ExportControl | None, reporter: _Reporter) -> None:
        self.control = control
        self.reporter = reporter
        self.since: float | None = None
        self.paused = False
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        if control is not None:
            self.thread = threading.Thread(target=self._monitor, name="export-pause-monitor", daemon=True)
            self.thread.start()

    def __call__(self) -> None:
        if self.control is None:
            return
        self.since = time.monotonic()
        try:
            self.control.checkpoint()
        finally:
            r = self.reporter
            with r.lock:
                self.since = None
                if self.paused:
                    self.paused = False
                    r.clock.resume(time.monotonic())
                    r.rate = _resumed(r.rate, r.frame, r.clock.elapsed(time.monotonic()))
                    r.status, r.operation = "rendering", "rendering frames"
                    r._emit(time.monotonic())

    def _monitor(self) -> None:
        while not self.stop.wait(0.05):
            r = self.reporter
            with r.lock:
                since = self.since
                now = time.monotonic()
                if since is not None and not self.paused and now - since >= HOLD_SECONDS:
                    self.paused = True
                    r.clock.pause(since)
                    r.status, r.operation = "paused", "paused"
                    r._emit(now)
                elif self.paused and now - r.last_emit >= 1.0:
                    r._emit(now)  # keep the sidecar fresh while paused

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def _resumed(rate: RateEstimator, frames: int, work: float) -> RateEstimator:
    """After a pause, the next rate sample starts at the resume point (not across the hold)."""
    rate._frames, rate._time = frames, work
    return rate


class _Warnings(logging.Handler):
    """The warnings (WARNINGS_FROM) logged while one export runs, from any of its threads: one
    line each, said once, paths without the project's folder (a work folder means nothing to
    people), at most MAX_WARNINGS of MAX_WARNING_CHARS characters."""

    def __init__(self, folder: Path) -> None:
        super().__init__(logging.WARNING)
        self.prefixes = sorted({str(folder) + os.sep, str(folder.resolve()) + os.sep}, key=len, reverse=True)
        self.messages: list[str] = []
        self.more = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name in _NOT_WARNINGS:
            return
        try:
            text = record.getMessage()
        except Exception:  # a broken log call must not end the render
            return
        for prefix in self.prefixes:
            text = text.replace(prefix, "")
        text = " ".join(text.split())
        if len(text) > MAX_WARNING_CHARS:
            text = text[: MAX_WARNING_CHARS - 1] + "…"
        if not text or text in self.messages:
            return
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(text)
        else:
            self.more += 1

    def said(self) -> list[str]:
        return self.messages + ([f"… and {self.more} more warnings (see the log)"] if self.more else [])

    def __enter__(self) -> "_Warnings":
        for name in WARNINGS_FROM:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in WARNINGS_FROM:
            logging.getLogger(name).removeHandler(self)


def export(project_path: Path, output: Path, settings: RenderSettings, *,
           on_progress: ProgressCallback | None = None,
           control: ExportControl | None = None,
           poster: Path | None = None,
           limits: Limits = DEFAULT_LIMITS,
           project_render: bool = True,
           overwrite: bool = False) -> ExportResult:
    """Render `project_path` to `output` (see the module doc). Raises ProjectError (bad
    input), RenderError (GL, encoder, failed check) or ExportAborted; the partial file is
    removed then. An existing `output` is an error unless `overwrite`. What the render fell
    back on (a font family it did not find, …) is in the result's `warnings`."""
    project_path = Path(project_path)
    with _Warnings(project_path.parent) as warned:
        result = _export(project_path, Path(output), settings, on_progress=on_progress, control=control,
                         poster=poster, limits=limits, project_render=project_render, overwrite=overwrite)
    result.warnings = warned.said()
    return result


def _export(project_path: Path, output: Path, settings: RenderSettings, *,
            on_progress: ProgressCallback | None, control: ExportControl | None, poster: Path | None,
            limits: Limits, project_render: bool, overwrite: bool) -> ExportResult:
    reporter = _Reporter(on_progress, 0)
    reporter.set("starting", "loading project")
    project, settings = _load(project_path, settings, limits, project_render)
    audio, duration_ms = _audio_and_duration(project, settings, limits)
    encoder_name = resolve_encoder(settings.encoder, output)
    if output.exists() and not overwrite:
        raise RenderError(f"{output} already exists")
    if not output.parent.is_dir():
        raise RenderError(f"output folder {output.parent} does not exist")
    audio_plan = plan_audio(audio, output) if audio else None
    check_background(project, settings)  # a missing or broken background fails now, not after the GL start

    from hotfolder.render.frames import FrameRenderer  # GL is loaded only when rendering

    reporter.set("starting", "starting renderer")
    try:
        renderer = FrameRenderer(project, settings)
    except (ProjectError, RenderError):
        raise
    except Exception as exc:
        raise RenderError(f"cannot start the renderer: {type(exc).__name__}: {exc}") from exc
    partial = partial_path(output)
    encoder: VideoEncoder | None = None
    checkpoints: _Checkpoints | None = None
    poster_path: Path | None = None
    try:
        fps = renderer.fps
        if renderer.width % 2 or renderer.height % 2:
            raise RenderError(f"size {renderer.width}x{renderer.height}: width and height must be even for yuv420p")
        total = frame_count(duration_ms, fps)
        reporter.total, reporter.renderer = total, renderer.renderer
        poster_rgb = renderer.render_rgb(poster_time_ms(project, duration_ms)) if poster else None
        spec = VideoSpec(encoder_name, renderer.width, renderer.height, fps, settings.crf, settings.preset,
                         settings.bitrate, gpu=settings.gpu)
        log.info("rendering %s: %d frames %dx%d@%d, %s, %s", project_path.name, total, renderer.width,
                 renderer.height, fps, encoder_name, renderer.renderer)
        encoder = VideoEncoder(partial, spec, audio_plan)
        checkpoints = _Checkpoints(control, reporter)
        reporter.clock = WorkClock(time.monotonic())  # start-up is not frame work
        reporter.set("rendering", "rendering frames")

        def times() -> Iterator[int]:
            for i in range(total):
                checkpoints()
                yield frame_time_ms(i, fps)

        done = 0
        for yuv in renderer.iter_yuv420(times()):
            encoder.write_yuv420(yuv)
            done += 1
            reporter.frame_done(done)
        checkpoints.close()
        if done != total:
            raise RenderError(f"renderer produced {done} frames, expected {total}")
        reporter.set("verifying", "finishing encode")
        stats = encoder.finish()
        encoder = None
        reporter.set("verifying", "verifying output")
        verify_output(partial, frames=total, fps=fps, expect_audio=audio is not None,
                      audio_seconds=duration_ms / 1000 if audio is not None else None)
        if output.exists() and not overwrite:
            raise RenderError(f"{output} appeared while rendering; not overwriting it")
        # the poster first: once the video has its final name the job is done
        if poster is not None and poster_rgb is not None:
            poster_path = write_poster(poster_rgb, poster)
        os.replace(partial, output)
        elapsed = reporter.clock.elapsed(time.monotonic())
        reporter.set("done", "done")
        log.info("%s: %d frames in %.1f s (%.1f fps)", output.name, total, elapsed, total / elapsed if elapsed else 0)
        return ExportResult(output=output, frames=total, duration=total / fps, renderer=renderer.renderer,
                            encoder=stats.encoder, elapsed=elapsed, poster=poster_path)
    except BaseException as exc:
        if checkpoints is not None:
            checkpoints.close()
        if encoder is not None:
            encoder.abort()
        partial.unlink(missing_ok=True)
        if poster_path is not None:
            poster_path.unlink(missing_ok=True)
        if isinstance(exc, Exception) and not isinstance(exc, (ProjectError, RenderError, ExportAborted)):
            raise RenderError(f"rendering {project_path.name} failed: {type(exc).__name__}: {exc}") from exc
        raise
    finally:
        renderer.close()
