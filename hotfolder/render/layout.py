"""Text layout like libass: ASS-like Project → positioned coverage bitmaps per event.

For each event (model.Line): resolve the style of every run (style, \\r, override tags),
shape the text (HarfBuzz), wrap it (wrap.py), place lines by alignment, margins or \\pos
with PlayRes → output scaling, rasterize fill/border/shadow bitmaps (glyphs.py) and work out
the karaoke parameters of every quad. Events visible at the same time are stacked without
overlap by libass's collision rule (per layer, in read order, positions kept once chosen).

libass 0.17 behaviours reproduced here because frames compared with libass showed them:
fonts sized by the OS/2 win ascent+descent, no kerning; positions scale by PlayResX/Y per
axis while glyphs scale by the height only, borders and shadows per axis (elliptic pen);
every style/karaoke run is its own bidi paragraph (left-to-right base) and is shaped on its
own; a \\kf wipe runs from the syllable's first ink over the width of its advances; a
syllable continued on a later line lights there when it ends; collision boxes include the
borders of the first and last line; bottom-aligned events move up, all others down; an
italic run followed by upright text advances to its ink edge; a translucent fill is cut out
of its border (o > g ? o - g/2 : 0); BorderStyle 3 draws one box per character.

`AssLayout.events_at(t)` is called for every frame: the visible set is found with two
array comparisons and the previous answer is returned when it did not change; prepared
events are cached.
"""
from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from hotfolder.project.model import Color, Line, Project, Style
from hotfolder.render.fonts import FaceRef, FontChoice, FontResolver
from hotfolder.render.glyphs import GlyphRasterizer, GlyphShape, Placed, shape_key, split_position
from hotfolder.render.shaping import ShapedGlyph, shape, strong_direction, visual_order
from hotfolder.render.types import EventImage, GlyphImage, KaraokeKind, Quad
from hotfolder.render.wrap import Cluster, wrap

log = logging.getLogger(__name__)

PREPARED_CACHE = 512   # events kept laid out (a song has a few hundred lines)


# ---------------------------------------------------------------------------------------
# styles of runs


@dataclass(frozen=True)
class RunStyle:
    """Everything that decides how one run of text looks, in script units."""

    font: str
    size: float
    bold: bool
    italic: bool
    c1: Color   # primary (sung)
    c2: Color   # secondary (not yet sung)
    c3: Color   # outline
    c4: Color   # shadow
    border: float
    shadow_x: float
    shadow_y: float
    scale_x: float = 100.0
    scale_y: float = 100.0
    spacing: float = 0.0
    border_style: int = 1   # 3: an opaque box in the outline colour instead of a border
    underline: bool = False
    strikeout: bool = False


def style_of(style: Style) -> RunStyle:
    return RunStyle(
        font=style.font, size=style.size, bold=style.bold, italic=style.italic,
        c1=style.primary, c2=style.secondary, c3=style.outline_colour, c4=style.back,
        border=style.outline, shadow_x=style.shadow, shadow_y=style.shadow,
        scale_x=style.scale_x, scale_y=style.scale_y, spacing=style.spacing,
        border_style=style.border_style, underline=style.underline, strikeout=style.strikeout,
    )


def _opacity(value: Any) -> int:
    """An alpha override as opacity 0..255 (the model's convention: 255 opaque)."""
    if isinstance(value, Color):
        return value.a
    return max(0, min(255, int(value)))


def _with_rgb(old: Color, value: Any) -> Color:
    if isinstance(value, Color):
        return Color(value.r, value.g, value.b, old.a)
    return old


