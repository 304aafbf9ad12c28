"""The GPU compositor: background, then every glyph quad of the visible events in one
instanced draw, then (for video) RGB → I420 BT.709 in a shader pass.

Per frame the CPU does almost nothing: the quads of a set of visible events are turned
into one instance buffer when the set changes, and karaoke/fade state comes from the
frame time in the vertex shader. `EventSet.state(t)` also says when a frame must look
exactly like an earlier one (no wipe or fade in progress and no switch since), so callers
can skip rendering it altogether.
"""
from __future__ import annotations

import bisect
import logging
from typing import Hashable, Sequence

import moderngl
import numpy as np

from hotfolder.errors import RenderError
from hotfolder.render.atlas import GlyphAtlas
from hotfolder.render.background import Background, ImageBackground, SolidBackground, VideoBackground, cover
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


class EventSet:
    """One set of visible events, ready to draw, and when its look changes over time."""

    def __init__(self, events: Sequence[EventImage], data: np.ndarray, atlas_generation: int) -> None:
        self.events = tuple(events)  # held so the ids in `ident` stay unique while cached
        self.ident = tuple(id(e) for e in events)
        self.data = data
        self.count = len(data)
        self.atlas_generation = atlas_generation
        switches: set[int] = set()
        ramps: list[tuple[int, int]] = []
        for ev in events:
            if ev.fade is not None:
                a1, a2, a3, t1, t2, t3, t4 = ev.fade
                switches.update((ev.start + t1, ev.start + t2, ev.start + t3, ev.start + t4))
                if a1 != a2 and t2 > t1:
                    ramps.append((ev.start + t1, ev.start + t2))
                if a2 != a3 and t4 > t3:
                    ramps.append((ev.start + t3, ev.start + t4))
            for q in ev.quads:
                if q.karaoke == "none":
                    continue
                switches.add(q.k_start)
                if q.karaoke == "fill" and q.k_end > q.k_start:
                    switches.add(q.k_end)
                    ramps.append((q.k_start, q.k_end))
        self._switches = sorted(switches)
        self._ramp_start = np.array([a for a, _ in ramps], np.int64)
        self._ramp_end = np.array([b for _, b in ramps], np.int64)

    def state(self, t_ms: int) -> int | None:
        """Equal numbers at two times mean identical pictures; None: changing at t."""
        if self._ramp_start.size and bool(np.any((self._ramp_start <= t_ms) & (t_ms < self._ramp_end))):
            return None
        return bisect.bisect_right(self._switches, t_ms)


class Compositor:
    """Owns the GL objects for one output size; draws into `scene` (RGBA8, row 0 = top)."""

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
        self._yuv_prog: moderngl.Program | None = None
        self._yuv_fbo: moderngl.Framebuffer | None = None
        self._yuv_vao: moderngl.VertexArray | None = None
        self.background = background
        self._bg_texture: moderngl.Texture | None = None
        self._bg_frame_index: int | None = None
        self._setup_background()

    # -- background -------------------------------------------------------------------
    def _setup_background(self) -> None:
        bg = self.background
        if isinstance(bg, ImageBackground):
            if bg.pixels.shape != (self.height, self.width, 3):
                raise RenderError(f"background image is {bg.pixels.shape}, expected {(self.height, self.width, 3)}")
            self._bg_texture = self.ctx.texture((self.width, self.height), 3, bg.pixels.tobytes(), alignment=1)
            self._bg_prog["u_exact"].value = True
            self._bg_prog["u_gain"].value = 1.0
        elif isinstance(bg, VideoBackground):
            self._bg_texture = self.ctx.texture((bg.width, bg.height), 3, alignment=1)
            self._bg_texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._bg_texture.repeat_x = self._bg_texture.repeat_y = False
            c = cover(bg.width, bg.height, self.width, self.height)
            inv = 1.0 / c.scale
            self._bg_prog["u_exact"].value = False
            self._bg_prog["u_scale"].value = (inv, inv)
            self._bg_prog["u_offset"].value = ((bg.width - self.width * inv) / 2, (bg.height - self.height * inv) / 2)
            self._bg_prog["u_gain"].value = 1.0  # the dim is applied when decoding
        elif not isinstance(bg, SolidBackground):
            raise RenderError(f"unknown background {bg!r}")

    def background_state(self, t_ms: int) -> int:
        """A number that changes exactly when the background picture does (decodes video)."""
        bg = self.background
        if isinstance(bg, VideoBackground):
            index, rgb = bg.frame_at(t_ms)
            if index != self._bg_frame_index:
                assert self._bg_texture is not None
                self._bg_texture.write(np.ascontiguousarray(rgb).tobytes(), alignment=1)
                self._bg_frame_index = index
            return index
        return 0

    def _draw_background(self) -> None:
        bg = self.background
        if isinstance(bg, SolidBackground):
            r, g, b = bg.rgb
            self.ctx.clear(r / 255.0, g / 255.0, b / 255.0, 1.0)
            return
        assert self._bg_texture is not None
        self._bg_texture.use(1)
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
        s = self.event_set(events)
        self.scene.use()
        self.ctx.disable(moderngl.BLEND)
        self._draw_background()
        if s.count:
            assert self._vao is not None
            self.ctx.enable(moderngl.BLEND)
            self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
            self.atlas.texture.use(0)
            self._glyphs["u_t"].value = int(t_ms)
            self._vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=s.count)
            self.ctx.disable(moderngl.BLEND)

    def read_rgb(self) -> np.ndarray:
        data = self.scene.read(components=3, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 3).copy()

    @property
    def yuv_size(self) -> int:
        return self.width * self.height * 3 // 2

    def convert_yuv(self, into: moderngl.Buffer) -> None:
        """Convert `scene` to I420 on the GPU and start reading it into `into` (a pixel-pack
        buffer of yuv_size bytes); the copy finishes in the background."""
        if self.width % 2 or self.height % 2:
            raise RenderError(f"YUV 4:2:0 needs an even frame size, not {self.width}x{self.height}")
        if self._yuv_prog is None:
            self._yuv_prog = program(self.ctx, "fullscreen.vert", "yuv420.frag")
            self._yuv_prog["u_rgb"].value = 2
            self._yuv_prog["u_size"].value = (self.width, self.height)
            target = self.ctx.texture((self.width, self.height * 3 // 2), 1)
            self._yuv_fbo = self.ctx.framebuffer([target])
            self._yuv_vao = self.ctx.vertex_array(self._yuv_prog, [])
        assert self._yuv_fbo is not None and self._yuv_vao is not None
        self._yuv_fbo.use()
        self.scene_texture.use(2)
        self._yuv_vao.render(moderngl.TRIANGLES, vertices=3)
        self._yuv_fbo.read_into(into, components=1, alignment=1)

    def release(self) -> None:
        for obj in (self._vao, self._instances, self._yuv_vao, self._yuv_fbo, self._bg_texture):
            if obj is not None:
                obj.release()
        self.atlas.release()
        self.scene.release()
        self.scene_texture.release()
