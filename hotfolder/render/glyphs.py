"""Glyph coverage bitmaps with FreeType, the way libass makes them.

An outline is loaded unhinted in font units and transformed to output pixels (size, ScaleX/Y,
the oblique shear libass uses to fake italics, the subpixel position), emboldened like
libass when bold must be synthesized, then rasterized to an 8-bit coverage bitmap. The
border is the outline's outside stroke (FreeType stroker, round joins) filled: it covers
the glyph and `border` pixels around it. Bitmaps are cached by key: a karaoke video
shows the same few glyphs thousands of times.
"""
from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from dataclasses import dataclass

import freetype
import numpy as np
from freetype import raw

from hotfolder.render.fonts import FaceRef, FontResolver
from hotfolder.render.types import GlyphImage

log = logging.getLogger(__name__)

IMAGE_CACHE = 20000     # bitmaps kept for reuse (a long CJK song at 1080p stays in a few 100 MB)
SUBPIXEL = 8            # positions are quantized to 1/8 pixel, as in libass
OBLIQUE_SHEAR = 0x5700 / 0x10000  # libass's synthetic italic


@dataclass(frozen=True)
class GlyphShape:
    """What identifies a glyph outline at output size (everything but its position)."""

    face: FaceRef
    glyph_id: int
    scale_x: float      # output pixels per font unit, horizontally
    scale_y: float
    embolden: bool
    oblique: bool


@dataclass(frozen=True)
class Placed:
    """A coverage bitmap and where its top-left pixel goes relative to the glyph origin's
    integer pixel (the origin's fraction was applied when rasterizing)."""

    image: GlyphImage
    left: int
    top: int   # y down: rows above the baseline are negative


def _q(v: float, step: float = 1e-6) -> float:
    return round(v / step) * step


def shape_key(face: FaceRef, glyph_id: int, scale_x: float, scale_y: float, embolden: bool, oblique: bool) -> GlyphShape:
    return GlyphShape(face, glyph_id, _q(scale_x), _q(scale_y), embolden, oblique)