def _boldness(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    v = int(value)
    return v == 1 or v >= 600   # \b1, or a weight (\b700)


def apply_overrides(base: RunStyle, overrides: dict[str, Any], styles: dict[str, Style], line_style: Style) -> RunStyle:
    """The run's style: `base` (the line's style), reset by \\r, then the override tags."""
    rs = base
    if "r" in overrides:
        name = overrides["r"]
        rs = style_of(styles.get(name, line_style) if name else line_style)
    ch: dict[str, Any] = {}
    for tag, value in overrides.items():
        try:
            if tag in ("1c", "c"):
                ch["c1"] = _with_rgb(ch.get("c1", rs.c1), value)
            elif tag in ("2c", "3c", "4c"):
                k = "c" + tag[0]
                ch[k] = _with_rgb(ch.get(k, getattr(rs, k)), value)
            elif tag in ("1a", "2a", "3a", "4a"):
                k = "c" + tag[0]
                old = ch.get(k, getattr(rs, k))
                ch[k] = replace(old, a=_opacity(value))
            elif tag == "alpha":
                for k in ("c1", "c2", "c3", "c4"):
                    ch[k] = replace(ch.get(k, getattr(rs, k)), a=_opacity(value))
            elif tag == "b":
                ch["bold"] = _boldness(value)
            elif tag == "i":
                ch["italic"] = bool(value)
            elif tag == "u":
                ch["underline"] = bool(value)
            elif tag == "s":
                ch["strikeout"] = bool(value)
            elif tag == "bord":
                ch["border"] = max(0.0, float(value))
            elif tag == "shad":
                ch["shadow_x"] = ch["shadow_y"] = max(0.0, float(value))
            elif tag == "xshad":
                ch["shadow_x"] = float(value)
            elif tag == "yshad":
                ch["shadow_y"] = float(value)
            elif tag == "fs":
                if float(value) > 0:
                    ch["size"] = float(value)
            elif tag == "fn":
                ch["font"] = str(value) or line_style.font
            elif tag == "fscx":
                ch["scale_x"] = max(0.0, float(value))
            elif tag == "fscy":
                ch["scale_y"] = max(0.0, float(value))
            elif tag == "fsp":
                ch["spacing"] = float(value)
        except (TypeError, ValueError):
            log.debug("override %s=%r ignored", tag, value)
    return replace(rs, **ch) if ch else rs


# ---------------------------------------------------------------------------------------
# geometry helpers (pure)


def alignment_parts(an: int) -> tuple[int, int]:
    """Numpad alignment → (horizontal 0 left / 1 centre / 2 right, vertical 0 bottom / 1 middle / 2 top)."""
    an = an if 1 <= an <= 9 else 2
    return (an - 1) % 3, (an - 1) // 3


def line_shift(halign: int, max_width: float, width: float) -> float:
    """How far a line of `width` moves right inside the box of `max_width`."""
    if halign == 2:
        return max_width - width
    if halign == 1:
        return (max_width - width) / 2.0
    return 0.0


def base_point(halign: int, valign: int, bbox: tuple[float, float, float, float]) -> tuple[float, float]:
    """The point of the text box (x_min, y_min, x_max, y_max) that \\pos puts at its coordinates."""
    x_min, y_min, x_max, y_max = bbox
    bx = x_min if halign == 0 else x_max if halign == 2 else (x_min + x_max) / 2.0
    by = y_max if valign == 0 else y_min if valign == 2 else (y_min + y_max) / 2.0
    return bx, by


@dataclass
class Segment:
    """The box an event occupies for collision detection (output pixels, ints as libass)."""

    top: int
    height: int
    left: int
    width: int

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def right(self) -> int:
        return self.left + self.width

    def overlaps(self, other: "Segment") -> bool:
        return not (
            self.top >= other.bottom or other.top >= self.bottom or self.left >= other.right or other.left >= self.right
        )


def fit_segment(seg: Segment, fixed: list[Segment], direction: int) -> int:
    """libass fit_segment: the vertical shift that moves `seg` clear of the `fixed` boxes
    (sorted by top) in `direction` (1 down, -1 up); the moved box is added to `fixed`."""
    shift = 0
    order = range(len(fixed)) if direction == 1 else range(len(fixed) - 1, -1, -1)
    for i in order:
        f = fixed[i]
        if seg.bottom + shift <= f.top or seg.top + shift >= f.bottom or seg.right <= f.left or seg.left >= f.right:
            continue
        shift = (f.bottom - seg.top) if direction == 1 else (f.top - seg.bottom)
    fixed.append(Segment(seg.top + shift, seg.height, seg.left, seg.width))
    fixed.sort(key=lambda s: s.top)
    return shift


def fix_collisions(
    boxes: list[tuple[Any, Segment, int]], placed: dict[Any, Segment]
) -> dict[Any, int]:
    """Stack the events of one layer, in draw order, like libass's fix_collisions.

    `boxes`: (event id, box as laid out, direction) for events that detect collisions.
    `placed`: boxes already chosen for events in earlier frames (kept while they do not
    collide; updated in place). Returns the vertical shift of every event."""
    shifts: dict[Any, int] = {}
    used: list[Segment] = []
    for eid, box, _ in boxes:
        prev = placed.get(eid)
        if prev is None:
            continue
        if prev.height != box.height or any(prev.overlaps(u) for u in used):
            del placed[eid]
            continue
        used.append(prev)
        shifts[eid] = prev.top - box.top
    used.sort(key=lambda s: s.top)
    for eid, box, direction in boxes:
        if eid in placed:
            continue
        shift = fit_segment(box, used, direction)
        shifts[eid] = shift
        placed[eid] = Segment(box.top + shift, box.height, box.left, box.width)
    return shifts


# ---------------------------------------------------------------------------------------
# one event


@dataclass
class _Cl:
    """A cluster: one or more characters and the glyphs that show them."""

    first_char: int
    text: str
    style: RunStyle
    syllable: int
    kind: str                        # char | space | break
    run: int = 0                     # the model run it comes from (libass reorders bidi per run)
    rtl: bool = False
    glyphs: list[tuple[ShapedGlyph, float, float]] = field(default_factory=list)  # glyph, sx, sy px/unit
    advance: float = 0.0
    ink: tuple[float, float] | None = None  # x extent relative to the pen
    asc: float = 0.0
    desc: float = 0.0
    choice: FontChoice | None = None
    decorations: list[tuple[float, float]] = field(default_factory=list)  # underline/strikeout rows, y down


@dataclass
class Prepared:
    """One event laid out at its own position (before collision shifts)."""

    image: EventImage
    box: Segment
    detect_collisions: bool
    direction: int
    layer: int


SPACE_CHARS = {" "}   # break opportunities and trimmed at line ends: libass knows only ' ' 


class AssLayout:
    """The Layout of an ASS-like project at one output size."""

    def __init__(self, project: Project, width: int, height: int, fonts_dir: Path | None = None,
                 resolver: FontResolver | None = None) -> None:
        if project.display is not None:
            raise ValueError("build_layout needs an ASS-like project: apply presentation.present() first")
        self.project = project
        self.width = width
        self.height = height
        prx, pry = project.play_res or (width, height)
        self.play_res = (prx or width, pry or height)
        self.scale_x = width / self.play_res[0]
        self.scale_y = height / self.play_res[1]
        self.font_scale = self.scale_y
        # libass scales borders and shadows per axis (PlayResX→width, PlayResY→height)
        self.border_scale = self.scale_y if project.scaled_border_and_shadow else 1.0
        self.border_scale_x = self.scale_x if project.scaled_border_and_shadow else 1.0
        if fonts_dir is None and project.media.fonts_dir is not None:
            fonts_dir = project.media.fonts_dir
            if not fonts_dir.is_absolute():
                fonts_dir = project.source.parent / fonts_dir
        self.resolver = resolver or FontResolver(fonts_dir)
        self.raster = GlyphRasterizer(self.resolver)
        self.lines: list[Line] = list(project.lines)   # read order
        self._starts = np.array([ln.start for ln in self.lines], dtype=np.int64)
        self._ends = np.array([ln.end for ln in self.lines], dtype=np.int64)
        self._prepared: OrderedDict[int, Prepared | None] = OrderedDict()
        self._placed: dict[int, Segment] = {}
        self._shifted: dict[tuple[int, int], EventImage] = {}
        self._last_key: tuple[int, ...] | None = None
        self._last: list[EventImage] = []
        rotated = sorted(name for name, st in project.styles.items() if st.angle)
        if rotated:
            log.warning("rotated styles (Angle) are drawn unrotated: %s", ", ".join(rotated))

    # ---- the Layout protocol -------------------------------------------------------
    def events_at(self, t_ms: int) -> list[EventImage]:
        visible = tuple(int(i) for i in np.nonzero((self._starts <= t_ms) & (t_ms < self._ends))[0])
        if visible == self._last_key:
            return self._last
        prepared = [(i, self.prepare(i)) for i in visible]
        prepared = [(i, p) for i, p in prepared if p is not None]
        # draw order and collision order: by layer, then read order (libass cmp_event_layer)
        prepared.sort(key=lambda ip: (ip[1].layer, ip[0]))
        shifts: dict[int, int] = {}
        k = 0
        while k < len(prepared):
            layer = prepared[k][1].layer
            group = []
            while k < len(prepared) and prepared[k][1].layer == layer:
                i, p = prepared[k]
                if p.detect_collisions:
                    group.append((i, p.box, p.direction))
                k += 1
            shifts.update(fix_collisions(group, self._placed))
        out = [self._shifted_image(i, p, shifts.get(i, 0)) for i, p in prepared]
        self._last_key, self._last = visible, out
        return out

    def _shifted_image(self, i: int, p: Prepared, shift: int) -> EventImage:
        if shift == 0:
            return p.image
        key = (i, shift)
        img = self._shifted.get(key)
        if img is None:
            if len(self._shifted) > 4 * PREPARED_CACHE:
                self._shifted.clear()
            img = EventImage(p.image.start, p.image.end, [replace(q, y=q.y + shift) for q in p.image.quads], p.image.fade)
            self._shifted[key] = img
        return img

    def prepare(self, index: int) -> Prepared | None:
        if index in self._prepared:
            self._prepared.move_to_end(index)
            return self._prepared[index]
        try:
            p = self._layout_event(self.lines[index])
        except Exception:   # one broken event must not stop a whole render
            log.exception("cannot lay out event %d (line %s)", index, self.lines[index].source_line)
            p = None
        self._prepared[index] = p
        if len(self._prepared) > PREPARED_CACHE:
            self._prepared.popitem(last=False)
        return p

    # ---- laying out one event ---------------------------------------------------------
    def _line_style(self, line: Line) -> Style:
        style = self.project.styles.get(line.style)
        if style is None:
            style = self.project.styles.get("Default") or next(iter(self.project.styles.values()), None) or Style()
        return style

    def _clusters(self, line: Line) -> list[_Cl]:
        line_style = self._line_style(line)
        base = style_of(line_style)
        chars: list[tuple[str, RunStyle, int, int]] = []
        for run_index, run in enumerate(line.effective_runs()):
            rs = apply_overrides(base, run.overrides, self.project.styles, line_style) if run.overrides else base
            # importers hand over "\n" for hard breaks (ASS \N) and NBSP for \h
            for ch in run.text:
                chars.append((ch, rs, run.syllable, run_index))
        clusters: list[_Cl] = []
        i = 0
        n = len(chars)
        while i < n:
            ch, rs, syl, run_index = chars[i]
            if ch == "\n":
                clusters.append(_Cl(i, ch, rs, syl, "break", run_index))
                i += 1
                continue
            # a shaping run: same style, no hard break
            j = i
            while j < n and chars[j][1] == rs and chars[j][0] != "\n":
                j += 1
            clusters.extend(self._shape_run(chars, i, j, rs))
            i = j
        _resolve_neutrals(clusters)
        _italic_gap(clusters)
        return clusters

    def _shape_run(self, chars: list[tuple[str, RunStyle, int, int]], i: int, j: int, rs: RunStyle) -> list[_Cl]:
        text = "".join(c[0] for c in chars[i:j])
        choice = self.resolver.choose(rs.font, rs.bold, rs.italic)
        glyphs = shape(text, choice.face, self.resolver)
        size_px = rs.size * self.font_scale
        by_cluster: dict[int, list[ShapedGlyph]] = {}
        for g in glyphs:
            by_cluster.setdefault(g.cluster, []).append(g)
        starts = sorted(by_cluster)
        out: list[_Cl] = []
        for k, c0 in enumerate(starts):
            c1 = starts[k + 1] if k + 1 < len(starts) else len(text)
            ctext = text[c0:c1]
            ch, _, syl, run_index = chars[i + c0]
            kind = "space" if ctext[0] in SPACE_CHARS else "char"
            cl = _Cl(i + c0, ctext, rs, syl, kind, run_index, choice=choice)
            adv = 0.0
            for g in by_cluster[c0]:
                data = self.resolver.open(g.face)
                ppu = size_px / data.metric_height
                sx, sy = ppu * rs.scale_x / 100.0, ppu * rs.scale_y / 100.0
                cl.glyphs.append((g, sx, sy))
                cl.rtl = g.rtl
                adv += g.x_advance * sx
                cl.asc = max(cl.asc, data.win_ascent * sy)
                cl.desc = max(cl.desc, data.win_descent * sy)
            cl.advance = adv + rs.spacing * self.font_scale * rs.scale_x / 100.0
            cl.ink = self._ink(cl)
            if rs.underline or rs.strikeout:
                cl.decorations = self._decorations(cl)
            out.append(cl)
        return out

    def _decorations(self, cl: _Cl) -> list[tuple[float, float]]:
        """Underline/strikeout bands (top, bottom) relative to the baseline, y down, from
        the face's post and OS/2 tables (libass adds them to the glyph outline)."""
        if not cl.glyphs:
            return []
        g, _, sy = cl.glyphs[0]
        data = self.resolver.open(g.face)
        bands = []
        for on, metric in ((cl.style.underline, data.underline), (cl.style.strikeout, data.strikeout)):
            if on and metric is not None:
                pos, size = metric[0] * sy, metric[1] * sy
                top = -pos - size / 2
                bands.append((top, top + size))
        return bands

    def _shape_key(self, cl: _Cl, g: ShapedGlyph, sx: float, sy: float) -> GlyphShape:
        choice = cl.choice
        primary = choice.face if choice else g.face
        synth_bold = bool(choice and choice.embolden and g.face == primary)
        synth_italic = bool(choice and choice.oblique and g.face == primary) or bool(
            cl.style.italic and g.face != primary and not g.face.italic)
        if g.face != primary and cl.style.bold and g.face.weight + 150 < 700:
            synth_bold = True
        return shape_key(g.face, g.glyph_id, sx, sy, synth_bold, synth_italic)

    def _ink(self, cl: _Cl) -> tuple[float, float] | None:
        lo, hi = math.inf, -math.inf
        pen = 0.0
        for g, sx, sy in cl.glyphs:
            box = self.raster.cbox(self._shape_key(cl, g, sx, sy))
            if box is not None:
                ox = pen + g.x_offset * sx
                lo, hi = min(lo, ox + box[0]), max(hi, ox + box[2])
            pen += g.x_advance * sx
        return (lo, hi) if lo <= hi else None

    def _layout_event(self, line: Line) -> Prepared | None:
        clusters = self._clusters(line)
        if not clusters:
            return None
        line_style = self._line_style(line)
        an = line.alignment or line_style.alignment
        halign, valign = alignment_parts(an)
        ml, mr, mv = line.margins or (0, 0, 0)
        ml = ml or line_style.margin_l
        mr = mr or line_style.margin_r
        mv = mv or line_style.margin_v
        prx, pry = self.play_res
        max_width = (prx - mr) * self.scale_x - ml * self.scale_x

        # wrap in logical order, on pen positions and ink extents
        pen = 0.0
        wc: list[Cluster] = []
        for cl in clusters:
            ink = cl.ink if (cl.ink is not None and cl.kind == "char") else (0.0, cl.advance)
            wc.append(Cluster(pen, ink[0], ink[1], cl.kind))  # type: ignore[arg-type]
            if cl.kind != "break":
                pen += cl.advance
        ranges = wrap(wc, max_width, self.project.wrap_style)

        # lines: drop hard breaks and the spaces at both ends (libass trims them)
        lines: list[list[_Cl]] = []
        for a, b, _ in ranges:
            seg = [c for c in clusters[a:b] if c.kind != "break"]
            while seg and seg[0].kind == "space":
                seg.pop(0)
            while seg and seg[-1].kind == "space":
                seg.pop()
            lines.append(seg)

        # vertical metrics per line; an empty line is half the height of the glyph before it
        metrics: list[tuple[float, float]] = []
        last: _Cl | None = None
        for k, seg in enumerate(lines):
            if seg:
                asc = max(c.asc for c in seg)
                desc = max(c.desc for c in seg)
                last = seg[-1]
            else:
                ref = last or next((c for c in clusters if c.kind != "break"), None) or clusters[0]
                asc, desc = (ref.asc / 2.0, ref.desc / 2.0) if k > 0 else (ref.asc, ref.desc)
            metrics.append((asc, desc))
        height = sum(a + d for a, d in metrics)

        # pen positions: visual order inside each line, lines aligned in the wrap box
        placed: list[tuple[_Cl, float, float, int]] = []   # cluster, pen x, baseline y (relative), line
        baseline = 0.0
        x_min, x_max = math.inf, -math.inf
        for k, seg in enumerate(lines):
            if k > 0:
                baseline += metrics[k - 1][1] + metrics[k][0]
            width = sum(c.advance for c in seg)
            if seg:
                width -= seg[-1].style.spacing * self.font_scale * seg[-1].style.scale_x / 100.0
            shift = line_shift(halign, max_width, width)
            x = shift
            # VSFilter/libass: every style or karaoke run is its own bidi paragraph
            for idx in visual_order([(c.rtl, c.run) for c in seg]):
                c = seg[idx]
                placed.append((c, x, baseline, k))
                x_min, x_max = min(x_min, x), max(x_max, x + c.advance)
                x += c.advance
        if not placed:
            x_min = x_max = 0.0
        asc0 = metrics[0][0] if metrics else 0.0
        bbox = (x_min, -asc0, x_max, height - asc0)

        if line.position is not None:
            bx, by = base_point(halign, valign, bbox)
            device_x = line.position[0] * self.scale_x - bx
            device_y = line.position[1] * self.scale_y - by
        else:
            device_x = ml * self.scale_x
            if valign == 2:
                device_y = mv * self.scale_y + asc0
            elif valign == 1:
                device_y = pry / 2.0 * self.scale_y - (bbox[1] + bbox[3]) / 2.0
            else:
                device_y = (pry - mv) * self.scale_y - height + asc0

        image = EventImage(line.start, line.end, self._quads(line, placed, device_x, device_y), self._fade(line))
        # libass 0.17 counts the borders of the first/last line into the collision box
        def border_of(seg: list[_Cl]) -> float:
            return max((c.style.border for c in seg), default=0.0)

        b_top = border_of(lines[0]) * self.border_scale if lines else 0.0
        b_bottom = border_of(lines[-1]) * self.border_scale if lines else 0.0
        b_x = max((border_of(seg) for seg in lines), default=0.0) * self.border_scale_x
        box = Segment(
            top=int(device_y - asc0 - b_top), height=int(height + b_top + b_bottom),
            left=int(device_x + x_min - b_x + 0.5), width=int(x_max - x_min + 2 * b_x + 0.5),
        )
        return Prepared(image, box, detect_collisions=line.position is None,
                        # bottom-aligned events move up out of the way, all others down
                        # (as libass 0.17 does, middle-aligned ones included)
                        direction=-1 if valign == 0 else 1, layer=line.layer)

    @staticmethod
    def _fade(line: Line) -> tuple[int, int, int, int, int, int, int] | None:
        if not line.fade or (line.fade[0] <= 0 and line.fade[1] <= 0):
            return None
        dur = line.end - line.start
        fin, fout = line.fade
        return (255, 0, 255, 0, fin, dur - fout, dur)

    def _quads(self, line: Line, placed: list[tuple[_Cl, float, float, int]], device_x: float, device_y: float) -> list[Quad]:
        # glyph origins in output pixels, and the karaoke extent of every syllable
        # karaoke "words" as libass sees them: a syllable, cut again at line breaks
        # (libass starts a new run on every line; the part of a syllable on a later
        # line is a zero-length word that lights when the syllable ends)
        glyphs: list[tuple[_Cl, GlyphShape, float, float, tuple[int, int]]] = []
        ink_left: dict[tuple[int, int], float] = {}
        pens: dict[tuple[int, int], tuple[float, float]] = {}
        boxes: list[Quad] = []
        box_shadows: list[Quad] = []
        decorated: list[tuple[_Cl, float, float, tuple[int, int]]] = []
        for cl, px, by, line_no in placed:
            word = (cl.syllable, line_no)
            if cl.style.border_style == 3 and cl.style.border > 0:
                self._opaque_box(cl, device_x + px, device_y + by, boxes, box_shadows)
            if cl.decorations:
                decorated.append((cl, device_x + px, device_y + by, word))
                # libass adds the bars to the outline: they are ink from the pen on
                ink_left[word] = min(ink_left.get(word, math.inf), device_x + px)
            pen = px
            lo, hi = pens.get(word, (math.inf, -math.inf))
            pens[word] = (min(lo, device_x + px), max(hi, device_x + px + cl.advance))
            for g, sx, sy in cl.glyphs:
                shape_ = self._shape_key(cl, g, sx, sy)
                gx = device_x + pen + g.x_offset * sx
                gy = device_y + by - g.y_offset * sy
                glyphs.append((cl, shape_, gx, gy, word))
                box = self.raster.cbox(shape_)
                if box is not None and cl.kind == "char":
                    ink_left[word] = min(ink_left.get(word, math.inf), gx + box[0])
                pen += g.x_advance * sx
        # the wipe of a word: from its leftmost ink over the width of its advances, in
        # whole pixels (measured against libass 0.17: the wipe reaches the right edge one
        # advance after the first ink, not at the last glyph's ink edge)
        extent: dict[tuple[int, int], tuple[float, float]] = {}
        for word, (p0, p1) in pens.items():
            x0 = ink_left.get(word, p0)
            extent[word] = (round(x0), round(x0 + (p1 - p0)))
        first_line: dict[int, int] = {}
        for syl, line_no in pens:
            first_line[syl] = min(first_line.get(syl, line_no), line_no)
        shadows: list[Quad] = []
        outlines: list[Quad] = []
        fills: list[Quad] = []
        sylls = line.syllables
        for cl, shape_, gx, gy, word in glyphs:
            rs = cl.style
            kind: KaraokeKind = "none"
            k_start = k_end = 0
            x0, x1 = extent.get(word, (0.0, 0.0))
            if 0 <= cl.syllable < len(sylls):
                s = sylls[cl.syllable]
                kind = s.kind
                k_start, k_end = s.start, s.end
                if word[1] != first_line[cl.syllable]:
                    k_start = k_end = s.end
            before = rs.c2 if kind != "none" else rs.c1
            ix, iy, fx, fy = split_position(gx, gy)
            fill = self.raster.image(shape_, fx, fy)
            opaque_box = rs.border_style == 3
            border_px = 0.0 if opaque_box else rs.border * self.border_scale
            border_px_x = 0.0 if opaque_box else rs.border * self.border_scale_x
            border = self.raster.image(shape_, fx, fy, border_px, border_px_x) if border_px > 0 else None
            if fill is None and border is None:
                continue
            if border is not None:
                if not (rs.c1.a == 255 and rs.c2.a == 255 and rs.c3.a == 255) and fill is not None:
                    border = _minus(border, fill)
                outlines.append(Quad(border.image, ix + border.left, iy + border.top, "outline", rs.c3, rs.c3,
                                     "outline" if kind == "outline" else "none", k_start, k_end, x0, x1))
            if fill is not None:
                fills.append(Quad(fill.image, ix + fill.left, iy + fill.top, "fill", rs.c1, before,
                                  kind, k_start, k_end, x0, x1))
            sxo, syo = rs.shadow_x * self.border_scale_x, rs.shadow_y * self.border_scale
            # libass draws no shadow for an invisible fill without border
            if (sxo or syo) and rs.c4.a > 0 and (border_px > 0 or rs.c1.a > 0) and not (opaque_box and rs.border > 0):
                six, siy, sfx, sfy = split_position(gx + sxo, gy + syo)
                sh = self.raster.image(shape_, sfx, sfy, border_px, border_px_x) if border_px > 0 else self.raster.image(shape_, sfx, sfy)
                if sh is not None:
                    shadows.append(Quad(sh.image, six + sh.left, siy + sh.top, "shadow", rs.c4, rs.c4))
        for cl, pen_x, baseline, word in decorated:
            self._decoration_quads(cl, pen_x, baseline, word, extent, first_line, sylls, shadows, outlines, fills)
        # libass draws all shadows, then all borders, then all fills
        return box_shadows + shadows + boxes + outlines + fills

    def _decoration_quads(self, cl: _Cl, pen_x: float, baseline: float, word: tuple[int, int],
                          extent: dict, first_line: dict, sylls: list, shadows: list[Quad],
                          outlines: list[Quad], fills: list[Quad]) -> None:
        """Underline/strikeout bars over the cluster's advance, with the same border,
        shadow and karaoke as its glyphs."""
        rs = cl.style
        kind: KaraokeKind = "none"
        k_start = k_end = 0
        if 0 <= cl.syllable < len(sylls):
            s = sylls[cl.syllable]
            kind, k_start, k_end = s.kind, s.start, s.end
            if word[1] != first_line.get(cl.syllable, word[1]):
                k_start = k_end = s.end
        x0, x1 = extent.get(word, (0.0, 0.0))
        before = rs.c2 if kind != "none" else rs.c1
        bx, by = (0.0, 0.0) if rs.border_style == 3 else (rs.border * self.border_scale_x, rs.border * self.border_scale)
        sxo, syo = rs.shadow_x * self.border_scale_x, rs.shadow_y * self.border_scale
        for top, bottom in cl.decorations:
            a, b = pen_x, pen_x + cl.advance
            img, left, ytop = box_image(a, baseline + top, b, baseline + bottom)
            if img is None:
                continue
            fills.append(Quad(img, left, ytop, "fill", rs.c1, before, kind, k_start, k_end, x0, x1))
            if bx > 0 or by > 0:
                bimg, bleft, btop = box_image(a - bx, baseline + top - by, b + bx, baseline + bottom + by)
                if bimg is not None:
                    outlines.append(Quad(bimg, bleft, btop, "outline", rs.c3, rs.c3,
                                         "outline" if kind == "outline" else "none", k_start, k_end, x0, x1))
            if (sxo or syo) and rs.c4.a > 0:
                simg, sleft, stop = box_image(a - bx + sxo, baseline + top - by + syo,
                                              b + bx + sxo, baseline + bottom + by + syo)
                if simg is not None:
                    shadows.append(Quad(simg, sleft, stop, "shadow", rs.c4, rs.c4))

    def _opaque_box(self, cl: _Cl, pen_x: float, baseline: float, boxes: list[Quad], shadows: list[Quad]) -> None:
        """BorderStyle 3: a box around the cluster (its advance by the font's ascent and
        descent, grown by the border) in the outline colour, its shadow in the back colour."""
        rs = cl.style
        bx, by = rs.border * self.border_scale_x, rs.border * self.border_scale
        x0, x1 = pen_x - bx, pen_x + cl.advance + bx
        y0, y1 = baseline - cl.asc - by, baseline + cl.desc + by
        img, left, top = box_image(x0, y0, x1, y1)
        if img is None:
            return
        boxes.append(Quad(img, left, top, "outline", rs.c3, rs.c3))
        sxo, syo = rs.shadow_x * self.border_scale_x, rs.shadow_y * self.border_scale
        if (sxo or syo) and rs.c4.a > 0:
            img, left, top = box_image(x0 + sxo, y0 + syo, x1 + sxo, y1 + syo)
            if img is not None:
                shadows.append(Quad(img, left, top, "shadow", rs.c4, rs.c4))


def _italic_gap(clusters: list[_Cl]) -> None:
    """libass: where italic text is followed by upright text, the last inked italic glyph
    advances at least to its right ink edge (so the slant does not run into the next)."""
    for k in range(1, len(clusters)):
        if not clusters[k - 1].style.italic or clusters[k].style.italic or clusters[k].kind == "break":
            continue
        back = k - 1
        while back > 0 and clusters[back].ink is None and clusters[back].style.italic and clusters[back].kind != "break":
            back -= 1
        prev = clusters[back]
        if prev.ink is not None and prev.style.italic and prev.ink[1] > prev.advance:
            prev.advance = prev.ink[1]


def _strong(cl: _Cl) -> bool | None:
    for ch in cl.text:
        d = strong_direction(ch)
        if d is not None:
            return d
    return None


def _resolve_neutrals(clusters: list[_Cl]) -> None:
    """Spaces and punctuation take the right-to-left direction only between two
    right-to-left characters of the same run; elsewhere the run's left-to-right base
    direction (libass: each run is a left-to-right bidi paragraph)."""
    strong = [_strong(c) for c in clusters]
    n = len(clusters)
    for k, cl in enumerate(clusters):
        if strong[k] is not None or cl.kind == "break":
            if strong[k] is not None:
                cl.rtl = strong[k]
            continue
        prev = next((strong[j] for j in range(k - 1, -1, -1)
                     if clusters[j].run == cl.run and strong[j] is not None), None)
        nxt = next((strong[j] for j in range(k + 1, n)
                    if clusters[j].run == cl.run and strong[j] is not None), None)
        cl.rtl = bool(prev and nxt)


_BOX_CACHE: dict[tuple, GlyphImage] = {}


def _coverage_1d(a: float, b: float) -> tuple[int, np.ndarray]:
    """First pixel and per-pixel coverage (0..1) of the interval [a, b)."""
    first, last = math.floor(a), math.ceil(b)
    edges = np.arange(first, last + 1, dtype=np.float64)
    cov = np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0.0, 1.0)
    return first, cov


