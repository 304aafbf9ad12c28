"""The GPU compositor: background, then the glyph quads of the visible events in one
instanced draw, then (for encoding) RGB → I420 BT.709 limited range in two shader passes.

Per frame the CPU does almost nothing: the quads of a set of visible events become one
instance buffer when the set changes, and karaoke/fade state comes from the frame time in
the vertex shader. Blending is straight-alpha "over" on 8-bit sRGB values, as libass
output is blended by ffmpeg. Over a static background only the boxes where something
changed since the frame drawn last (a syllable switching or wiping, a fade, an event
coming or going) are redrawn and converted; `EventSet.state(t)` also tells callers when
a frame must look exactly like the previous one, so they can skip it altogether.
"""
from __future__ import annotations

import bisect
import logging
from typing import Hashable, Sequence

import moderngl
import numpy as np

from hotfolder.errors import RenderError
from hotfolder.render.atlas import GlyphAtlas
from hotfolder.render.background import (
    Background, ImageBackground, SolidBackground, VideoBackground, VideoPicture, cover,
)
from hotfolder.render.gl import program
from hotfolder.render.types import EventImage

log = logging.getLogger(__name__)

KARAOKE_CODES = {"none": 0, "instant": 1, "fill": 2, "outline": 3}
PART_CODES = {"shadow": 0, "outline": 1, "fill": 2}

INSTANCE_DTYPE = np.dtype(
    [
        ("rect", "<i4", 4),
        ("atlas", "<i4", 2),
        ("color", "u1", 4),
        ("before", "u1", 4),
        ("karaoke", "<i4", 4),
        ("wipe", "<f4", 2),
        ("fade_t", "<i4", 4),
        ("fade_a", "<i4", 4),
    ]
)
INSTANCE_FORMAT = "4i 2i 4f1 4f1 4i 2f 4i 4i/i"
INSTANCE_ATTRS = ("i_rect", "i_atlas", "i_color", "i_before", "i_karaoke", "i_wipe", "i_fade_t", "i_fade_a")


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), output pixels


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def even_clamped(box: Box | None, width: int, height: int) -> Box | None:
    """`box` grown to even coordinates (whole 2x2 chroma blocks) and clipped to the frame."""
    if box is None:
        return None
    x0, y0 = max(0, box[0] & ~1), max(0, box[1] & ~1)
    x1, y1 = min(width, box[2] + (box[2] & 1)), min(height, box[3] + (box[3] & 1))
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def instance_data(events: Sequence[EventImage], rects: dict[Hashable, tuple[int, int, int, int]]) -> np.ndarray:
    """Per-quad attributes for the events, in draw order (plain data; no GL)."""
    n = sum(len(e.quads) for e in events)
    out = np.zeros(n, INSTANCE_DTYPE)
    i = 0
    for ev in events:
        if ev.fade is not None:
            a1, a2, a3, t1, t2, t3, t4 = ev.fade
            fade_t = (ev.start + t1, ev.start + t2, ev.start + t3, ev.start + t4)
            fade_a = (a1, a2, a3, 1)
        else:
            fade_t, fade_a = (0, 0, 0, 0), (0, 0, 0, 0)
        for q in ev.quads:
            h, w = q.image.pixels.shape
            ax, ay, _, _ = rects[q.image.key]
            c, b = q.color, q.color_before
            out[i] = (
                (q.x, q.y, w, h),
                (ax, ay),
                (c.r, c.g, c.b, c.a),
                (b.r, b.g, b.b, b.a),
                (KARAOKE_CODES[q.karaoke], PART_CODES[q.part], q.k_start, q.k_end),
                (q.wipe_x0, q.wipe_x1),
                fade_t,
                fade_a,
            )
            i += 1
    return out


def _xywh(box: Box) -> tuple[int, int, int, int]:
    return box[0], box[1], box[2] - box[0], box[3] - box[1]


