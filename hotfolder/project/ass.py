"""ASS/SSA importer: a SubStation file into the project model, with libass's karaoke semantics.

File structure: [Script Info], [Aegisub Project Garbage] and the styles come from pysubs2;
the [Events] section is read here, honouring its ``Format:`` line, because the importer
must know each Dialogue's source line (pysubs2 keeps none) and must read the times as
libass does (``h:mm:ss.cc``; the digits after the dot are centiseconds, as libass's
``sscanf("%d:%d:%d.%d")`` takes them). Comment lines are not shown, so they are skipped.

Event text is tokenised like libass's ``parse_events``/``ass_parse_tags`` (same tag
prefix order, same argument splitting, same "no value = style's value" resets):

- Text conventions in ``Syllable.text`` / ``Run.text``: ``\\N`` becomes ``"\\n"`` (a hard
  break); ``\\n`` becomes ``"\\n"`` in WrapStyle 2 (also after ``\\q2``) and a plain space
  otherwise, exactly as libass turns it into a glyph; ``\\h`` becomes ``"\\u00a0"`` (NBSP);
  ``\\{`` and ``\\}`` become literal braces; a tab becomes a space. So layout only needs
  to break at ``"\\n"`` and not at NBSP. Drawings (``\\p1`` …) are dropped.
- Karaoke: ``\\k \\K \\kf \\ko \\kt`` in centiseconds, fractions accepted, no value means
  100; each tag's value times ten is truncated to whole ms (libass's ``dtoi32``), and
  all sums are then integer ms, so nothing drifts. Several tags before one glyph
  combine as in libass: each ``\\k``-family tag turns the pending duration into a lead-in
  (``\\kf100\\kf100`` = wait 1 s, then fill for 1 s). ``\\kt`` (no value = 0) restarts the
  clock: the next syllable starts at that offset from the line start. ``\\k0`` inside
  a word does not end it but pushes the next word's start (VSFilter quirk).
- A karaoke "syllable" is one libass karaoke word: a piece of text between style-run
  boundaries. libass starts a new run at every karaoke tag with a duration and at every
  change of the glyph style (colour, alpha, font, size, border, shadow, bold, italic,
  scale, spacing, rotation, blur …), and a run without its own ``\\k`` tag is a zero-length
  word of the previous kind that lights when the preceding one ends. This importer keeps
  that: ``{\\kf100}Ka{\\1c&H00FF00&}ra`` gives "Ka" (fill, 0–1 s) and "ra" (fill, lit at 1 s),
  which is what libass shows; the override rides on the run of "ra".
- Text before the first karaoke tag, and lines without karaoke tags, are kind ``"none"``
  spanning the line; consecutive none-pieces form one syllable split into runs.
- ``Run.overrides`` (when a line has any): the style changes in force for that run,
  relative to its base style (``"r"``: a ``\\r`` style name, else the line's style):
  ``"1c".."4c"``: Color (RGB only, a=255); ``"1a".."4a"``: opacity int (255 = opaque);
  ``"fn"``: str; ``"fs"``: float (``\\fs+N``/``\\fs-N`` resolved); ``"b"``: bool, or an int
  weight (>= 100); ``"i" "u" "s"``: bool; ``"bord"``, ``"shad"`` (or ``"xshad"`` and
  ``"yshad"`` when they differ), ``"fscx" "fscy"`` (percent), ``"fsp"``: float. Other tags
  that split runs in libass (blur, rotation, ``\\xbord``…) split syllables the same way but
  are not exported. ``run_style()`` turns a run into the effective Style (so does
  ``render.layout.apply_overrides``).
- Line level, first occurrence wins as in libass: ``\\an`` (and legacy ``\\a``) →
  Line.alignment, ``\\pos`` (``\\move`` counts as positioned and is approximated by its
  start point) → Line.position, ``\\fad(in,out)`` → Line.fade. ``\\fade`` with 7 values,
  ``\\t``, clips, ``\\org`` and unknown tags are ignored (logged at debug level).
"""
from __future__ import annotations

import dataclasses
import logging
import re
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PureWindowsPath, PurePosixPath
from typing import Any

import pysubs2

from hotfolder.errors import ProjectError, brief, clip
from hotfolder.project.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_counts,
    check_span,
    check_syllable_count,
    resolve_media,
)
from hotfolder.project.model import Color, Line, Media, Project, Run, Style, Syllable
from hotfolder.project.textio import read_text