def box_image(x0: float, y0: float, x1: float, y1: float) -> tuple[GlyphImage | None, int, int]:
    """An antialiased filled rectangle: (image, left, top)."""
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None, 0, 0
    left, cx = _coverage_1d(x0, x1)
    top, cy = _coverage_1d(y0, y1)
    key = ("box", round(x0 - left, 3), round(x1 - left, 3), round(y0 - top, 3), round(y1 - top, 3))
    img = _BOX_CACHE.get(key)
    if img is None:
        pixels = np.rint(np.outer(cy, cx) * 255).astype(np.uint8)
        img = GlyphImage(key=key, pixels=pixels)
        if len(_BOX_CACHE) > 20000:
            _BOX_CACHE.clear()
        _BOX_CACHE[key] = img
    return img, left, top



_MINUS_CACHE: dict[tuple, Placed] = {}


def _minus(border: Placed, fill: Placed) -> Placed:
    """The border without the glyph under it (libass does this when the fill is not opaque)."""
    key = ("minus", border.image.key, fill.image.key)
    hit = _MINUS_CACHE.get(key)
    if hit is not None:
        return hit
    o = border.image.pixels.astype(np.int16)
    g = np.zeros_like(o)
    dy, dx = fill.top - border.top, fill.left - border.left
    h, w = fill.image.pixels.shape
    y0, x0 = max(dy, 0), max(dx, 0)
    y1, x1 = min(dy + h, o.shape[0]), min(dx + w, o.shape[1])
    if y1 > y0 and x1 > x0:
        g[y0:y1, x0:x1] = fill.image.pixels[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
    # libass fix_outline: where the border outweighs the glyph, only half the glyph is taken out
    out = np.where(o > g, o - g // 2, 0).astype(np.uint8)
    placed = Placed(GlyphImage(key=key, pixels=out), border.left, border.top)
    if len(_MINUS_CACHE) > 20000:
        _MINUS_CACHE.clear()
    _MINUS_CACHE[key] = placed
    return placed


def build_layout(project: Project, width: int, height: int, fonts_dir: Path | None) -> AssLayout:
    """The layout of an ASS-like project (display is None) at `width` x `height`."""
    return AssLayout(project, width, height, fonts_dir)
