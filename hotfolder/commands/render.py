"""`hotfolder render FILE -o OUT ...`: one project to one video, with a progress bar on a
terminal (rich) and plain log lines otherwise."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from hotfolder.errors import ExportAborted, ProjectError, RenderError
from hotfolder.progress import ExportProgress
from hotfolder.settings import RenderSettings

log = logging.getLogger("hotfolder.render")

LOG_EVERY = 5.0  # seconds between plain progress lines
# the names hotfolder.encode knows (kept here so building the parser does not load PyAV; a test
# checks they agree)
ENCODER_NAMES = ("libx264", "h264_nvenc", "libx265", "hevc_nvenc", "libsvtav1", "libvpx-vp9")
OUTPUT_SUFFIXES = (".mkv", ".m4v", ".mov", ".mp4", ".webm")


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1920x1080, not {text!r}") from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384) or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"size {w}x{h}: both sides must be even and between 16 and 16384")
    return w, h


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_render_options(parser: argparse.ArgumentParser) -> None:
    """The render settings options (shared with benchmarks and other commands)."""
    parser.add_argument("--size", type=parse_size, metavar="WxH", help="output size (default 1920x1080)")
    parser.add_argument("--fps", type=_positive, help="frames per second (default 30)")
    parser.add_argument("--encoder", choices=["auto", *ENCODER_NAMES],
                        help="video encoder (default auto: h264_nvenc when it works here, else libx264)")
    parser.add_argument("--crf", type=int, help="constant quality, on the encoder's scale (default 20)")
    parser.add_argument("--preset", help="speed preset, x264 names (default veryfast)")
    parser.add_argument("--bitrate", help="target bitrate like 6M instead of --crf")
    parser.add_argument("--audio", type=Path, metavar="FILE", help="audio to use instead of the project's")
    parser.add_argument("--background", metavar="COLOR|IMAGE|VIDEO",
                        help="background colour (#rrggbb or name), image or video instead of the project's")
    parser.add_argument("--fonts-dir", type=Path, metavar="DIR", help="fonts looked up here first")
    parser.add_argument("--gpu", type=int, metavar="N", help="GPU (EGL device) index")


def settings_from_args(args: argparse.Namespace, base: RenderSettings | None = None) -> RenderSettings:
    values: dict = {}
    if args.size:
        values["width"], values["height"] = args.size
    for name in ("fps", "encoder", "crf", "preset", "bitrate", "gpu"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.audio is not None:
        values["audio"] = args.audio.resolve()
    if args.fonts_dir is not None:
        values["fonts_dir"] = args.fonts_dir.resolve()
    if args.background is not None:
        bg = Path(args.background)
        values["background"] = str(bg.resolve()) if bg.exists() else args.background
    return (base or RenderSettings()).updated(values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="project file: .kproj, .ass/.ssa, .lrc or UltraStar .txt")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT",
                        help=f"video file ({', '.join(OUTPUT_SUFFIXES)}); default: FILE's name with .mp4, in the current folder")
    add_render_options(parser)
    parser.add_argument("--poster", type=Path, metavar="JPG", help="also write a poster frame (JPEG)")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--progress", choices=["auto", "bar", "log"], default="auto",
                        help="progress bar (terminal) or log lines (default: bar on a terminal)")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class LogProgress:
    """Plain lines: on every status change and every LOG_EVERY seconds."""

    def __init__(self) -> None:
        self.last = 0.0
        self.status = ""

    def __call__(self, p: ExportProgress) -> None:
        now = time.monotonic()
        if p.status == self.status and now - self.last < LOG_EVERY:
            return
        self.last, self.status = now, p.status
        log.info("%s: frame %d/%d (%.1f%%), %.1f fps, elapsed %s, remaining %s, %s", p.status, p.current_frame,
                 p.total_frames, p.percent, p.fps, _clock(p.elapsed), _clock(p.estimated_remaining),
                 p.current_operation)

    def close(self) -> None:
        pass


class BarProgress:
    """A rich progress bar: percent, frames, fps, ETA."""

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                                 TextColumn("{task.fields[frames]}"),
                                 TextColumn("{task.fields[fps]:>6.1f} fps"), TextColumn("ETA {task.fields[eta]}"),
                                 TextColumn("{task.fields[op]}"), console=Console(stderr=True), transient=False)
        self.task = self.progress.add_task(title, total=None, frames="", fps=0.0, eta="--:--", op="starting")
        self.progress.start()
        # log lines go through rich's stderr proxy (installed by start) so they print above the bar
        self._streams: list[tuple[logging.StreamHandler, object]] = []
        for h in logging.getLogger().handlers:
            if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.__stderr__:
                self._streams.append((h, h.setStream(sys.stderr)))

    def __call__(self, p: ExportProgress) -> None:
        eta = p.eta.astimezone().strftime("%H:%M:%S") if p.eta else "--:--"
        if p.estimated_remaining is not None:
            eta = f"{_clock(p.estimated_remaining)} ({eta})"
        self.progress.update(self.task, total=p.total_frames or None, completed=p.current_frame, fps=p.fps, eta=eta,
                             frames=f"{p.current_frame}/{p.total_frames} frames" if p.total_frames else "",
                             op=p.current_operation if p.status != "rendering" else "")

    def close(self) -> None:
        self.progress.stop()
        for handler, stream in self._streams:
            handler.setStream(stream)
        self._streams = []


def run(args: argparse.Namespace) -> int:
    from hotfolder.export import export

    project = args.file
    output = args.output or Path(project.stem + ".mp4")
    try:
        settings = settings_from_args(args)
    except (KeyError, ValueError) as exc:
        print(f"hotfolder render: {exc}", file=sys.stderr)
        return 2
    use_bar = args.progress == "bar" or (args.progress == "auto" and sys.stderr.isatty())
    reporter: BarProgress | LogProgress = BarProgress(project.name) if use_bar else LogProgress()
    try:
        result = export(project, output, settings, on_progress=reporter, poster=args.poster,
                        overwrite=args.overwrite)
    except ProjectError as exc:
        reporter.close()
        log.error("%s", exc)
        return 1
    except RenderError as exc:
        reporter.close()
        log.error("render failed: %s", exc)
        return 1
    except (KeyboardInterrupt, ExportAborted):
        reporter.close()
        log.error("interrupted; %s was not written", output)
        return 130
    reporter.close()
    speed = result.frames / result.elapsed if result.elapsed else 0.0
    log.info("wrote %s: %d frames, %.2f s of video, %s on %s, %.1f s (%.1f fps, %.2fx real time)%s",
             result.output, result.frames, result.duration, result.encoder, result.renderer, result.elapsed,
             speed, result.duration / result.elapsed if result.elapsed else 0.0,
             f"; poster {result.poster}" if result.poster else "")
    return 0
