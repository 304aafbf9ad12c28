"""The native project format: `*.kproj`, YAML with `version: 1` (see docs/project-format.md).

The file is composed into a YAML node tree by `hotfolder.boundedyaml` (which bounds its depth,
alias expansion, tags and value sizes before anything is read) and read straight from the
nodes, never constructed into Python objects: every value keeps its line for messages, and
times are parsed from the scalar's own text (so `1.1` is exactly 1100 ms, never a float).
"""
from __future__ import annotations

import os
import re
from dataclasses import fields, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hotfolder import boundedyaml
from hotfolder.boundedyaml import TAG as _Y
from hotfolder.boundedyaml import line_of as _line
from hotfolder.errors import ProjectError, brief, clip
from hotfolder.project.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_counts,
    check_span,
    check_syllable_count,
    check_time,
    resolve_media,
)
from hotfolder.project.model import Color, Display, Line, Media, Project, Style, Syllable
from hotfolder.project.textio import read_text
from hotfolder.settings import MAX_TAIL_MS, OPERATOR_ONLY, RenderSettings

VERSION = 1
MAX_MERGE_DEPTH = 8

_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
KINDS = ("fill", "instant", "outline", "none")

TOP_KEYS = ("version", "title", "artist", "media", "styles", "display", "render", "play_res", "lines", "lyrics")
MEDIA_KEYS = ("audio", "background", "video", "video_gap", "fonts")
STYLE_KEYS = ("font", "size", "bold", "italic", "underline", "strikeout", "primary", "secondary",
              "outline_colour", "back", "outline", "shadow", "alignment", "margin_l", "margin_r",
              "margin_v", "margins", "scale_x", "scale_y", "spacing", "angle", "border_style")
DISPLAY_KEYS = ("title_card", "title_card_duration", "next_line", "countdown", "countdown_gap", "fade", "lead_in")
LINE_KEYS = ("start", "end", "singer", "style", "kind", "syllables", "text", "times", "position",
             "alignment", "fade", "layer", "margins")
SYLLABLE_KEYS = ("text", "start", "end", "kind")
RENDER_KEYS = tuple(f.name for f in fields(RenderSettings) if f.name not in OPERATOR_ONLY)
LYRICS_SUFFIXES = (".ass", ".ssa", ".lrc", ".txt")

_TIME_RE = re.compile(r"(?:(?:(?P<h>\d{1,6}):)?(?P<m>\d{1,6}):)?(?P<s>\d{1,9}(?:\.\d{0,9})?|\.\d{1,9})")
_MS_RE = re.compile(r"(?P<ms>\d{1,12})\s*ms")
_NUMBER_RE = re.compile(r"[-+]?(?:\d{1,12}(?:\.\d{0,9})?|\.\d{1,9})")
_INT_RE = re.compile(r"[-+]?\d{1,12}")
_COLOR_RE = re.compile(r"#?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?")


def _fail(path: Path, node: Node | None, message: str) -> NoReturn:
    raise ProjectError(path, _line(node) if node is not None else None, message)


