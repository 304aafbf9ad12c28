"""Glyph atlas: coverage bitmaps packed on shelves in one R8 texture, each uploaded once.

The packer (`ShelfPacker`) is plain data and unit-testable; `GlyphAtlas` keeps a CPU copy
of the texture so it can grow (copy into a bigger texture) or evict (repack only what the
current frame needs) without reading anything back from the GPU.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Hashable, Iterable

import moderngl
import numpy as np

from hotfolder.errors import RenderError
from hotfolder.render.types import GlyphImage

log = logging.getLogger(__name__)

Rect = tuple[int, int, int, int]  # x, y, w, h in texels


@dataclass
class _Shelf:
    y: int
    height: int
    x: int = 0


@dataclass
class ShelfPacker:
    """Shelf (row) packing: each bitmap goes on the first shelf tall enough without wasting
    much height, or on a new shelf below the last one."""

    width: int
    height: int
    shelves: list[_Shelf] = field(default_factory=list)

    def place(self, w: int, h: int) -> tuple[int, int] | None:
        if w > self.width or h > self.height:
            return None
        for shelf in self.shelves:
            # a shelf much taller than the bitmap would waste rows; 70% keeps waste small
            if shelf.height >= h and h * 10 >= shelf.height * 7 and self.width - shelf.x >= w:
                pos = (shelf.x, shelf.y)
                shelf.x += w
                return pos
        top = self.shelves[-1].y + self.shelves[-1].height if self.shelves else 0
        if top + h > self.height:
            return None
        self.shelves.append(_Shelf(top, h, w))
        return (0, top)


class GlyphAtlas:
    """Maps GlyphImage keys to texel rectangles in `texture` (R8, unnormalized lookups)."""

    def __init__(self, ctx: moderngl.Context, size: int = 1024, max_size: int | None = None) -> None:
        self.ctx = ctx
        limit = int(ctx.info.get("GL_MAX_TEXTURE_SIZE", 8192))
        self.max_size = min(max_size or 8192, limit)
        self.size = min(size, self.max_size)
        self.generation = 0  # bumps whenever existing rectangles move (grow keeps them, evict does not)
        self._pixels = np.zeros((self.size, self.size), np.uint8)
        self._packer = ShelfPacker(self.size, self.size)
        self._rects: dict[Hashable, Rect] = {}
        self.texture = self._new_texture()
        self.uploads = 0  # bitmaps uploaded so far (tests check "once per key")

    def _new_texture(self) -> moderngl.Texture:
        tex = self.ctx.texture((self.size, self.size), 1, self._pixels.tobytes(), dtype="f1", alignment=1)
        tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        return tex

    def __contains__(self, key: Hashable) -> bool:
        return key in self._rects

    def rect(self, key: Hashable) -> Rect:
        return self._rects[key]

    def ensure(self, images: Iterable[GlyphImage]) -> dict[Hashable, Rect]:
        """Rectangles for every image (uploading the new ones); all valid until the next call."""
        wanted: dict[Hashable, GlyphImage] = {}
        for img in images:
            wanted.setdefault(img.key, img)
        missing = [img for key, img in wanted.items() if key not in self._rects]
        if missing and not self._add(missing):
            self._evict_and_repack(wanted)
        return {key: self._rects[key] for key in wanted}

    def _add(self, images: list[GlyphImage]) -> bool:
        # tallest first packs shelves tighter
        for img in sorted(images, key=lambda im: -im.pixels.shape[0]):
            while not self._place(img):
                if self.size >= self.max_size:
                    return False
                self._grow()
        return True

    def _place(self, img: GlyphImage) -> bool:
        h, w = img.pixels.shape
        if w == 0 or h == 0:
            self._rects[img.key] = (0, 0, 0, 0)
            return True
        pos = self._packer.place(w, h)
        if pos is None:
            return False
        x, y = pos
        data = np.ascontiguousarray(img.pixels, dtype=np.uint8)
        self._pixels[y : y + h, x : x + w] = data
        self.texture.write(data.tobytes(), viewport=(x, y, w, h), alignment=1)
        self._rects[img.key] = (x, y, w, h)
        self.uploads += 1
        return True

    def _grow(self) -> None:
        new_size = min(self.size * 2, self.max_size)
        log.debug("glyph atlas grows to %dx%d", new_size, new_size)
        pixels = np.zeros((new_size, new_size), np.uint8)
        pixels[: self.size, : self.size] = self._pixels
        self._pixels = pixels
        self.size = new_size
        old_shelves = self._packer.shelves
        self._packer = ShelfPacker(new_size, new_size, old_shelves)
        self.texture.release()
        self.texture = self._new_texture()

    def _evict_and_repack(self, wanted: dict[Hashable, GlyphImage]) -> None:
        """Full at the largest size: keep only what this call needs, packed afresh."""
        log.debug("glyph atlas full: evicting %d bitmaps", len(self._rects) - len(wanted))
        self._rects.clear()
        self._pixels[:] = 0
        self._packer = ShelfPacker(self.size, self.size)
        self.generation += 1
        for img in sorted(wanted.values(), key=lambda im: -im.pixels.shape[0]):
            if not self._place(img):
                raise RenderError(
                    f"the text of one frame does not fit a {self.size}x{self.size} glyph atlas "
                    "(font size or outline too large for this GPU)"
                )

    def release(self) -> None:
        self.texture.release()
