"""What is behind the lyrics: a solid colour, an image scaled to cover, or a looping video.

A still image is decoded, scaled (swscale, bicubic) and dimmed here on the CPU, once. Video
frames go to the compositor as decoded, at their own size: the GPU converts 8-bit 4:2:0
to RGB, scales, crops and dims them.
Choice: `settings.background` (colour, image or video) wins; else the project's media
(video before image; an ASS file's Video File lands in `media.video`); else black. A file
that is named but missing or undecodable is an error, never black (`check_background` finds
that before the renderer starts).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

import av
import numpy as np

from hotfolder.errors import ProjectError, RenderError, brief
from hotfolder.project.model import Project
from hotfolder.settings import RenderSettings

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".qoi", ".tga"}

NAMED_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "white": (255, 255, 255), "red": (255, 0, 0), "green": (0, 128, 0),
    "lime": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255),
    "magenta": (255, 0, 255), "gray": (128, 128, 128), "grey": (128, 128, 128),
    "darkgray": (64, 64, 64), "darkgrey": (64, 64, 64), "navy": (0, 0, 128), "purple": (128, 0, 128),
    "maroon": (128, 0, 0), "teal": (0, 128, 128), "olive": (128, 128, 0), "orange": (255, 165, 0),
    "silver": (192, 192, 192), "pink": (255, 192, 203), "green screen": (0, 177, 64),
}
_HEX = re.compile(r"^(?:#|0x)([0-9a-f]{6}|[0-9a-f]{3})$", re.IGNORECASE)


def parse_color(text: str) -> tuple[int, int, int] | None:
    """'#rrggbb', '#rgb', '0xrrggbb' or a colour name → RGB; None when it is not a colour."""
    s = text.strip().lower()
    if s in NAMED_COLORS:
        return NAMED_COLORS[s]
    m = _HEX.match(s)
    if not m:
        return None
    digits = m.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


@dataclass(frozen=True)
class Cover:
    """How a src_w x src_h picture covers dst_w x dst_h: scaled by `scale` to scaled_w x
    scaled_h (both >= the output), then cropped at (crop_x, crop_y), centred."""

    scale: float
    scaled_w: int
    scaled_h: int
    crop_x: int
    crop_y: int


def cover(src_w: int, src_h: int, dst_w: int, dst_h: int) -> Cover:
    scale = max(dst_w / src_w, dst_h / src_h)
    sw = max(dst_w, round(src_w * scale))
    sh = max(dst_h, round(src_h * scale))
    return Cover(scale, sw, sh, (sw - dst_w) // 2, (sh - dst_h) // 2)


def _dimmed(rgb: np.ndarray, dim: float) -> np.ndarray:
    if dim <= 0:
        return rgb
    return np.rint(rgb.astype(np.float32) * (1.0 - dim)).astype(np.uint8)


@dataclass(frozen=True)
class SolidBackground:
    rgb: tuple[int, int, int] = (0, 0, 0)
    static = True


@dataclass(frozen=True, eq=False)
class ImageBackground:
    """Already scaled, cropped and dimmed to the output size: (H, W, 3) uint8."""

    pixels: np.ndarray
    source: Path | None = None
    static = True


def load_image(path: Path, width: int, height: int, dim: float = 0.0) -> ImageBackground:
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            c = cover(frame.width, frame.height, width, height)
            has_alpha = any(comp.is_alpha for comp in frame.format.components)
            scaled = frame.reformat(width=c.scaled_w, height=c.scaled_h, format="rgba" if has_alpha else "rgb24",
                                    interpolation="BICUBIC")
            rgb = scaled.to_ndarray()
            if has_alpha:  # transparent parts show black, as over a black background
                rgb = np.rint(rgb[..., :3] * (rgb[..., 3:].astype(np.float32) / 255.0)).astype(np.uint8)
    except (av.FFmpegError, StopIteration, ValueError, OSError) as exc:
        raise RenderError(f"background image {path}: cannot decode it ({exc})") from exc
    crop = rgb[c.crop_y : c.crop_y + height, c.crop_x : c.crop_x + width]
    return ImageBackground(np.ascontiguousarray(_dimmed(crop, dim)), path)


# AVColorSpace -> (Kr, Kb); anything else (unspecified included) is BT.601, as swscale assumes
YUV_MATRICES: dict[int, tuple[float, float]] = {
    1: (0.2126, 0.0722),    # BT.709
    4: (0.30, 0.11),        # FCC
    7: (0.212, 0.087),      # SMPTE 240M
    9: (0.2627, 0.0593),    # BT.2020 (non-constant / constant luminance)
    10: (0.2627, 0.0593),
}
BT601 = (0.299, 0.114)
FULL_RANGE_FORMATS = {"yuvj420p"}
GPU_FORMATS = {"yuv420p", "yuvj420p"}


@dataclass(frozen=True, eq=False)
class VideoPicture:
    """One decoded video frame, handed to the GPU as it came out of the decoder when it
    is 8-bit 4:2:0 (converted to RGB in the shader), else as RGB converted by swscale."""

    frame: av.VideoFrame

    def rgb(self) -> np.ndarray:
        return self.frame.to_ndarray(format="rgb24")

    def yuv420(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Y, U, V planes (None when the frame is not 8-bit 4:2:0 with even sides)."""
        f = self.frame
        if f.format.name not in GPU_FORMATS or f.width % 2 or f.height % 2:
            return None
        w, h = f.width, f.height
        planes = []
        for plane, (pw, ph) in zip(f.planes, ((w, h), (w // 2, h // 2), (w // 2, h // 2))):
            rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:ph, :pw]
            planes.append(np.ascontiguousarray(rows))
        return planes[0], planes[1], planes[2]

    def matrix(self) -> tuple[float, float, bool]:
        """(Kr, Kb, full_range) the frame is tagged with, as swscale reads the tags."""
        f = self.frame
        kr, kb = YUV_MATRICES.get(int(f.colorspace or 2), BT601)
        full = f.format.name in FULL_RANGE_FORMATS or int(f.color_range or 0) == 2
        return kr, kb, full


class VideoBackground:
    """A video decoded forward, looped, shown `gap_ms` after audio time 0 (its first frame
    is held before that). `frame_at(t)` gives (index, picture) at the video's own size; the
    index changes exactly when the picture does, so unchanged frames cost nothing. Jumps
    (a still at 3:00, a loop back to the start) seek instead of decoding everything between.
    `dim` is applied by the compositor's shader, not here."""

    static = False
    SEEK_AHEAD_MS = 2000  # decode forward for shorter jumps; seek for longer ones

    def __init__(self, path: Path, gap_ms: int = 0, dim: float = 0.0) -> None:
        self.path = Path(path)
        self.gap_ms = gap_ms
        self.dim = float(dim)
        try:
            self._container = av.open(str(self.path))
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, IndexError, OSError) as exc:
            raise RenderError(f"background video {self.path}: cannot open it ({exc})") from exc
        self._stream.thread_type = "AUTO"
        tb = self._stream.time_base
        self._t0_ms = float(self._stream.start_time * tb * 1000) if self._stream.start_time is not None and tb else None
        self._frame_ms = 1000.0 / float(self._stream.average_rate) if self._stream.average_rate else 40.0
        # the loop length: from the metadata when there is one, else found at the first end
        self.loop_ms: int | None = None
        if self._stream.duration and tb:
            self.loop_ms = max(1, round(float(self._stream.duration * tb * 1000)))
        elif self._container.duration:
            self.loop_ms = max(1, round(self._container.duration / 1000))
        self._cur: av.VideoFrame | None = None
        self._cur_ms = -1.0
        self._cur_index = -1
        self._next: tuple[float, av.VideoFrame] | None = None
        self._seek(0.0)
        if self._next is None:
            raise RenderError(f"background video {path}: no video frames")
        self.width = self._next[1].width
        self.height = self._next[1].height

    def _seek(self, vt: float) -> None:
        """Position the decoder so the next frames lead up to video time vt (ms)."""
        try:
            if vt <= self._frame_ms or self._t0_ms is None:
                if self._cur is not None:  # (not on the first call: nothing decoded yet)
                    self._container.seek(0, stream=self._stream)
            else:
                target = (vt + self._t0_ms) / 1000.0 / float(self._stream.time_base)
                self._container.seek(int(target), stream=self._stream, backward=True)
        except av.FFmpegError as exc:
            raise RenderError(f"background video {self.path}: cannot seek ({exc})") from exc
        self._frames = self._container.decode(self._stream)
        self._cur = None
        self._cur_ms = -1.0
        self._next = None
        self._pull()

    def _pull(self) -> None:
        """Decode the next frame into self._next (None at the end)."""
        try:
            frame = next(self._frames)
        except StopIteration:
            self._next = None
            return
        except av.FFmpegError as exc:
            raise RenderError(f"background video {self.path}: decoding failed ({exc})") from exc
        t = float(frame.time) * 1000.0 if frame.time is not None else self._cur_ms + self._frame_ms
        if self._t0_ms is None:
            self._t0_ms = t
        self._next = (t - self._t0_ms, frame)

    def frame_at(self, t_ms: int) -> tuple[int, VideoPicture]:
        vt = float(max(0, t_ms - self.gap_ms))
        if self.loop_ms:
            vt %= self.loop_ms
        if vt < self._cur_ms or vt - max(self._cur_ms, 0.0) > self.SEEK_AHEAD_MS:
            self._seek(vt)
        while True:
            if self._next is not None and (self._cur is None or self._next[0] <= vt):
                self._cur_ms, self._cur = self._next
                self._cur_index += 1
                self._pull()
                continue
            if self._next is None and self.loop_ms is None:
                # no duration in the metadata: the loop is as long as the frames shown
                self.loop_ms = max(1, math.ceil(self._cur_ms + self._frame_ms))
                if vt >= self.loop_ms:
                    vt %= self.loop_ms
                    self._seek(vt)
                    continue
            break
        assert self._cur is not None
        return self._cur_index, VideoPicture(self._cur)

    def close(self) -> None:
        self._container.close()


Background = Union[SolidBackground, ImageBackground, VideoBackground]


def _is_image(path: Path) -> bool:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:  # unknown suffix: one decodable frame means a still picture
        with av.open(str(path)) as container:
            frames = container.decode(video=0)
            next(frames)
            try:
                next(frames)
            except StopIteration:
                return True
            return False
    except (av.FFmpegError, StopIteration, IndexError, OSError) as exc:
        raise RenderError(f"background {path}: not an image or video PyAV can read ({exc})") from exc


def from_path(path: Path, width: int, height: int, gap_ms: int = 0, dim: float = 0.0) -> Background:
    if not path.is_file():
        raise RenderError(f"background {path}: no such file")
    if _is_image(path):
        return load_image(path, width, height, dim)
    return VideoBackground(path, gap_ms, dim)


def _project_path(project: Project, p: Path | None) -> Path | None:
    if p is None or str(p).startswith("?"):  # Aegisub's "?dummy:" video
        return None
    return p if p.is_absolute() else project.source.parent / p


def background_file(project: Project, settings: RenderSettings) -> Path | None:
    """The image or video file behind the lyrics; None for a colour, or when nothing is named (black).

    A file that is named but missing is an error, never black: a job rendered without the
    background its author named would be called done (docs/folder-protocol.md).
    """
    if settings.background:
        if parse_color(settings.background) is not None:
            return None
        path = Path(settings.background).expanduser()
        if not path.exists() and not path.is_absolute():
            # a job's sidecar names media next to the job file
            beside = project.source.parent / path
            path = beside if beside.exists() else path
        if not path.exists():
            raise RenderError(f"background {brief(settings.background)}: not a colour and no such file")
        return path
    for what, named in (("background video", project.media.video), ("background image", project.media.background)):
        candidate = _project_path(project, named)
        if candidate is None:
            continue
        if not candidate.is_file():
            raise ProjectError(project.source, None, f"{what} {brief(candidate.name)} is missing (looked for {candidate})")
        return candidate
    return None


def check_background(project: Project, settings: RenderSettings) -> None:
    """Fail before any frame when the background file is missing or cannot be decoded
    (its first frame is decoded here, small, on the CPU)."""
    path = background_file(project, settings)
    if path is not None:
        bg = from_path(path, 16, 16)
        if isinstance(bg, VideoBackground):
            bg.close()


def resolve_background(project: Project, settings: RenderSettings, width: int, height: int) -> Background:
    dim = float(settings.background_dim if settings.background_dim is not None else project.render.get("background_dim", 0.0))
    if not 0.0 <= dim <= 1.0:
        raise RenderError(f"background_dim must be between 0 and 1, not {dim}")
    rgb = parse_color(settings.background) if settings.background else None
    if rgb is not None:
        return SolidBackground(rgb)
    path = background_file(project, settings)
    if path is None:
        return SolidBackground((0, 0, 0))
    return from_path(path, width, height, project.media.video_gap, dim)
