"""`hotfolder still FILE --time SECONDS -o OUT.png`: the frame the video shows at that time."""
from __future__ import annotations

import argparse
import io
import logging
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hotfolder.atomic import write_bytes_atomic
from hotfolder.errors import ProjectError, RenderError
from hotfolder.project import load_project
from hotfolder.project.model import Project
from hotfolder.render.types import frame_time_ms
from hotfolder.settings import RenderSettings

log = logging.getLogger(__name__)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, not {text!r}") from None
    if not (2 <= w <= 16384 and 2 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"size {w}x{h} is out of range")
    return w, h


def parse_time(text: str) -> Fraction:
    """Seconds ('12.5') or [h:]mm:ss(.fff), exactly as written ('2.3' is 23/10, not
    2.2999...), so the frame index is right."""
    try:
        parts = text.strip().split(":")
        if len(parts) > 3 or any(p.strip() == "" for p in parts) or any(p.lstrip().startswith("-") for p in parts[1:]):
            raise ValueError(text)
        value = Fraction(0)
        for part in parts:
            value = value * 60 + Fraction(part.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"time must be seconds like 12.5 or mm:ss.ff, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("time must not be negative")
    return value


def frame_at(seconds: Fraction, fps: int) -> tuple[int, int]:
    """(frame index, time in ms that frame shows) for a time in seconds."""
    index = int(seconds * fps)  # floor: the frame on screen at that moment
    return index, frame_time_ms(index, fps)


def still_settings(project: Project, args: argparse.Namespace) -> RenderSettings:
    """The options given, then the project's render section (as `hotfolder render` reads it,
    so the still is the frame the video shows); an ASS file without --size: PlayRes."""
    from hotfolder.export import effective_settings

    overrides: dict[str, object] = {}
    if args.size is not None:
        overrides["width"], overrides["height"] = args.size
    elif project.format == "ass" and project.play_res:
        overrides["size_from_project"] = True
    for key in ("fps", "background", "fonts_dir", "gpu"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    return effective_settings(project, RenderSettings().updated(overrides))


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 picture, encoded by FFmpeg's png encoder through PyAV."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height = rgb.shape[1], rgb.shape[0]
        stream.pix_fmt = "rgb24"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="project file (.kproj, .ass, .lrc, UltraStar .txt)")
    parser.add_argument("--time", "-t", type=parse_time, required=True, help="seconds (or [h:]mm:ss.ff) from the start of the song")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--size", type=parse_size, help="WxH (default: PlayResX x PlayResY for ASS, else the configured size)")
    parser.add_argument("--fps", type=int, help="frame rate that decides which frame is shown (default 30)")
    parser.add_argument("--fonts-dir", dest="fonts_dir", type=Path, help="fonts to look in first")
    parser.add_argument("--background", help="colour (#rrggbb or a name), image or video (default: the project's, else black)")
    parser.add_argument("--gpu", type=int, help="EGL device index of the GPU to use")


def run(args: argparse.Namespace) -> int:
    from hotfolder.render.frames import FrameRenderer

    try:
        project = load_project(args.file)
        settings = still_settings(project, args)
        if settings.fps < 1:
            raise RenderError(f"fps must be positive, not {settings.fps}")
        index, t_ms = frame_at(args.time, settings.fps)
        with FrameRenderer(project, settings) as renderer:
            rgb = renderer.render_rgb(t_ms)
        write_bytes_atomic(args.output, encode_png(rgb))
    except (ProjectError, RenderError) as exc:
        print(f"hotfolder still: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"hotfolder still: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    log.info("%s: frame %d (t=%d ms) at %dx%d → %s", args.file, index, t_ms, rgb.shape[1], rgb.shape[0], args.output)
    return 0