class _Reader:
    """Typed access to the node tree; every error names the file and the node's line."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits

    def fail(self, node: Node | None, message: str) -> NoReturn:
        _fail(self.path, node, message)

    # -- structure --------------------------------------------------------------------
    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _Y + "null"

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...], merges: int = 0) -> dict[str, tuple[Node, Node]]:
        """The mapping's entries by key (merge keys `<<` applied; own keys win)."""
        if merges > MAX_MERGE_DEPTH:  # a chain of aliases can be deep although the text is flat
            self.fail(node, f"{what}: merge keys (<<) nested more than {MAX_MERGE_DEPTH} deep")
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what}: expected a mapping of keys, got {_kind(node)}")
        own: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for knode, vnode in node.value:
            if knode.tag == _Y + "merge":
                sources = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
                for src in sources:
                    for k, pair in self.mapping(src, f"{what} (merged)", allowed, merges + 1).items():
                        merged.setdefault(k, pair)
                continue
            if not isinstance(knode, ScalarNode) or knode.tag == _Y + "null":
                self.fail(knode, f"{what}: keys must be plain names")
            key = knode.value
            if key in own:
                self.fail(knode, f"{what}: duplicate key {brief(key)}")
            if key not in allowed:
                self.fail(knode, f"{what}: unknown key {brief(key)} (known keys: {', '.join(allowed)})")
            own[key] = (knode, vnode)
        return {**merged, **own}

    def name_mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node]]:
        """A mapping with free names as keys (styles)."""
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what}: expected a mapping of names, got {_kind(node)}")
        seen: set[str] = set()
        out = []
        for knode, vnode in node.value:
            if not isinstance(knode, ScalarNode) or knode.tag in (_Y + "null", _Y + "merge"):
                self.fail(knode, f"{what}: keys must be plain names")
            if knode.value in seen:
                self.fail(knode, f"{what}: duplicate name {brief(knode.value)}")
            seen.add(knode.value)
            out.append((knode.value, knode, vnode))
        return out

    def seq(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what}: expected a list, got {_kind(node)}")
        return list(node.value)

    def scalar(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what}: expected a single value, got {_kind(node)}")
        return node.value

    # -- values -----------------------------------------------------------------------
    def text(self, node: Node, what: str) -> str:
        if self.is_null(node):
            return ""
        return self.scalar(node, what)

    def boolean(self, node: Node, what: str) -> bool:
        raw = self.scalar(node, what).strip().lower()
        if node.tag != _Y + "bool" and raw not in _BOOLS:
            self.fail(node, f"{what}: expected true or false, got {brief(node.value)}")
        return _BOOLS[raw]

    def integer(self, node: Node, what: str, lo: int | None = None, hi: int | None = None) -> int:
        raw = self.scalar(node, what).strip()
        if not _INT_RE.fullmatch(raw):
            self.fail(node, f"{what}: expected a whole number, got {brief(node.value)}")
        value = int(raw)
        self._bounds(node, what, value, lo, hi)
        return value

    def number(self, node: Node, what: str, lo: float | None = None, hi: float | None = None) -> float:
        raw = self.scalar(node, what).strip()
        if not _NUMBER_RE.fullmatch(raw):
            self.fail(node, f"{what}: expected a number, got {brief(node.value)}")
        value = float(Decimal(raw))
        self._bounds(node, what, value, lo, hi)
        return value

    def _bounds(self, node: Node, what: str, value: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and value < lo:
            self.fail(node, f"{what}: {value:g} is below the minimum of {lo:g}")
        if hi is not None and value > hi:
            self.fail(node, f"{what}: {value:g} is above the maximum of {hi:g}")

    def time_ms(self, node: Node, what: str, allow_negative: bool = False) -> int:
        """A time: seconds (`1.25`), `mm:ss.xxx`, `h:mm:ss.xxx` or `250ms`, exact to the ms."""
        if self.is_null(node):
            self.fail(node, f"{what}: missing time")
        raw = self.scalar(node, what).strip()
        try:
            ms = parse_time_ms(raw)
        except ValueError as exc:
            self.fail(node, f"{what}: {exc}")
        if ms < 0 and allow_negative:
            check_time(-ms, self.path, _line(node), what, self.limits)
            return ms
        return check_time(ms, self.path, _line(node), what, self.limits)

    def color(self, node: Node, what: str) -> Color:
        if self.is_null(node):
            # the usual cause: an unquoted "#" starts a YAML comment
            self.fail(node, f'{what}: missing colour; write it in quotes, e.g. "#ffcc00" (an unquoted # starts a YAML comment)')
        raw = self.scalar(node, what).strip()
        m = _COLOR_RE.fullmatch(raw)
        if not m:
            self.fail(node, f'{what}: expected a colour "#rrggbb" or "#rrggbbaa", got {brief(node.value)}')
        rgb, alpha = m.group(1), m.group(2) or "ff"
        return Color(int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16), int(alpha, 16))

    def media(self, node: Node, what: str) -> Path:
        ref = self.text(node, what)
        return resolve_media(self.path, ref, what, _line(node), self.limits)

    def int_list(self, node: Node, what: str, n: int, lo: int | None = None) -> tuple[int, ...]:
        items = self.seq(node, what)
        if len(items) != n:
            self.fail(node, f"{what}: expected {n} numbers, got {len(items)}")
        return tuple(self.integer(i, what, lo=lo) for i in items)


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _Y + "null":
        return "nothing"
    return repr(node.value)


