"""FrameRenderer: a project at one output size → RGB frames or I420 planes, on the GPU.

The imperative shell around layout (CPU) and the compositor (GPU). `iter_yuv420` is the
fast path for encoding: colour conversion in a shader, readback through a ring of
pixel-pack buffers so frame N+1 is being drawn while frame N is copied back, and frames
that must look exactly like the previous one (static background, no wipe or fade moving,
no syllable switching) are not drawn or read at all.

The GL context is current on the thread that made the FrameRenderer: call it from that
thread only (hand the arrays to an encoder thread, not the renderer).
"""
from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator

import moderngl
import numpy as np

from hotfolder.errors import RenderError
from hotfolder.project.model import Project
from hotfolder.render.background import resolve_background
from hotfolder.render.compositor import Compositor
from hotfolder.render.gl import create_context, renderer_string
from hotfolder.render.types import EventImage, Layout
from hotfolder.settings import RenderSettings

log = logging.getLogger(__name__)

READBACK_DEPTH = 3  # pixel-pack buffers in flight: draw N+2 and N+1 while N is copied


def output_size(project: Project, settings: RenderSettings) -> tuple[int, int]:
    if settings.size_from_project and project.play_res:
        return project.play_res
    return settings.width, settings.height


def _fonts_dir(project: Project, settings: RenderSettings) -> Path | None:
    if settings.fonts_dir is not None:
        return Path(settings.fonts_dir)
    d = project.media.fonts_dir
    if d is None:
        return None
    return d if d.is_absolute() else project.source.parent / d


def _build_layout(project: Project, width: int, height: int, fonts_dir: Path | None) -> Layout:
    if project.display is not None:
        from hotfolder.presentation import present

        project = present(project, width, height)
    from hotfolder.render.layout import build_layout

    return build_layout(project, width, height, fonts_dir)


class FrameRenderer:
    def __init__(self, project: Project, settings: RenderSettings, *, layout: Layout | None = None) -> None:
        """`layout` replaces the one built from the project (tests compose by hand)."""
        self.width, self.height = output_size(project, settings)
        if self.width < 2 or self.height < 2 or self.width > 16384 or self.height > 16384:
            raise RenderError(f"output size {self.width}x{self.height} is out of range")
        if settings.fps < 1:
            raise RenderError(f"fps must be positive, not {settings.fps}")
        self.fps = settings.fps
        self.layout: Layout = (
            layout if layout is not None else _build_layout(project, self.width, self.height, _fonts_dir(project, settings))
        )
        self.background = resolve_background(project, settings, self.width, self.height)
        self._pbos: list = []
        self.ctx: moderngl.Context | None = None
        try:
            self.ctx = create_context(settings.gpu)
            self.renderer = renderer_string(self.ctx)
            self.compositor = Compositor(self.ctx, self.width, self.height, self.background)
        except BaseException:
            self._close_background()
            if self.ctx is not None:
                self.ctx.release()
            raise
        self.frames_drawn = 0  # frames actually drawn on the GPU (the rest were repeats)

    def _draw(self, t_ms: int) -> None:
        self.compositor.background_state(t_ms)
        self.compositor.compose(t_ms, self.layout.events_at(t_ms))
        self.frames_drawn += 1

    def render_rgb(self, t_ms: int) -> np.ndarray:
        """(H, W, 3) uint8: exactly what the video shows at t_ms."""
        if self.ctx is None:
            raise RenderError("the frame renderer was closed")
        self._draw(t_ms)
        return self.compositor.read_rgb()

    def _frame_key(self, t_ms: int, events: list[EventImage]) -> tuple[int, ...] | None:
        """Equal keys → identical frames; None → draw it."""
        bg = self.compositor.background_state(t_ms)
        s = self.compositor.event_set(events)
        state = s.state(t_ms)
        if state is None:
            return None
        return (bg, *s.ident, s.atlas_generation, state)

    def iter_yuv420(self, times: Iterable[int]) -> Iterator[np.ndarray]:
        """(H*3//2, W) uint8 I420 planes (Y, U, V; BT.709 limited range) per time, in order.
        The arrays are read-only; a repeated frame may be the very same array."""
        c, ctx = self.compositor, self.ctx
        if ctx is None:
            raise RenderError("the frame renderer was closed")
        if not self._pbos:
            self._pbos = [ctx.buffer(reserve=c.yuv_size) for _ in range(READBACK_DEPTH)]
        free = deque(self._pbos)
        pending: deque = deque()  # ("read", buffer) | ("repeat", None), in frame order
        last: np.ndarray | None = None
        last_key: tuple[int, ...] | None = None

        def collect() -> np.ndarray:
            nonlocal last
            kind, buf = pending.popleft()
            if kind == "read":
                arr = np.empty((self.height * 3 // 2, self.width), np.uint8)
                buf.read_into(arr)
                free.append(buf)
                arr.flags.writeable = False
                last = arr
            assert last is not None
            return last

        for t in times:
            events = self.layout.events_at(t)
            key = self._frame_key(t, events)
            if key is not None and key == last_key:
                pending.append(("repeat", None))
            else:
                while not free:
                    yield collect()
                buf = free.popleft()
                c.compose(t, events)
                self.frames_drawn += 1
                c.convert_yuv(buf)
                pending.append(("read", buf))
            last_key = key
            while len(pending) >= READBACK_DEPTH:
                yield collect()
        while pending:
            yield collect()

    def _close_background(self) -> None:
        close = getattr(self.background, "close", None)
        if close is not None:
            close()

    def close(self) -> None:
        """Release the GL objects and the background's decoder (a second call does nothing)."""
        if self.ctx is None:
            return
        for buf in self._pbos:
            buf.release()
        self._pbos = []
        self.compositor.release()
        self._close_background()
        self.ctx.release()
        self.ctx = None

    def __enter__(self) -> "FrameRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
