"""The interface between text layout (CPU: shaping, glyphs, positions) and the GL compositor.

Layout turns an ASS-like Project into `EventImage`s: coverage bitmaps placed at integer
output pixels, in draw order, with the karaoke parameters each needs. The compositor
draws them over the background; karaoke colour switches and wipes are evaluated per frame
(in the shader) from the frame time, so a layout stays valid for the whole time its
event is on screen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Literal, Protocol

import numpy as np

from hotfolder.project.model import Color

QuadPart = Literal["shadow", "outline", "fill"]
KaraokeKind = Literal["none", "instant", "fill", "outline"]


def frame_time_ms(index: int, fps: int) -> int:
    """The time (ms) frame `index` shows: truncated, exactly as ffmpeg hands times to libass."""
    return index * 1000 // fps


def frame_count(duration_ms: int, fps: int) -> int:
    """Frames needed to cover `duration_ms` (the last frame starts before the end)."""
    return max(1, -(-duration_ms * fps // 1000))


@dataclass(eq=False)
class GlyphImage:
    """A coverage bitmap (0..255), shared by every quad that shows it; `key` identifies it
    for the compositor's atlas (same key = same pixels)."""

    key: Hashable
    pixels: np.ndarray  # (h, w) uint8


@dataclass
class Quad:
    image: GlyphImage
    x: int                   # left of the bitmap, output pixels
    y: int                   # top of the bitmap, output pixels (y grows down)
    part: QuadPart
    color: Color             # colour once sung (fill: PrimaryColour) or the only colour
    color_before: Color      # fill before it is sung (SecondaryColour); == color otherwise
    karaoke: KaraokeKind = "none"
    k_start: int = 0         # ms, absolute
    k_end: int = 0           # ms, absolute
    wipe_x0: float = 0.0     # \kf wipe runs from x0 to x1 (output pixels) over k_start..k_end
    wipe_x1: float = 0.0


@dataclass
class EventImage:
    start: int               # visible while start <= t < end (ms)
    end: int
    quads: list[Quad] = field(default_factory=list)
    # \fade(a1, a2, a3, t1, t2, t3, t4) in libass terms: alphas 0..255 (255 = transparent),
    # times in ms relative to `start`. \fad(in, out) maps to (255, 0, 255, 0, in, dur-out, dur).
    fade: tuple[int, int, int, int, int, int, int] | None = None


class Layout(Protocol):
    """What the compositor needs from layout."""

    def events_at(self, t_ms: int) -> list[EventImage]:
        """The events visible at t_ms, in draw order (later ones on top)."""
        ...