class EventSet:
    """One set of visible events, ready to draw, and when (and where) its look changes."""

    def __init__(self, events: Sequence[EventImage], data: np.ndarray, atlas_generation: int) -> None:
        self.events = tuple(events)  # held so the ids in `ident` stay unique while cached
        self.ident = tuple(id(e) for e in events)
        self.data = data
        self.count = len(data)
        self.atlas_generation = atlas_generation
        rect = data["rect"].astype(np.int64)
        self._boxes = np.stack([rect[:, 0], rect[:, 1], rect[:, 0] + rect[:, 2], rect[:, 1] + rect[:, 3]], axis=1)
        self._event_of = np.repeat(np.arange(len(events)), [len(e.quads) for e in events])
        self.event_boxes: list[Box | None] = [self._union_of(self._event_of == i) for i in range(len(events))]
        self.bbox: Box | None = self._union_of(np.ones(self.count, bool))
        # karaoke state per quad = (t >= ks) + (t >= ke): 0 before, 1 wiping, 2 after
        k = data["karaoke"].astype(np.int64)
        never = np.iinfo(np.int64).min
        self._ks = np.where(k[:, 0] == KARAOKE_CODES["none"], never, k[:, 2])
        wipes = (k[:, 0] == KARAOKE_CODES["fill"]) & (k[:, 3] > k[:, 2])
        self._ke = np.where(wipes, k[:, 3], self._ks)
        # fade state per event = how many of t1..t4 have passed; 1 and 3 are ramps when alphas differ
        fade_t = np.full((len(events), 4), np.iinfo(np.int64).max, np.int64)
        ramp1 = np.zeros(len(events), bool)
        ramp3 = np.zeros(len(events), bool)
        for i, ev in enumerate(events):
            if ev.fade is not None:
                a1, a2, a3, t1, t2, t3, t4 = ev.fade
                fade_t[i] = (ev.start + t1, ev.start + t2, ev.start + t3, ev.start + t4)
                ramp1[i], ramp3[i] = a1 != a2, a2 != a3
        self._fade_t, self._ramp1, self._ramp3 = fade_t, ramp1, ramp3
        switches = set(self._ks[self._ks != never].tolist()) | set(self._ke[wipes].tolist())
        switches |= set(fade_t[fade_t != np.iinfo(np.int64).max].tolist())
        self._switches = sorted(switches)

    def _union_of(self, mask: np.ndarray) -> Box | None:
        if not mask.any():
            return None
        b = self._boxes[mask]
        return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())

    def _states(self, t_ms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = (t_ms >= self._ks).astype(np.int8) + (t_ms >= self._ke)
        f = (t_ms >= self._fade_t).sum(axis=1)
        fading = ((f == 1) & self._ramp1) | ((f == 3) & self._ramp3)
        return k, f, fading

    def state(self, t_ms: int) -> int | None:
        """Equal numbers at two times mean identical pictures; None: changing at t."""
        k, _, fading = self._states(t_ms)
        if (k == 1).any() or fading.any():
            return None
        return bisect.bisect_right(self._switches, t_ms)

    def changed_boxes(self, t0: int, t1: int) -> list[Box]:
        """Where the picture at t1 can differ from the one at t0: per event, the union of
        the quads that switched, are wiping, or whose event fades."""
        k0, f0, fading0 = self._states(t0)
        k1, f1, fading1 = self._states(t1)
        event_changed = (f0 != f1) | fading1 | fading0
        changed = (k0 != k1) | (k1 == 1) | (k0 == 1) | event_changed[self._event_of]
        if not changed.any():
            return []
        boxes = []
        for i in np.unique(self._event_of[changed]).tolist():
            box = self._union_of(changed & (self._event_of == i))
            if box is not None:
                boxes.append(box)
        return boxes


def merge_boxes(boxes: Sequence[Box]) -> list[Box]:
    """Overlapping or touching boxes merged (a few boxes per frame: quadratic is fine)."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    out[i] = union(a, b)  # type: ignore[assignment]
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out


class Compositor:
    """Owns the GL objects for one output size; draws into `scene` (RGBA8, row 0 = top).

    Over a static background only the lyrics' area changes from one frame to the next, so
    `compose` redraws (and `convert_yuv` converts) just the union of the boxes of the glyphs
    drawn now and last time; the rest of `scene` and of the Y/U/V targets is already right.
    """

    def __init__(self, ctx: moderngl.Context, width: int, height: int, background: Background) -> None:
        if width < 1 or height < 1:
            raise RenderError(f"bad output size {width}x{height}")
        self.ctx = ctx
        self.width, self.height = width, height
        self.scene_texture = ctx.texture((width, height), 4)
        self.scene = ctx.framebuffer([self.scene_texture])
        self.atlas = GlyphAtlas(ctx)
        self._glyphs = program(ctx, "glyphs.vert", "glyphs.frag")
        self._glyphs["u_size"].value = (width, height)
        self._glyphs["u_atlas"].value = 0
        self._bg_prog = program(ctx, "fullscreen.vert", "background.frag")
        self._bg_prog["u_image"].value = 1
        self._bg_vao = ctx.vertex_array(self._bg_prog, [])
        self._instances: moderngl.Buffer | None = None
        self._vao: moderngl.VertexArray | None = None
        self._set: EventSet | None = None
        self._luma: moderngl.Framebuffer | None = None
        self._chroma: moderngl.Framebuffer | None = None
        self._yuv_objects: list = []
        self._scene_valid = False           # False: the next compose redraws the whole frame
        self._set_drawn: EventSet | None = None  # what `scene` shows now, and at which time
        self._t_drawn = 0
        self._yuv_dirty: list[Box] = []     # what changed in `scene` since the last conversion
        self.background = background
        self._bg_texture: moderngl.Texture | None = None
        self._bg_frame_index: int | None = None
        self._bg_mipmaps = False
        self._video_textures: dict[str, moderngl.Texture] = {}
        self._bg_units: list[tuple[moderngl.Texture, int]] = []
        self._setup_background()

    # -- background -------------------------------------------------------------------
    def _setup_background(self) -> None:
        bg = self.background
        prog = self._bg_prog
        if isinstance(bg, ImageBackground):
            if bg.pixels.shape != (self.height, self.width, 3):
                raise RenderError(f"background image is {bg.pixels.shape}, expected {(self.height, self.width, 3)}")
            self._bg_texture = self.ctx.texture((self.width, self.height), 3, bg.pixels.tobytes(), alignment=1)
            prog["u_mode"].value = 0
            prog["u_gain"].value = 1.0
        elif isinstance(bg, VideoBackground):
            c = cover(bg.width, bg.height, self.width, self.height)
            # shrinking a big video a lot: mipmaps keep it from shimmering
            self._bg_mipmaps = c.scale < 0.75
            inv = 1.0 / c.scale
            prog["u_scale"].value = (inv, inv)
            prog["u_offset"].value = ((bg.width - self.width * inv) / 2, (bg.height - self.height * inv) / 2)
            prog["u_src_size"].value = (bg.width, bg.height)
            prog["u_gain"].value = 1.0 - bg.dim
            for name, unit in (("u_plane_y", 3), ("u_plane_u", 4), ("u_plane_v", 5)):
                prog[name].value = unit
        elif not isinstance(bg, SolidBackground):
            raise RenderError(f"unknown background {bg!r}")

    def _video_texture(self, key: str, size: tuple[int, int], components: int) -> moderngl.Texture:
        tex = self._video_textures.get(key)
        if tex is None or tex.size != size or tex.components != components:
            if tex is not None:
                tex.release()
            tex = self.ctx.texture(size, components, alignment=1)
            tex.repeat_x = tex.repeat_y = False
            tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR if self._bg_mipmaps else moderngl.LINEAR, moderngl.LINEAR)
            self._video_textures[key] = tex
        return tex

    def _upload_video(self, picture: VideoPicture) -> None:
        planes = picture.yuv420()
        prog = self._bg_prog
        if planes is None:  # not 8-bit 4:2:0: swscale converts on the CPU
            rgb = picture.rgb()
            tex = self._video_texture("rgb", (rgb.shape[1], rgb.shape[0]), 3)
            tex.write(np.ascontiguousarray(rgb).tobytes(), alignment=1)
            textures = [(tex, 1)]
            prog["u_mode"].value = 1
        else:  # planes as decoded; the shader converts with the frame's own matrix and range
            textures = []
            for key, plane, unit in zip("yuv", planes, (3, 4, 5)):
                tex = self._video_texture(key, (plane.shape[1], plane.shape[0]), 1)
                tex.write(plane.tobytes(), alignment=1)
                textures.append((tex, unit))
            kr, kb, full = picture.matrix()
            prog["u_mode"].value = 2
            prog["u_kr_kb"].value = (kr, kb)
            prog["u_full_range"].value = full
        for tex, unit in textures:
            if self._bg_mipmaps:
                tex.build_mipmaps()
            tex.use(unit)
        self._bg_units = textures

    def invalidate(self) -> None:
        """Make the next compose redraw the whole frame."""
        self._scene_valid = False

    def background_state(self, t_ms: int) -> int:
        """A number that changes exactly when the background picture does (decodes video)."""
        bg = self.background
        if isinstance(bg, VideoBackground):
            index, picture = bg.frame_at(t_ms)
            if index != self._bg_frame_index:
                self._upload_video(picture)
                self._bg_frame_index = index
                self._scene_valid = False
            return index
        return 0

    def _draw_background(self, box: Box) -> None:
        bg = self.background
        if isinstance(bg, SolidBackground):
            r, g, b = bg.rgb
            self.scene.clear(r / 255.0, g / 255.0, b / 255.0, 1.0, viewport=_xywh(box))
            return
        if self._bg_texture is not None:
            self._bg_texture.use(1)
        for tex, unit in self._bg_units:
            tex.use(unit)
        self._bg_vao.render(moderngl.TRIANGLES, vertices=3)

    # -- glyphs -----------------------------------------------------------------------
    def event_set(self, events: Sequence[EventImage]) -> EventSet:
        """The prepared set for these events; rebuilt only when the set (or the atlas) changed."""
        ident = tuple(id(e) for e in events)
        cur = self._set
        if cur is not None and cur.ident == ident and cur.atlas_generation == self.atlas.generation:
            return cur
        rects = self.atlas.ensure(q.image for e in events for q in e.quads)
        data = instance_data(events, rects)
        self._set = EventSet(events, data, self.atlas.generation)
        self._upload(data)
        return self._set

    def _upload(self, data: np.ndarray) -> None:
        if not len(data):
            return
        raw = data.tobytes()
        if self._instances is None or self._instances.size < len(raw):
            if self._instances is not None:
                self._instances.release()
                assert self._vao is not None
                self._vao.release()
            self._instances = self.ctx.buffer(reserve=max(len(raw), 256 * INSTANCE_DTYPE.itemsize), dynamic=True)
            self._vao = self.ctx.vertex_array(
                self._glyphs, [(self._instances, INSTANCE_FORMAT, *INSTANCE_ATTRS)]
            )
        self._instances.write(raw)

    # -- frames -----------------------------------------------------------------------
    def compose(self, t_ms: int, events: Sequence[EventImage]) -> None:
        """Draw the frame at t_ms into `scene` (background_state(t_ms) must have been called for video)."""
        prev, prev_t = self._set_drawn, self._t_drawn
        s = self.event_set(events)
        if not self._scene_valid or prev is None:
            boxes: list[Box | None] = [(0, 0, self.width, self.height)]
        elif prev is s:
            boxes = list(s.changed_boxes(prev_t, t_ms))
        else:  # another set: redraw where either set has (or had) glyphs
            boxes = [*prev.event_boxes, *s.event_boxes]
        self._set_drawn, self._t_drawn, self._scene_valid = s, t_ms, True
        clipped = merge_boxes([b for b in (even_clamped(b, self.width, self.height) for b in boxes) if b])
        if not clipped:  # nothing moved: the scene already shows this frame
            return
        self._yuv_dirty.extend(clipped)
        self.scene.use()
        self.atlas.texture.use(0)
        self._glyphs["u_t"].value = int(t_ms)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        for box in clipped:
            self.scene.scissor = _xywh(box)
            self.ctx.disable(moderngl.BLEND)
            self._draw_background(box)
            if s.count:
                assert self._vao is not None
                self.ctx.enable(moderngl.BLEND)
                self._vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=s.count)
        self.ctx.disable(moderngl.BLEND)
        self.scene.scissor = None

    def read_rgb(self) -> np.ndarray:
        data = self.scene.read(components=3, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 3).copy()

    @property
    def yuv_size(self) -> int:
        return self.width * self.height * 3 // 2

    def convert_yuv(self, into: moderngl.Buffer) -> None:
        """Convert `scene` to I420 on the GPU and start copying it into `into` (a pixel-pack
        buffer of yuv_size bytes: Y, U, V planes back to back); the copy completes in the
        background and is waited for only when `into` is read."""
        if self.width % 2 or self.height % 2:
            raise RenderError(f"YUV 4:2:0 needs an even frame size, not {self.width}x{self.height}")
        if self._luma is None:
            self._setup_yuv()
        assert self._luma is not None and self._chroma is not None
        self.scene_texture.use(2)
        for box in merge_boxes(self._yuv_dirty):  # convert only what changed (even coordinates)
            self._luma.scissor = _xywh(box)
            self._luma.use()
            self._luma_vao.render(moderngl.TRIANGLES, vertices=3)
            self._chroma.scissor = _xywh((box[0] // 2, box[1] // 2, box[2] // 2, box[3] // 2))
            self._chroma.use()
            self._chroma_vao.render(moderngl.TRIANGLES, vertices=3)
        self._luma.scissor = self._chroma.scissor = None
        self._yuv_dirty = []
        w, h = self.width, self.height
        # three plain readbacks into one buffer: no per-pixel index math in any shader
        self._luma.read_into(into, components=1, alignment=1, write_offset=0)
        self._chroma.read_into(into, components=1, alignment=1, attachment=0, write_offset=w * h)
        self._chroma.read_into(into, components=1, alignment=1, attachment=1, write_offset=w * h + w * h // 4)

    def _setup_yuv(self) -> None:
        w, h = self.width, self.height
        luma_prog = program(self.ctx, "fullscreen.vert", "yuv_luma.frag")
        chroma_prog = program(self.ctx, "fullscreen.vert", "yuv_chroma.frag")
        luma_prog["u_rgb"].value = 2
        chroma_prog["u_rgb"].value = 2
        self._yuv_objects = [
            luma_prog, chroma_prog,
            self.ctx.texture((w, h), 1), self.ctx.texture((w // 2, h // 2), 1), self.ctx.texture((w // 2, h // 2), 1),
        ]
        self._luma = self.ctx.framebuffer([self._yuv_objects[2]])
        self._chroma = self.ctx.framebuffer(self._yuv_objects[3:5])
        self._luma_vao = self.ctx.vertex_array(luma_prog, [])
        self._chroma_vao = self.ctx.vertex_array(chroma_prog, [])
        self._yuv_objects += [self._luma, self._chroma, self._luma_vao, self._chroma_vao]

    def release(self) -> None:
        for obj in (self._vao, self._instances, self._bg_texture, *self._video_textures.values(), *self._yuv_objects):
            if obj is not None:
                obj.release()
        self.atlas.release()
        self.scene.release()
        self.scene_texture.release()
