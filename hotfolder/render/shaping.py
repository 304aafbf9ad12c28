"""Text shaping with HarfBuzz: characters → glyphs with advances and offsets.

Text is cut into segments of one face (per-character fallback for what the chosen face
lacks) and one direction (right-to-left for Arabic/Hebrew letters); each segment is
shaped by HarfBuzz with the script guessed from its text. Results are in font units and
in logical order (HarfBuzz's visual order of right-to-left segments is undone here and
redone per line by `visual_order`, after wrapping, as libass does with FriBidi).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

import uharfbuzz as hb

from hotfolder.render.fonts import FaceRef, FontResolver

RTL_CLASSES = {"R", "AL"}
LTR_CLASSES = {"L"}


@dataclass(frozen=True)
class ShapedGlyph:
    face: FaceRef
    glyph_id: int
    cluster: int        # index in the shaped text of the first character of its cluster
    x_advance: int      # font units of `face`
    y_advance: int
    x_offset: int
    y_offset: int       # font units, y up
    rtl: bool           # part of a right-to-left segment


def strong_direction(ch: str) -> bool | None:
    """True for a strong right-to-left character, False for strong left-to-right, None neutral."""
    cls = unicodedata.bidirectional(ch)
    if cls in RTL_CLASSES:
        return True
    if cls in LTR_CLASSES:
        return False
    return None


def segment(text: str, primary: FaceRef, resolver: FontResolver) -> list[tuple[int, int, FaceRef, bool]]:
    """(start, end, face, rtl) segments covering `text`.

    Combining marks and other non-spacing characters stay with their base character's face
    when that face has them (so accents are placed by that face's mark positioning)."""
    prim = resolver.open(primary)
    faces: list[FaceRef] = []
    dirs: list[bool] = []
    current_dir = False
    for i, ch in enumerate(text):
        cp = ord(ch)
        face = primary
        if cp >= 0x20 and not prim.has_char(cp):
            mark = unicodedata.category(ch).startswith("M") or cp in (0x200D, 0xFE0F)
            if mark and faces and resolver.open(faces[-1]).has_char(cp):
                face = faces[-1]
            else:
                face = resolver.fallback(cp, primary) or primary
        faces.append(face)
        d = strong_direction(ch)
        if d is not None:
            current_dir = d
        dirs.append(current_dir)
    segs: list[tuple[int, int, FaceRef, bool]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or faces[i] != faces[start] or dirs[i] != dirs[start]:
            if i > start:
                segs.append((start, i, faces[start], dirs[start]))
            start = i
    return segs


def shape(
    text: str,
    primary: FaceRef,
    resolver: FontResolver,
    kerning: bool = False,
) -> list[ShapedGlyph]:
    """Shape `text` in `primary` (with fallbacks); glyphs in logical order."""
    out: list[ShapedGlyph] = []
    features = {"kern": kerning}
    for start, end, face, rtl in segment(text, primary, resolver):
        data = resolver.open(face)
        buf = hb.Buffer()
        buf.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
        # the run's text as context, so Arabic joins across font/direction segments;
        # nothing across style runs: libass 0.17 shapes every run on its own
        buf.add_codepoints([ord(c) for c in text], start, end - start)
        buf.guess_segment_properties()
        buf.direction = "rtl" if rtl else "ltr"
        hb.shape(data.hb_font, buf, features)
        glyphs = [
            ShapedGlyph(face, info.codepoint, info.cluster, pos.x_advance, pos.y_advance, pos.x_offset, pos.y_offset, rtl)
            for info, pos in zip(buf.glyph_infos, buf.glyph_positions)
        ]
        if rtl:
            glyphs.reverse()  # HarfBuzz returns visual order; keep logical until lines are known
        out.extend(glyphs)
    return out


def visual_order(items: Sequence[tuple[bool, object]]) -> list[int]:
    """Indices of `items` (each (rtl, group), in logical order) in left-to-right visual
    order: every maximal right-to-left stretch within one group is reversed; groups stay
    in logical order (libass lays out each style run as its own bidi paragraph)."""
    order: list[int] = []
    i = 0
    n = len(items)
    while i < n:
        if not items[i][0]:
            order.append(i)
            i += 1
            continue
        j = i
        while j < n and items[j][0] and items[j][1] == items[i][1]:
            j += 1
        order.extend(range(j - 1, i - 1, -1))
        i = j
    return order