log = logging.getLogger(__name__)

ASS_EVENT_FORMAT = ("Layer", "Start", "End", "Style", "Name", "MarginL", "MarginR", "MarginV", "Effect", "Text")
SSA_EVENT_FORMAT = ("Marked", "Start", "End", "Style", "Name", "MarginL", "MarginR", "MarginV", "Effect", "Text")

BLUR_MAX_RADIUS = 100.0
MAX_BE = 127
INT32_MIN = -(2**31)

# libass's fallback style when a line names a style the file lacks and has no "Default".
LIBASS_DEFAULT_STYLE = Style(
    name="Default", font="Arial", size=18.0, primary=Color(255, 255, 255), secondary=Color(0, 255, 255),
    outline_colour=Color(0, 0, 0), back=Color(0, 0, 0, 127), outline=2.0, shadow=3.0, alignment=2,
    margin_l=20, margin_r=20, margin_v=20,
)

_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*$")
_TIMESTAMP = re.compile(r"\s*([+-]?\d+):\s*([+-]?\d+):\s*([+-]?\d+)\.\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")
_HEX_PREFIX = re.compile(r"\s*([+-]?[0-9A-Fa-f]+)")

# Tag names in libass's matching order (prefix match, first wins); True = "complex" tag
# whose value comes only from parentheses.
_TAGS: tuple[tuple[str, bool], ...] = (
    ("xbord", False), ("ybord", False), ("xshad", False), ("yshad", False), ("fax", False), ("fay", False),
    ("iclip", True), ("blur", False), ("fscx", False), ("fscy", False), ("fsc", False), ("fsp", False),
    ("fs", False), ("bord", False), ("move", True), ("frx", False), ("fry", False), ("frz", False),
    ("fr", False), ("fn", False), ("alpha", False), ("an", False), ("a", False), ("pos", True),
    ("fade", True), ("fad", True), ("org", True), ("t", True), ("clip", True), ("c", False), ("1c", False),
    ("2c", False), ("3c", False), ("4c", False), ("1a", False), ("2a", False), ("3a", False), ("4a", False),
    ("r", False), ("be", False), ("b", False), ("i", False), ("kt", False), ("kf", False), ("K", False),
    ("ko", False), ("k", False), ("shad", False), ("s", False), ("u", False), ("pbo", False), ("p", False),
    ("q", False), ("fe", False),
)
_KARAOKE_KIND = {"k": "instant", "kf": "fill", "K": "fill", "ko": "outline"}
# Glyph-state keys exported in Run.overrides (the ones the renderer supports).
_EXPORTED = ("1c", "2c", "3c", "4c", "1a", "2a", "3a", "4a", "fn", "fs", "b", "i", "u", "s", "bord", "shad")
_COLOUR_ATTRS = (("1", "primary"), ("2", "secondary"), ("3", "outline_colour"), ("4", "back"))


# ---------------------------------------------------------------- small libass-like number readers

def _strtod(s: str) -> Fraction:
    """libass's argtod: the longest decimal prefix, exactly; 0 when there is none."""
    m = _FLOAT_PREFIX.match(s)
    return Fraction(m.group(1)) if m else Fraction(0)


def _strtoi(s: str) -> int:
    """libass's argtoi32: the integer prefix (base 10), clamped to int32; 0 when there is none."""
    m = _INT_PREFIX.match(s)
    if not m:
        return 0
    return max(INT32_MIN, min(2**31 - 1, int(m.group(1))))


def _hex(s: str) -> int:
    """libass's parse_color_tag/parse_alpha_tag: skip '&' and 'H', read hex, as int32 bits."""
    s = s.lstrip("&H")
    m = _HEX_PREFIX.match(s)
    if not m:
        return 0
    v = int(m.group(1), 16)
    v = max(INT32_MIN, min(2**31 - 1, v))
    return v & 0xFFFFFFFF


def _cs_to_ms(value: Fraction) -> int:
    """Centiseconds to whole ms, truncated toward zero like libass's dtoi32(val * 10)."""
    ms = value * 10
    if ms <= INT32_MIN or ms >= 2**31:
        return INT32_MIN
    return int(ms)  # int() of a Fraction truncates toward zero


def parse_timestamp(s: str) -> int | None:
    """An ASS time ``h:mm:ss.cc`` as libass reads it (the fraction counts centiseconds)."""
    m = _TIMESTAMP.match(s)
    if not m:
        return None
    h, mi, se, cs = (int(g) for g in m.groups())
    return ((h * 60 + mi) * 60 + se) * 1000 + cs * 10


