"""Poster frames: which moment to show, and a JPEG of it written with PyAV's MJPEG encoder."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hotfolder.atomic import write_bytes_atomic
from hotfolder.errors import RenderError
from hotfolder.project.model import Project


def poster_time_ms(project: Project, duration_ms: int | None = None) -> int:
    """A moment inside the first sung line: halfway through its syllables, so the poster
    shows lyrics half highlighted. 0 for a project without lines; kept inside the video."""
    sung = [ln for ln in project.sorted_lines() if ln.syllables and any(s.text.strip() for s in ln.syllables)]
    if not sung:
        return 0
    line = sung[0]
    start = min(s.start for s in line.syllables)
    end = max(s.end for s in line.syllables)
    if end <= start:
        start, end = line.start, max(line.end, line.start)
    t = (start + end) // 2
    if duration_ms is not None:
        t = min(t, max(0, duration_ms - 1))
    return max(0, t)


def encode_jpeg(rgb: np.ndarray, quality: int = 3) -> bytes:
    """JPEG bytes of an (H, W, 3) uint8 RGB image; `quality` is MJPEG's qscale (2 best .. 31)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise RenderError(f"poster frame must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    h, w = rgb.shape[:2]
    cc = av.CodecContext.create("mjpeg", "w")
    cc.width, cc.height = w, h
    cc.pix_fmt = "yuvj420p"
    cc.time_base = Fraction(1, 1)
    cc.options = {"qmin": str(quality), "qmax": str(quality)}
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuvj420p")
    frame.pts = 0
    packets = list(cc.encode(frame)) + list(cc.encode(None))
    return b"".join(bytes(p) for p in packets)


def write_poster(rgb: np.ndarray, path: Path, quality: int = 3) -> Path:
    """Write the poster atomically (readers on the share never see half a JPEG)."""
    write_bytes_atomic(Path(path), encode_jpeg(rgb, quality))
    return Path(path)
