"""The project model: plain data, no I/O.

Every importer (kproj, ass, lrc, ultrastar) produces a `Project`. Times are integer
milliseconds from the start of the song; colours are RGBA with alpha = opacity
(255 opaque), i.e. ASS alpha inverted at import.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SyllableKind = Literal["fill", "instant", "outline", "none"]
ProjectFormat = Literal["kproj", "ass", "lrc", "ultrastar"]


@dataclass(frozen=True)
class Color:
    r: int
    g: int
    b: int
    a: int = 255  # opacity: 255 opaque, 0 invisible

    def hex(self) -> str:
        return f"#{self.r:02x}{self.g:02x}{self.b:02x}{self.a:02x}"


WHITE = Color(255, 255, 255)
BLACK = Color(0, 0, 0)


@dataclass
class Style:
    name: str = "Default"
    font: str = "DejaVu Sans"
    size: float = 48.0
    bold: bool = False
    italic: bool = False
    underline: bool = False
    strikeout: bool = False
    primary: Color = WHITE            # sung / highlighted colour
    secondary: Color = Color(255, 0, 0)  # not yet sung (ASS SecondaryColour)
    outline_colour: Color = BLACK
    back: Color = Color(0, 0, 0, 128)  # shadow
    outline: float = 2.0              # border width in script pixels
    shadow: float = 0.0               # shadow offset in script pixels
    alignment: int = 2                # numpad: 1-3 bottom, 4-6 middle, 7-9 top
    margin_l: int = 10
    margin_r: int = 10
    margin_v: int = 10
    scale_x: float = 100.0
    scale_y: float = 100.0
    spacing: float = 0.0
    angle: float = 0.0
    border_style: int = 1             # 1 outline+shadow, 3 opaque box


@dataclass
class Syllable:
    text: str
    start: int  # ms, absolute
    end: int    # ms, absolute
    kind: SyllableKind = "fill"


@dataclass
class Run:
    """A piece of a line's text with the inline style overrides in force for it.

    `syllable` indexes `Line.syllables` (a syllable may be split into several runs by
    override tags; timing stays with the syllable). `overrides` holds ASS override tags
    in effect for this run by tag name without backslash, parsed to values, e.g.
    {"1c": Color(...), "fs": 40.0, "b": True, "bord": 3.0, "fn": "Arial", "r": "Style"}.
    """

    text: str
    syllable: int
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Line:
    start: int
    end: int
    syllables: list[Syllable]
    style: str = "Default"
    singer: str | None = None       # duets: "P1"/"P2" or a name
    position: tuple[float, float] | None = None  # \pos in script pixels
    alignment: int | None = None    # \an override
    fade: tuple[int, int] | None = None  # \fad(in_ms, out_ms)
    layer: int = 0
    margins: tuple[int, int, int] | None = None  # per-line L, R, V overrides (0 = style's)
    runs: list[Run] = field(default_factory=list)  # empty: one run per syllable, no overrides
    source_line: int | None = None  # line number in the source file, for messages

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.syllables)

    def effective_runs(self) -> list[Run]:
        return self.runs or [Run(s.text, i) for i, s in enumerate(self.syllables)]


@dataclass
class Media:
    audio: Path | None = None
    background: Path | None = None  # image
    video: Path | None = None       # background video
    video_gap: int = 0              # ms: video starts this much after audio time 0 (may be <0)
    fonts_dir: Path | None = None


@dataclass
class Display:
    """How a plain karaoke project (kproj, lrc, ultrastar) is presented; ASS files ignore this."""

    title_card: bool = True
    title_card_seconds: float = 4.0
    next_line: bool = True          # show the upcoming line under the current one
    countdown: bool = True          # countdown before a line after a long gap
    countdown_gap_seconds: float = 8.0
    fade_ms: int = 300
    lead_in_ms: int = 1500          # a line appears this long before it is sung


@dataclass
class Project:
    format: ProjectFormat
    source: Path
    title: str = ""
    artist: str = ""
    lines: list[Line] = field(default_factory=list)
    styles: dict[str, Style] = field(default_factory=lambda: {"Default": Style()})
    media: Media = field(default_factory=Media)
    play_res: tuple[int, int] | None = None  # ASS PlayResX/Y; None: the output size
    wrap_style: int = 0                      # ASS WrapStyle
    scaled_border_and_shadow: bool = True
    display: Display | None = None           # None for ASS (rendered as libass does)
    render: dict[str, Any] = field(default_factory=dict)  # render settings from the project

    @property
    def duration(self) -> int:
        """End of the last line in ms (0 without lines)."""
        return max((ln.end for ln in self.lines), default=0)

    def sorted_lines(self) -> list[Line]:
        return sorted(self.lines, key=lambda ln: (ln.start, ln.end))