# ---------------------------------------------------------------- styles

def _glyph_state(style: Style) -> dict[str, Any]:
    """The per-glyph state libass compares to split style runs, initialised from a style."""
    return {
        "1c": (style.primary.r, style.primary.g, style.primary.b), "1a": style.primary.a,
        "2c": (style.secondary.r, style.secondary.g, style.secondary.b), "2a": style.secondary.a,
        "3c": (style.outline_colour.r, style.outline_colour.g, style.outline_colour.b), "3a": style.outline_colour.a,
        "4c": (style.back.r, style.back.g, style.back.b), "4a": style.back.a,
        "fn": style.font, "fs": float(style.size),
        "b": -1 if style.bold else 0, "i": -1 if style.italic else 0,
        "u": bool(style.underline), "s": bool(style.strikeout),
        "xbord": float(style.outline), "ybord": float(style.outline),
        "xshad": float(style.shadow), "yshad": float(style.shadow),
        "fscx": float(style.scale_x), "fscy": float(style.scale_y), "fsp": float(style.spacing),
        "frx": 0.0, "fry": 0.0, "frz": float(style.angle), "fax": 0.0, "fay": 0.0, "blur": 0.0, "be": 0,
    }


def _export(state: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Run.overrides: the supported state that differs from the base style's."""
    out: dict[str, Any] = {}
    for key in ("1c", "2c", "3c", "4c"):
        if state[key] != base[key]:
            out[key] = Color(*state[key])
    for key in ("1a", "2a", "3a", "4a", "fn", "fs", "u", "s"):
        if state[key] != base[key]:
            out[key] = state[key]
    for key in ("b", "i"):
        if state[key] != base[key]:
            v = state[key]
            out[key] = v if (key == "b" and v >= 100) else bool(v)
    for key in ("fscx", "fscy", "fsp"):
        if state[key] != base[key]:
            out[key] = state[key]
    if state["xbord"] != base["xbord"]:
        out["bord"] = state["xbord"]
    if state["xshad"] == state["yshad"]:
        if state["xshad"] != base["xshad"]:
            out["shad"] = state["xshad"]
    else:
        out["xshad"], out["yshad"] = state["xshad"], state["yshad"]
    return out


def run_style(styles: dict[str, Style], line_style: str, overrides: dict[str, Any]) -> Style:
    """The effective Style of a run: its base style (``"r"`` or the line's) with its overrides applied."""
    base = styles.get(overrides.get("r", line_style)) or styles.get(line_style) or LIBASS_DEFAULT_STYLE
    changes: dict[str, Any] = {}
    for n, attr in _COLOUR_ATTRS:
        c: Color = getattr(base, attr)
        rgb = overrides.get(f"{n}c", c)
        alpha = overrides.get(f"{n}a", c.a)
        new = Color(rgb.r, rgb.g, rgb.b, alpha)
        if new != c:
            changes[attr] = new
    if "fn" in overrides:
        changes["font"] = overrides["fn"]
    if "fs" in overrides:
        changes["size"] = overrides["fs"]
    if "b" in overrides:
        b = overrides["b"]
        changes["bold"] = b if isinstance(b, bool) else b >= 600
    if "i" in overrides:
        changes["italic"] = bool(overrides["i"])
    if "u" in overrides:
        changes["underline"] = bool(overrides["u"])
    if "s" in overrides:
        changes["strikeout"] = bool(overrides["s"])
    if "bord" in overrides:
        changes["outline"] = overrides["bord"]
    if "shad" in overrides:
        changes["shadow"] = overrides["shad"]
    if "xshad" in overrides:
        changes["shadow"] = overrides["xshad"]  # Style has one shadow offset
    for key, attr in (("fscx", "scale_x"), ("fscy", "scale_y"), ("fsp", "spacing")):
        if key in overrides:
            changes[attr] = overrides[key]
    return dataclasses.replace(base, **changes) if changes else base


def _style_name(name: str) -> str:
    """Style names as libass looks them up: leading '*' dropped, "Default" in any case normalised."""
    name = name.strip().lstrip("*")
    return "Default" if name.lower() == "default" else name


def _to_color(c: pysubs2.Color) -> Color:
    return Color(c.r, c.g, c.b, 255 - c.a)


def _convert_style(name: str, s: pysubs2.SSAStyle) -> Style:
    return Style(
        name=name, font=s.fontname, size=float(s.fontsize), bold=bool(s.bold), italic=bool(s.italic),
        underline=bool(s.underline), strikeout=bool(s.strikeout),
        primary=_to_color(s.primarycolor), secondary=_to_color(s.secondarycolor),
        outline_colour=_to_color(s.outlinecolor), back=_to_color(s.backcolor),
        outline=float(s.outline), shadow=float(s.shadow), alignment=int(s.alignment),
        margin_l=int(s.marginl), margin_r=int(s.marginr), margin_v=int(s.marginv),
        scale_x=float(s.scalex), scale_y=float(s.scaley), spacing=float(s.spacing), angle=float(s.angle),
        border_style=int(s.borderstyle),
    )


# ---------------------------------------------------------------- event text

@dataclass
class _Glyph:
    ch: str                    # the character ("" for a drawing)
    effect: str | None         # "k", "kf", "K", "ko" or None
    timing: int                # ms
    skip: int                  # ms
    reset: bool                # a \kt came before this glyph
    key: tuple                 # run-splitting glyph state
    state: dict[str, Any]
    base: str                  # base style name (\r)
    drawing: bool = False


@dataclass
class EventText:
    """One event's text parsed: syllables with times relative to the line start, runs, line tags."""

    syllables: list[Syllable]
    runs: list[Run]
    alignment: int | None = None
    position: tuple[float, float] | None = None
    fade: tuple[int, int] | None = None


@dataclass
class _Word:
    text: str
    kind: str
    start: int
    end: int
    state: dict[str, Any]
    base: str


@dataclass
class _TextParser:
    text: str
    style: str
    styles: dict[str, Style]
    wrap_style: int = 0
    glyphs: list[_Glyph] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.line_style = self.styles.get(self.style) or LIBASS_DEFAULT_STYLE
        self.event_state = _glyph_state(self.line_style)
        self.base = self.style
        self.state = dict(self.event_state)
        self.effect: str | None = None
        self.timing = 0
        self.skip = 0
        self.reset = False
        self.drawing_scale = 0
        self.cur_wrap = self.wrap_style
        self.alignment: int | None = None
        self.alignment_set = False
        self.position: tuple[float, float] | None = None
        self.fade: tuple[int, int] | None = None
        self.fade_set = False

    # -- glyphs
    def run(self) -> EventText:
        s, n, i = self.text, len(self.text), 0
        while i < n:
            c = s[i]
            if c == "{":
                j = s.find("}", i + 1)
                if j != -1:
                    self._parse_tags(i + 1, j)
                    i = j + 1
                    continue
            if self.drawing_scale > 0:
                q = i + 1 if c == "{" else i
                while q < n and s[q] != "{":
                    q += 1
                self._emit("", drawing=True)
                i = q
                continue
            if c == "\t":
                ch, i = " ", i + 1
            elif c == "\\" and i + 1 < n and s[i + 1] in "Nnh{}":
                nxt = s[i + 1]
                ch = {"N": "\n", "h": "\u00a0", "{": "{", "}": "}"}.get(nxt) or ("\n" if self.cur_wrap == 2 else " ")
                i += 2
            else:
                ch, i = c, i + 1
            self._emit(ch)
        return self._build()

    def _emit(self, ch: str, drawing: bool = False) -> None:
        key = tuple(self.state.values())
        self.glyphs.append(_Glyph(ch, self.effect, self.timing, self.skip, self.reset, key,
                                  dict(self.state), self.base, drawing))
        self.effect, self.timing, self.skip, self.reset = None, 0, 0, False

    # -- override blocks
    def _parse_tags(self, p: int, end: int) -> None:
        s = self.text
        while p < end:
            while p < end and s[p] != "\\":
                p += 1
            if p >= end:
                break
            p += 1
            while p < end and s[p] in " \t":
                p += 1
            q = p
            while q < end and s[q] not in "(\\":
                q += 1
            if q == p:
                continue
            name_end = q
            args: list[str] = []

            def push(a: int, b: int) -> None:
                if len(args) <= 7:
                    while b > a and s[b - 1] in " \t":
                        b -= 1
                    if b > a:
                        args.append(s[a:b])

            if q < end and s[q] == "(":
                q += 1
                while True:
                    while q < end and s[q] in " \t":
                        q += 1
                    r = q
                    while r < end and s[r] not in ",\\)":
                        r += 1
                    if r < end and s[r] == ",":
                        push(q, r)
                        q = r + 1
                    else:
                        if r < end and s[r] == "\\":
                            while r < end and s[r] != ")":
                                r += 1
                        push(q, r)
                        q = r + 1 if r < end else r
                        break
            for name, complex_ in _TAGS:
                if name_end - p >= len(name) and s.startswith(name, p):
                    if not complex_:
                        push(p + len(name), name_end)
                    self._tag(name, args)
                    break
            else:
                log.debug("unknown tag \\%s ignored", s[p:name_end])
            p = q

    def _tag(self, name: str, args: list[str]) -> None:  # noqa: C901 - one branch per tag, as in libass
        st, ev = self.state, self.event_state
        arg = args[0] if args else ""
        has = bool(args)
        if name in ("xbord", "ybord"):
            st[name] = max(0.0, float(_strtod(arg))) if has else float(self.line_style.outline)
        elif name in ("xshad", "yshad"):
            st[name] = float(_strtod(arg)) if has else float(self.line_style.shadow)
        elif name in ("fax", "fay", "frx", "fry"):
            st[name] = float(_strtod(arg)) if has else 0.0
        elif name == "blur":
            st["blur"] = min(BLUR_MAX_RADIUS, max(0.0, float(_strtod(arg)))) if has else 0.0
        elif name in ("fscx", "fscy"):
            default = self.line_style.scale_x if name == "fscx" else self.line_style.scale_y
            st[name] = max(0.0, float(_strtod(arg))) if has else float(default)
        elif name == "fsc":
            st["fscx"], st["fscy"] = float(self.line_style.scale_x), float(self.line_style.scale_y)
        elif name == "fsp":
            st["fsp"] = float(_strtod(arg)) if has else float(self.line_style.spacing)
        elif name == "fs":
            val = 0.0
            if has:
                val = float(_strtod(arg))
                if arg[0] in "+-":
                    val = st["fs"] * (1 + val / 10)
            st["fs"] = val if val > 0 else float(self.line_style.size)
        elif name == "bord":
            v = max(0.0, float(_strtod(arg))) if has else float(self.line_style.outline)
            st["xbord"] = st["ybord"] = v
        elif name == "shad":
            v = max(0.0, float(_strtod(arg))) if has else float(self.line_style.shadow)
            st["xshad"] = st["yshad"] = v
        elif name in ("frz", "fr"):
            st["frz"] = float(_strtod(arg)) if has else float(self.line_style.angle)
        elif name == "fn":
            st["fn"] = arg.lstrip(" \t") if has and arg != "0" else self.line_style.font
        elif name == "alpha":
            for n in "1234":
                st[f"{n}a"] = 255 - (_hex(arg) & 0xFF) if has else ev[f"{n}a"]
        elif name in ("an", "a"):
            if not self.alignment_set:
                val = _strtoi(arg)
                if name == "an":
                    self.alignment = val if 1 <= val <= 9 else None
                elif 1 <= val <= 11:
                    legacy = 5 if (val & 3) == 0 else val
                    # SSA numbering: 1-3 bottom, 5-7 top, 9-11 middle.
                    self.alignment = {1: 1, 2: 2, 3: 3, 5: 7, 6: 8, 7: 9, 9: 4, 10: 5, 11: 6}[legacy]
                else:
                    self.alignment = None
                self.alignment_set = True
        elif name in ("pos", "move"):
            if (name == "pos" and len(args) == 2) or (name == "move" and len(args) in (4, 6)):
                if self.position is None:
                    self.position = (float(_strtod(args[0])), float(_strtod(args[1])))
                    if name == "move":
                        log.debug("\\move approximated by its start point")
        elif name in ("fade", "fad"):
            if len(args) in (2, 7) and not self.fade_set:
                self.fade_set = True
                if len(args) == 2:
                    self.fade = (_strtoi(args[0]), _strtoi(args[1]))
                else:
                    log.debug("\\fade with 7 values is not supported; ignored")
        elif name in ("c", "1c", "2c", "3c", "4c"):
            n = "1" if name == "c" else name[0]
            if has:
                v = _hex(arg)
                st[f"{n}c"] = (v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF)
            else:
                st[f"{n}c"] = ev[f"{n}c"]
        elif name in ("1a", "2a", "3a", "4a"):
            st[name] = 255 - (_hex(arg) & 0xFF) if has else ev[name]
        elif name == "r":
            target = self.style
            if has:
                found = next((n for n in (arg, _style_name(arg)) if n in self.styles), None)
                if found is None:
                    log.debug("\\r names unknown style %r; reset to the line's style", arg)
                else:
                    target = found
            self.base = target
            self.state = _glyph_state(self.styles.get(target) or self.line_style)
        elif name == "be":
            st["be"] = min(MAX_BE, max(0, int(float(_strtod(arg)) + 0.5))) if has else 0
        elif name == "b":
            val = _strtoi(arg)
            st["b"] = val if has and (val in (0, 1) or val >= 100) else ev["b"]
        elif name in ("i", "u", "s"):
            val = _strtoi(arg)
            if has and val in (0, 1):
                st[name] = val if name == "i" else bool(val)
            else:
                st[name] = ev[name]
        elif name == "kt":
            self.skip = _cs_to_ms(_strtod(arg)) if has else 0
            self.timing = 0
            self.reset = True
        elif name in ("kf", "K", "ko", "k"):
            self.effect = name
            self.skip += self.timing
            self.timing = _cs_to_ms(_strtod(arg) if has else Fraction(100))
        elif name == "p":
            self.drawing_scale = max(0, _strtoi(arg))
        elif name == "q":
            val = _strtoi(arg)
            self.cur_wrap = val if has and 0 <= val <= 3 else self.wrap_style
        else:
            log.debug("tag \\%s is not supported; ignored", name)

    # -- karaoke words (libass's split_style_runs + ass_process_karaoke_effects)
    def _words(self) -> list[_Word]:
        g = self.glyphs
        if not g:
            return []
        new_run = [True] * len(g)
        last_effect = g[0].effect
        for i in range(1, len(g)):
            e = g[i].effect
            new_run[i] = bool(
                g[i].timing != 0
                or (e is not None and _KARAOKE_KIND[e] != _KARAOKE_KIND.get(last_effect or ""))
                or g[i].drawing or g[i - 1].drawing
                or g[i].key != g[i - 1].key
            )
            if e is not None:
                last_effect = e
        words: list[_Word] = []
        timing = skip_timing = 0
        effect: str | None = None
        last: int | None = None
        has_reset = False
        for i in range(len(g) + 1):
            if i < len(g) and not new_run[i]:
                if g[i].reset:
                    has_reset = True
                    skip_timing = 0
                skip_timing += g[i].skip
                continue
            start, last = last, i
            if start is None:
                continue
            first = g[start]
            text = "".join(x.ch for x in g[start:i])
            if first.effect is not None:
                effect = first.effect
            if effect is None:
                words.append(_Word(text, "none", 0, 0, first.state, first.base))
                continue
            if first.reset:
                timing = 0
            tm_start = timing + first.skip
            tm_end = tm_start + first.timing
            timing = (0 if has_reset else tm_end) + skip_timing
            skip_timing = 0
            has_reset = False
            words.append(_Word(text, _KARAOKE_KIND[effect], tm_start, max(tm_start, tm_end), first.state, first.base))
        return words

    def _build(self) -> EventText:
        syllables: list[Syllable] = []
        runs: list[Run] = []
        any_override = False
        for w in self._words():
            if not w.text:
                continue  # a drawing: it took part in the timing, it is not shown
            base_state = _glyph_state(self.styles.get(w.base) or self.line_style)
            ov = _export(w.state, base_state)
            if w.base != self.style:
                ov["r"] = w.base
            any_override = any_override or bool(ov)
            merge = w.kind == "none" and syllables and syllables[-1].kind == "none"
            if merge:
                syllables[-1].text += w.text
            else:
                syllables.append(Syllable(w.text, w.start, w.end, w.kind))  # type: ignore[arg-type]
            runs.append(Run(w.text, len(syllables) - 1, ov))
        if not any_override and len(runs) == len(syllables):
            runs = []
        return EventText(syllables, runs, self.alignment, self.position, self.fade)


def parse_event_text(text: str, style: str, styles: dict[str, Style], wrap_style: int = 0) -> EventText:
    """Parse one Dialogue's text. Syllable times are ms relative to the line start;
    "none" syllables come back as (0, 0) and are given the line's span by the caller."""
    return _TextParser(text, style, styles, wrap_style).run()


# ---------------------------------------------------------------- the file

@dataclass
class _Section:
    name: str                  # lower-case, without brackets
    header_line: int
    lines: list[tuple[int, str]] = field(default_factory=list)


def _sections(lines: list[str]) -> list[_Section]:
    out = [_Section("", 0)]
    for no, line in enumerate(lines, 1):
        m = _SECTION.match(line)
        if m:
            out.append(_Section(m.group(1).strip().lower(), no))
        else:
            out[-1].lines.append((no, line))
    return out


def _pysubs2_file(path: Path, sections: list[_Section], raw_lines: list[str], fmt: str) -> pysubs2.SSAFile:
    """pysubs2 over everything but the events (read here), line numbers preserved."""
    kept = [""] * len(raw_lines)
    for sec in sections:
        if sec.name == "events":
            continue
        if sec.header_line:
            kept[sec.header_line - 1] = raw_lines[sec.header_line - 1]
        for no, line in sec.lines:
            if not line.lstrip().startswith(("Dialogue:", "Comment:")):
                kept[no - 1] = line
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            subs = pysubs2.SSAFile.from_string("\n".join(kept), format_=fmt)
        except Exception as exc:  # pysubs2 raises ValueError & co. without a line: find the line
            raise ProjectError(path, _bad_style_line(sections, fmt), f"cannot read styles: {clip(str(exc), 120)}") from None
    for w in caught:
        log.warning("%s: %s", path, w.message)
    return subs


def _bad_style_line(sections: list[_Section], fmt: str) -> int | None:
    header = "[V4+ Styles]" if fmt == "ass" else "[V4 Styles]"
    for sec in sections:
        for no, line in sec.lines:
            if line.lstrip().startswith("Style:"):
                try:
                    pysubs2.SSAFile.from_string(f"{header}\n{line.strip()}", format_=fmt)
                except Exception:
                    return no
    return None


def _line_of(sections: list[_Section], names: tuple[str, ...], key: str) -> int | None:
    for sec in sections:
        if sec.name in names:
            for no, line in sec.lines:
                if line.strip().lower().startswith(key.lower() + ":"):
                    return no
    return None


def _media_ref(path: Path, ref: str, what: str, line: int | None, limits: Limits) -> Path:
    """Resolve an Aegisub media reference. Aegisub writes the absolute path the file had on
    the author's machine; it is read as "the file of that name next to the project" (never
    outside it), so the project still opens and a missing file is reported by name when
    it is validated or rendered."""
    ref = ref.strip()
    win = PureWindowsPath(ref)
    if (PurePosixPath(ref).is_absolute() or win.is_absolute() or win.drive) and win.name not in ("", ".", ".."):
        local = resolve_media(path, win.name, what, line, limits)  # checked (length, links) before it is looked at
        if not local.is_file():
            log.warning("%s:%s: %s %s is not here; expecting %s next to the project", path, line, what,
                        brief(ref), brief(win.name))
        return local
    return resolve_media(path, ref, what, line, limits)


def _media(path: Path, subs: pysubs2.SSAFile, sections: list[_Section], limits: Limits) -> Media:
    media = Media()

    def get(key: str) -> tuple[str | None, int | None]:
        for store, sec in ((subs.aegisub_project, "aegisub project garbage"), (subs.info, "script info")):
            if store.get(key, "").strip():
                return store[key].strip(), _line_of(sections, (sec,), key)
        return None, None

    video, vline = get("Video File")
    if video and not video.startswith("?dummy"):
        media.video = _media_ref(path, video, "Video File", vline, limits)
    audio, aline = get("Audio File")
    if audio == "?video":
        media.audio = media.video
    elif audio and not audio.startswith("?dummy"):
        media.audio = _media_ref(path, audio, "Audio File", aline, limits)
    return media


def _play_res(info: dict[str, str]) -> tuple[int, int]:
    """PlayResX/Y with libass's defaults for missing (or non-positive) values."""
    x, y = _strtoi(info.get("PlayResX", "")), _strtoi(info.get("PlayResY", ""))
    if x > 0 and y > 0:
        return x, y
    if x <= 0 and y <= 0:
        return 384, 288
    if y <= 0:
        return x, 1024 if x == 1280 else max(1, x * 3 // 4)
    return (1280 if y == 1024 else max(1, y * 4 // 3)), y


def _parse_bool(s: str) -> bool:
    s = s.strip()
    return s[:3].lower() == "yes" or _strtoi(s) > 0


def load(path: Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    path = Path(path)
    text = read_text(path, limits)
    return parse(text, path, limits)


def parse(text: str, path: Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Parse ASS/SSA text (``path`` names the file in errors and anchors media)."""
    raw_lines = text.split("\n")
    sections = _sections(raw_lines)
    names = {s.name for s in sections}
    fmt = "ssa" if "v4 styles" in names and "v4+ styles" not in names else "ass"
    if not names & {"script info", "events", "v4+ styles", "v4 styles"}:
        raise ProjectError(path, None, "not an ASS/SSA file: no [Script Info], [V4+ Styles] or [Events] section")
    subs = _pysubs2_file(path, sections, raw_lines, fmt)

    styles: dict[str, Style] = {}
    for name, s in subs.styles.items():
        n = _style_name(name)
        styles[n] = _convert_style(n, s)
    if "Default" not in styles:
        styles["Default"] = dataclasses.replace(LIBASS_DEFAULT_STYLE)

    info = subs.info
    wrap_style = _strtoi(info.get("WrapStyle", "0"))
    wrap_style = wrap_style if 0 <= wrap_style <= 3 else 0
    title = info.get("Title", "").strip()
    if title == "Default Aegisub file":
        title = ""  # Aegisub's placeholder, not a song title

    lines: list[Line] = []
    event_format = list(ASS_EVENT_FORMAT if fmt == "ass" else SSA_EVENT_FORMAT)
    for sec in sections:
        if sec.name != "events":
            continue
        for no, raw in sec.lines:
            s = raw.lstrip()
            if s.startswith("Format:"):
                event_format = [f.strip() for f in s[7:].split(",")]
                continue
            if not s.startswith("Dialogue:"):
                continue  # Comment:, blank lines, anything else
            line = _event(path, no, s[9:].lstrip(), event_format, styles, wrap_style, limits)
            if line is not None:
                lines.append(line)
    check_counts(len(lines), path, limits)

    return Project(
        format="ass", source=path, title=title, artist="", lines=lines, styles=styles,
        media=_media(path, subs, sections, limits), play_res=_play_res(info), wrap_style=wrap_style,
        scaled_border_and_shadow=_parse_bool(info["ScaledBorderAndShadow"]) if "ScaledBorderAndShadow" in info else True,
        display=None,
    )


def _event(path: Path, no: int, rest: str, fmt: list[str], styles: dict[str, Style], wrap_style: int,
           limits: Limits) -> Line | None:
    parts = rest.split(",", len(fmt) - 1)
    if len(parts) < len(fmt):
        log.warning("%s:%d: Dialogue line has %d fields, the format has %d; skipped", path, no, len(parts), len(fmt))
        return None
    fields: dict[str, str] = {}
    for name, value in zip(fmt, parts):
        fields[name.lower()] = value if name.lower() == "text" else value.strip()
    times = []
    for key in ("start", "end"):
        ms = parse_timestamp(fields.get(key, ""))
        if ms is None:
            raise ProjectError(path, no, f"bad {key} time {brief(fields.get(key, ''))}; expected h:mm:ss.cc")
        times.append(ms)
    start, end = times
    check_span(start, end, path, no, "line", limits)
    style = _style_name(fields.get("style", "Default"))
    if style not in styles:
        log.debug("%s:%d: unknown style %r; using Default", path, no, style)
        style = "Default"
    parsed = parse_event_text(fields.get("text", ""), style, styles, wrap_style)
    if not parsed.syllables:
        return None
    check_syllable_count(len(parsed.syllables), path, no, limits)
    syllables = []
    for syl in parsed.syllables:
        if syl.kind == "none":
            s0, s1 = start, end
        else:
            s0 = min(max(0, start + syl.start), limits.max_time_ms)
            s1 = min(max(s0, start + syl.end), limits.max_time_ms)
        syllables.append(Syllable(syl.text, s0, s1, syl.kind))
    margins = tuple(_strtoi(fields.get(k, "0")) for k in ("marginl", "marginr", "marginv"))
    name = fields.get("name", "").strip()
    return Line(
        start=start, end=end, syllables=syllables, style=style, singer=name or None,
        position=parsed.position, alignment=parsed.alignment, fade=parsed.fade,
        layer=_strtoi(fields.get("layer", "0")), margins=margins if any(margins) else None,  # type: ignore[arg-type]
        runs=parsed.runs, source_line=no,
    )