def parse_time_ms(raw: str) -> int:
    """Parse a kproj time to integer ms without floating point. Raises ValueError."""
    text = raw.strip()
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:].strip()
    m = _MS_RE.fullmatch(text)
    if m:
        return sign * int(m.group("ms"))
    m = _TIME_RE.fullmatch(text)
    if not m:
        raise ValueError(f"expected a time in seconds (1.25), mm:ss.xxx, h:mm:ss.xxx or 250ms, got {brief(raw)}")
    try:
        seconds = Decimal(m.group("s"))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"bad time {brief(raw)}") from None
    if m.group("m") is not None:
        if seconds >= 60:
            raise ValueError(f"seconds must be below 60 in {brief(raw)}")
        minutes = int(m.group("m"))
        if m.group("h") is not None and minutes >= 60:
            raise ValueError(f"minutes must be below 60 in {brief(raw)}")
        seconds += 60 * minutes + 3600 * int(m.group("h") or 0)
    ms = (seconds * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return sign * int(ms)


# -- the sections ---------------------------------------------------------------------

def _read_media(r: _Reader, node: Node, base: Media) -> Media:
    entries = r.mapping(node, "media", MEDIA_KEYS)
    media = replace(base)
    for key, (_k, v) in entries.items():
        if r.is_null(v):
            continue
        if key == "video_gap":
            media.video_gap = r.time_ms(v, "media.video_gap", allow_negative=True)
        elif key == "fonts":
            media.fonts_dir = r.media(v, "media.fonts")
        else:
            setattr(media, key, r.media(v, f"media.{key}"))
    return media


def _read_style(r: _Reader, name: str, node: Node, base: Style) -> Style:
    what = f"styles.{name}"
    entries = r.mapping(node, what, STYLE_KEYS)
    style = replace(base, name=name)
    colours = ("primary", "secondary", "outline_colour", "back")
    for key, (_k, v) in entries.items():
        label = f"{what}.{key}"
        if r.is_null(v) and key not in colours:  # an empty colour is an unquoted "#": say so
            continue
        if key == "font":
            font = r.text(v, label).strip()
            if not font:
                r.fail(v, f"{label}: empty font name")
            style.font = font
        elif key == "size":
            style.size = r.number(v, label, lo=1, hi=2000)
        elif key in ("bold", "italic", "underline", "strikeout"):
            setattr(style, key, r.boolean(v, label))
        elif key in colours:
            setattr(style, key, r.color(v, label))
        elif key in ("outline", "shadow"):
            setattr(style, key, r.number(v, label, lo=0, hi=500))
        elif key == "alignment":
            style.alignment = r.integer(v, label, lo=1, hi=9)
        elif key in ("margin_l", "margin_r", "margin_v"):
            setattr(style, key, r.integer(v, label, lo=0, hi=100_000))
        elif key == "margins":
            style.margin_l, style.margin_r, style.margin_v = r.int_list(v, label, 3, lo=0)
        elif key in ("scale_x", "scale_y"):
            setattr(style, key, r.number(v, label, lo=0, hi=10_000))
        elif key in ("spacing", "angle"):
            setattr(style, key, r.number(v, label, lo=-100_000, hi=100_000))
        elif key == "border_style":
            style.border_style = r.integer(v, label, lo=1, hi=4)
    return style


def _read_styles(r: _Reader, node: Node, base: dict[str, Style]) -> dict[str, Style]:
    styles = dict(base)
    for name, knode, vnode in r.name_mapping(node, "styles"):
        if not name.strip():
            r.fail(knode, "styles: empty style name")
        styles[name] = _read_style(r, name, vnode, styles.get(name) or Style(name=name))
    return styles


def _read_display(r: _Reader, node: Node, base: Display) -> Display:
    entries = r.mapping(node, "display", DISPLAY_KEYS)
    display = replace(base)
    for key, (_k, v) in entries.items():
        label = f"display.{key}"
        if r.is_null(v):
            continue
        if key in ("title_card", "next_line", "countdown"):
            setattr(display, key, r.boolean(v, label))
        elif key == "title_card_duration":
            display.title_card_seconds = r.time_ms(v, label) / 1000
        elif key == "countdown_gap":
            display.countdown_gap_seconds = r.time_ms(v, label) / 1000
        elif key == "fade":
            display.fade_ms = r.time_ms(v, label)
        elif key == "lead_in":
            display.lead_in_ms = r.time_ms(v, label)
    return display


_RENDER_RANGES = {"width": (16, 16384), "height": (16, 16384), "fps": (1, 240), "crf": (0, 63),
                  "gpu": (0, 1024), "tail_ms": (0, MAX_TAIL_MS), "background_dim": (0, 1)}


def _read_render(r: _Reader, node: Node) -> dict[str, Any]:
    """Render settings, typed after RenderSettings' own field types."""
    entries = r.mapping(node, "render", RENDER_KEYS)
    types = {f.name: str(f.type) for f in fields(RenderSettings)}
    out: dict[str, Any] = {}
    for key, (_k, v) in entries.items():
        label = f"render.{key}"
        kind = types[key]
        if r.is_null(v):
            if "None" not in kind:
                r.fail(v, f"{label}: a value is needed")
            out[key] = None
        elif kind.startswith("int"):
            lo, hi = _RENDER_RANGES.get(key, (None, None))
            out[key] = r.integer(v, label, lo=lo, hi=hi)
        elif kind.startswith("bool"):
            out[key] = r.boolean(v, label)
        elif kind.startswith("float"):
            lo, hi = _RENDER_RANGES.get(key, (None, None))
            out[key] = r.number(v, label, lo=lo, hi=hi)
        elif kind.startswith("Path"):
            out[key] = r.media(v, label)
        elif key == "background":
            out[key] = _render_background(r, v, label)
        else:
            out[key] = r.scalar(v, label).strip()
    return out


def _render_background(r: _Reader, node: Node, label: str) -> str:
    """A colour stays as written; anything that looks like a file name is a media path."""
    raw = r.scalar(node, label).strip()
    if _COLOR_RE.fullmatch(raw) and raw.startswith("#") or re.fullmatch(r"[A-Za-z]+", raw):
        return raw
    return str(r.media(node, label))


def _read_syllable(r: _Reader, node: Node, what: str, default_kind: str) -> tuple[Syllable, Node]:
    if isinstance(node, SequenceNode):
        items = node.value
        if len(items) not in (3, 4):
            r.fail(node, f"{what}: expected [text, start, end] or [text, start, end, kind], got {len(items)} values")
        text = r.text(items[0], f"{what} text")
        start = r.time_ms(items[1], f"{what} start")
        end = r.time_ms(items[2], f"{what} end")
        kind = _read_kind(r, items[3], what) if len(items) == 4 else default_kind
    else:
        entries = r.mapping(node, what, SYLLABLE_KEYS)
        for needed in ("text", "start", "end"):
            if needed not in entries:
                r.fail(node, f"{what}: missing {needed!r}")
        text = r.text(entries["text"][1], f"{what} text")
        start = r.time_ms(entries["start"][1], f"{what} start")
        end = r.time_ms(entries["end"][1], f"{what} end")
        kind = _read_kind(r, entries["kind"][1], what) if "kind" in entries else default_kind
    check_span(start, end, r.path, _line(node), f"syllable {brief(text)}", r.limits)
    return Syllable(text, start, end, kind), node  # type: ignore[arg-type]


def _read_kind(r: _Reader, node: Node, what: str) -> str:
    kind = r.text(node, f"{what} kind").strip()
    if kind not in KINDS:
        r.fail(node, f"{what}: kind must be one of {', '.join(KINDS)}, got {brief(kind)}")
    return kind


def _read_line(r: _Reader, node: Node, index: int, styles: dict[str, Style]) -> Line:
    what = f"line {index + 1}"
    e = r.mapping(node, what, LINE_KEYS)
    get: Callable[[str], Node | None] = lambda k: e[k][1] if k in e and not r.is_null(e[k][1]) else None  # noqa: E731
    kind = _read_kind(r, get("kind"), what) if get("kind") is not None else "fill"
    start_node, end_node = get("start"), get("end")
    start = r.time_ms(start_node, f"{what} start") if start_node is not None else None
    end = r.time_ms(end_node, f"{what} end") if end_node is not None else None

    sylls: list[tuple[Syllable, Node]] = []
    if "syllables" in e:
        if "times" in e or "text" in e:
            r.fail(e["syllables"][0], f"{what}: give either syllables or text (with times), not both")
        items = r.seq(e["syllables"][1], f"{what} syllables")
        check_syllable_count(len(items), r.path, _line(node), r.limits)
        sylls = [_read_syllable(r, item, f"{what} syllable {i + 1}", kind) for i, item in enumerate(items)]
    elif "times" in e:
        if "text" not in e:
            r.fail(e["times"][0], f"{what}: times need a text with the syllables split by |")
        parts = r.text(e["text"][1], f"{what} text").split("|")
        check_syllable_count(len(parts), r.path, _line(node), r.limits)
        tnodes = r.seq(e["times"][1], f"{what} times")
        if len(tnodes) != len(parts) + 1:
            r.fail(e["times"][1], f"{what}: {len(parts)} syllables need {len(parts) + 1} times "
                                  f"(each syllable's start, then the last one's end), got {len(tnodes)}")
        times = [r.time_ms(t, f"{what} time {i + 1}") for i, t in enumerate(tnodes)]
        for i, part in enumerate(parts):
            check_span(times[i], times[i + 1], r.path, _line(tnodes[i + 1]), f"syllable {brief(part)}", r.limits)
            sylls.append((Syllable(part, times[i], times[i + 1], kind), tnodes[i]))  # type: ignore[arg-type]
    elif "text" in e:
        if start is None or end is None:
            r.fail(node, f"{what}: a line without syllables or times needs start and end")
        sylls = [(Syllable(r.text(e["text"][1], f"{what} text"), start, end, "none"), e["text"][1])]
    else:
        r.fail(node, f"{what}: needs syllables, or text with times, or text with start and end")

    if start is None:
        start = min((s.start for s, _ in sylls), default=0)
    if end is None:
        end = max((s.end for s, _ in sylls), default=start)
    check_span(start, end, r.path, _line(node), what, r.limits)
    prev: Syllable | None = None
    for syl, snode in sylls:
        if syl.start < start or syl.end > end:
            r.fail(snode, f"{what}: syllable {brief(syl.text)} ({_fmt(syl.start)}–{_fmt(syl.end)}) lies outside "
                          f"its line ({_fmt(start)}–{_fmt(end)})")
        if prev is not None and syl.start < prev.end:
            r.fail(snode, f"{what}: syllable {brief(syl.text)} starts at {_fmt(syl.start)}, before the previous "
                          f"syllable {brief(prev.text)} ends ({_fmt(prev.end)})")
        prev = syl

    line = Line(start, end, [s for s, _ in sylls], source_line=_line(node))
    if get("style") is not None:
        line.style = r.text(get("style"), f"{what} style").strip()
        if line.style not in styles:
            r.fail(get("style"), f"{what}: unknown style {brief(line.style)} (styles: {clip(', '.join(styles))})")
    if get("singer") is not None:
        line.singer = r.text(get("singer"), f"{what} singer").strip() or None
    if get("position") is not None:
        pos = r.seq(get("position"), f"{what} position")
        if len(pos) != 2:
            r.fail(get("position"), f"{what} position: expected [x, y]")
        line.position = (r.number(pos[0], f"{what} position x"), r.number(pos[1], f"{what} position y"))
    if get("alignment") is not None:
        line.alignment = r.integer(get("alignment"), f"{what} alignment", lo=1, hi=9)
    if get("fade") is not None:
        fade = r.seq(get("fade"), f"{what} fade")
        if len(fade) != 2:
            r.fail(get("fade"), f"{what} fade: expected [fade in, fade out]")
        line.fade = (r.time_ms(fade[0], f"{what} fade in"), r.time_ms(fade[1], f"{what} fade out"))
    if get("layer") is not None:
        line.layer = r.integer(get("layer"), f"{what} layer", lo=-1000, hi=1000)
    if get("margins") is not None:
        line.margins = r.int_list(get("margins"), f"{what} margins", 3, lo=0)  # type: ignore[assignment]
    return line


def _fmt(ms: int) -> str:
    return f"{ms / 1000:.3f} s"


def _read_lyrics_ref(r: _Reader, node: Node, limits: Limits) -> Project:
    from hotfolder.project import load_project  # late: the package imports the format modules

    ref_path = r.media(node, "lyrics")
    if ref_path.suffix.lower() not in LYRICS_SUFFIXES:
        r.fail(node, f"lyrics: {brief(ref_path.name)} is not an ASS/SSA, LRC or UltraStar file "
                     f"({', '.join(LYRICS_SUFFIXES)})")
    if not ref_path.is_file():
        r.fail(node, f"lyrics: {brief(ref_path.name)} does not exist next to the project")
    return load_project(ref_path, limits)


def load(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Load a `*.kproj` file. Raises only ProjectError."""
    path = Path(path)
    text = read_text(path, limits)
    root = boundedyaml.compose(text, path)
    if root is None:
        raise ProjectError(path, 1, "empty project; a .kproj starts with `version: 1`")
    r = _Reader(path, limits)
    top = r.mapping(root, "project", TOP_KEYS)

    if "version" not in top:
        r.fail(root, "missing `version: 1` at the top of the file")
    version_node = top["version"][1]
    if r.scalar(version_node, "version").strip() != str(VERSION):
        r.fail(version_node, f"unsupported version {brief(version_node.value)}; this hotfolder reads version {VERSION}")
    if "lines" in top and "lyrics" in top:
        r.fail(top["lyrics"][0], "give either lines or lyrics (a file), not both")

    if "lyrics" in top:
        project = _read_lyrics_ref(r, top["lyrics"][1], limits)
        project.format = "kproj"
        project.source = path
    else:
        project = Project(format="kproj", source=path, display=Display())

    present = {k: v for k, (_kn, v) in top.items() if not r.is_null(v)}
    if "title" in present:
        project.title = r.text(present["title"], "title").strip()
    if "artist" in present:
        project.artist = r.text(present["artist"], "artist").strip()
    if "media" in present:
        project.media = _read_media(r, present["media"], project.media)
    if "styles" in present:
        project.styles = _read_styles(r, present["styles"], project.styles)
    if "display" in present:
        project.display = _read_display(r, present["display"], project.display or Display())
    if "render" in present:
        project.render = {**project.render, **_read_render(r, present["render"])}
    if "play_res" in present:
        w, h = r.int_list(present["play_res"], "play_res", 2, lo=1)
        project.play_res = (w, h)
    if "lines" in present:
        items = r.seq(present["lines"], "lines")
        check_counts(len(items), path, limits)
        project.lines = [_read_line(r, item, i, project.styles) for i, item in enumerate(items)]
    return project


# -- writing ----------------------------------------------------------------------------

def _secs(ms: int) -> int | float:
    """Seconds for YAML: ms/1000 is the double nearest the 3-decimal value, and its repr is that value."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _rel(path: Path | str, folder: Path) -> str:
    return Path(os.path.relpath(Path(path), folder)).as_posix()


def to_yaml(project: Project, path: Path) -> str:
    """The project as `.kproj` text for a file at `path` (media written relative to it).

    Lyrics are always written inline. Projects from other formats may hold what a .kproj
    refuses (syllables outside their line), so only kproj-shaped projects load back unchanged.
    """
    folder = path.resolve().parent
    doc: dict[str, Any] = {"version": VERSION, "title": project.title, "artist": project.artist}
    m = project.media
    media: dict[str, Any] = {}
    for key, value in (("audio", m.audio), ("background", m.background), ("video", m.video), ("fonts", m.fonts_dir)):
        if value is not None:
            media[key] = _rel(value, folder)
    if m.video_gap:
        media["video_gap"] = _secs(m.video_gap)
    if media:
        doc["media"] = media
    doc["styles"] = {name: _style_doc(style) for name, style in project.styles.items()}
    if project.display is not None:
        d = project.display
        doc["display"] = {
            "title_card": d.title_card,
            "title_card_duration": _secs(round(d.title_card_seconds * 1000)),
            "next_line": d.next_line,
            "countdown": d.countdown,
            "countdown_gap": _secs(round(d.countdown_gap_seconds * 1000)),
            "fade": f"{d.fade_ms}ms",
            "lead_in": f"{d.lead_in_ms}ms",
        }
    if project.render:
        render: dict[str, Any] = {}
        for key, value in project.render.items():
            if isinstance(value, Path) or (key == "background" and isinstance(value, str) and os.path.isabs(value)):
                value = _rel(value, folder)
            render[key] = value
        doc["render"] = render
    if project.play_res is not None:
        doc["play_res"] = list(project.play_res)
    doc["lines"] = [_line_doc(ln) for ln in project.lines]
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


class _Dumper(yaml.SafeDumper):
    """Short lists of plain values (syllables, margins) on one line, as people write them."""

    def represent_list(self, data: list[Any]) -> Node:  # type: ignore[override]
        flat = all(not isinstance(x, (list, dict)) for x in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _Dumper.represent_list)


def _style_doc(s: Style) -> dict[str, Any]:
    return {
        "font": s.font, "size": s.size, "bold": s.bold, "italic": s.italic, "underline": s.underline,
        "strikeout": s.strikeout, "primary": s.primary.hex(), "secondary": s.secondary.hex(),
        "outline_colour": s.outline_colour.hex(), "back": s.back.hex(), "outline": s.outline,
        "shadow": s.shadow, "alignment": s.alignment, "margins": [s.margin_l, s.margin_r, s.margin_v],
        "scale_x": s.scale_x, "scale_y": s.scale_y, "spacing": s.spacing, "angle": s.angle,
        "border_style": s.border_style,
    }


def _line_doc(ln: Line) -> dict[str, Any]:
    out: dict[str, Any] = {"start": _secs(ln.start), "end": _secs(ln.end)}
    if ln.style != "Default":
        out["style"] = ln.style
    if ln.singer is not None:
        out["singer"] = ln.singer
    if ln.position is not None:
        out["position"] = list(ln.position)
    if ln.alignment is not None:
        out["alignment"] = ln.alignment
    if ln.fade is not None:
        out["fade"] = [f"{ln.fade[0]}ms", f"{ln.fade[1]}ms"]
    if ln.layer:
        out["layer"] = ln.layer
    if ln.margins is not None:
        out["margins"] = list(ln.margins)
    out["syllables"] = [[s.text, _secs(s.start), _secs(s.end), s.kind] for s in ln.syllables]
    return out