class GlyphRasterizer:
    """Outlines, bounding boxes and coverage bitmaps, cached."""

    def __init__(self, resolver: FontResolver) -> None:
        self.resolver = resolver
        self._cbox: dict[GlyphShape, tuple[float, float, float, float] | None] = {}
        self._images: OrderedDict[tuple, Placed | None] = OrderedDict()
        self._stroker = freetype.Stroker()

    def _load(self, shape: GlyphShape, squeeze: float = 1.0) -> freetype.Glyph | None:
        """The outline at output size, origin at 0; x divided by `squeeze` (for elliptic
        borders: stroke round, then stretch back)."""
        data = self.resolver.open(shape.face)
        ft = data.ft
        upem = data.upem
        # one font unit = one 26.6 pixel at this size; the transform does the real scaling
        ft.set_char_size(0, upem * 64, 72, 72)
        shear = OBLIQUE_SHEAR if shape.oblique else 0.0
        sx = shape.scale_x / squeeze
        matrix = freetype.Matrix(
            int(round(sx * 0x10000)), int(round(sx * shear * 0x10000)),
            0, int(round(shape.scale_y * 0x10000)),
        )
        ft.set_transform(matrix, freetype.Vector(0, 0))
        try:
            ft.load_glyph(shape.glyph_id, freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_BITMAP)
        except freetype.FT_Exception as exc:
            log.warning("glyph %d of %s cannot be loaded: %s", shape.glyph_id, shape.face.path, exc)
            return None
        finally:
            ft.set_transform(freetype.Matrix(0x10000, 0, 0, 0x10000), freetype.Vector(0, 0))
        slot = ft.glyph
        if slot.format != freetype.FT_GLYPH_FORMAT_OUTLINE or slot.outline.n_points == 0:
            return None
        if shape.embolden:
            # libass: strength = em size / 64 (in 26.6 units), metrics untouched
            strength = int(upem * shape.scale_y)
            raw.FT_Outline_Embolden(ctypes.byref(slot.outline._FT_Outline), strength)
        return slot.get_glyph()

    def cbox(self, shape: GlyphShape) -> tuple[float, float, float, float] | None:
        """(x_min, y_min, x_max, y_max) in output pixels, y down, origin at the pen; None
        for glyphs without ink."""
        if shape in self._cbox:
            return self._cbox[shape]
        glyph = self._load(shape)
        box = None
        if glyph is not None:
            b = glyph.get_cbox(freetype.FT_GLYPH_BBOX_UNSCALED)
            box = (b.xMin / 64, -b.yMax / 64, b.xMax / 64, -b.yMin / 64)
        self._cbox[shape] = box
        return box

    def image(self, shape: GlyphShape, sub_x: int, sub_y: int, border: float = 0.0,
              border_x: float | None = None) -> Placed | None:
        """The glyph's coverage (border 0) or its filled outside stroke `border` pixels
        thick vertically and `border_x` (default: the same) horizontally, rasterized with
        the origin at (sub_x, sub_y)/8 of a pixel."""
        border = _q(border, 1 / 64)
        border_x = border if border_x is None else _q(border_x, 1 / 64)
        key = (shape, sub_x, sub_y, border, border_x)
        if key in self._images:
            self._images.move_to_end(key)
            return self._images[key]
        placed = None
        squeeze = border_x / border if border > 0 and border_x > 0 else 1.0
        glyph = self._load(shape, squeeze)
        if glyph is not None:
            if border > 0:
                self._stroker.set(
                    int(round(border * 64)), freetype.FT_STROKER_LINECAP_ROUND, freetype.FT_STROKER_LINEJOIN_ROUND, 0
                )
                pglyph = glyph._FT_Glyph
                err = raw.FT_Glyph_StrokeBorder(ctypes.byref(pglyph), self._stroker._FT_Stroker, False, True)
                if err:
                    log.warning("stroking glyph %d failed (FreeType error %d)", shape.glyph_id, err)
                    self._images[key] = None
                    return None
                glyph._FT_Glyph = pglyph
            # stretch back (elliptic border) and move to the subpixel position;
            # FreeType's y points up, ours down: a positive subpixel y moves the glyph down
            matrix = raw.FT_Matrix(int(round(squeeze * 0x10000)), 0, 0, 0x10000)
            delta = raw.FT_Vector(sub_x * 64 // SUBPIXEL, -sub_y * 64 // SUBPIXEL)
            raw.FT_Glyph_Transform(glyph._FT_Glyph, ctypes.byref(matrix), ctypes.byref(delta))
            bm_glyph = glyph.to_bitmap(freetype.FT_RENDER_MODE_NORMAL, freetype.Vector(0, 0), True)
            bitmap = bm_glyph.bitmap
            if bitmap.rows and bitmap.width:
                ft_bitmap = bitmap._FT_Bitmap
                pitch = abs(ft_bitmap.pitch)
                # straight from FreeType's buffer (bitmap.buffer builds a Python list: slow)
                data = ctypes.string_at(ft_bitmap.buffer, ft_bitmap.rows * pitch)
                buf = np.frombuffer(data, dtype=np.uint8).reshape(ft_bitmap.rows, pitch)[:, : ft_bitmap.width]
                if ft_bitmap.pitch < 0:
                    buf = buf[::-1]
                pixels = np.ascontiguousarray(buf)
                placed = Placed(GlyphImage(key=("glyph",) + key, pixels=pixels), bm_glyph.left, -bm_glyph.top)
        self._images[key] = placed
        if len(self._images) > IMAGE_CACHE:
            # laid-out events keep their own references; this only bounds memory
            self._images.popitem(last=False)
        return placed


def split_position(x: float, y: float) -> tuple[int, int, int, int]:
    """Integer pixel and 1/8 subpixel of a position (quantized down, like libass)."""
    fx = int(np.floor(x * SUBPIXEL))
    fy = int(np.floor(y * SUBPIXEL))
    return fx // SUBPIXEL, fy // SUBPIXEL, fx % SUBPIXEL, fy % SUBPIXEL
