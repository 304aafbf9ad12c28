"""The GL compositor on llvmpipe (or a GPU): context, atlas, colours, blending, karaoke
wipe/switch/\\ko, fades, BT.709 conversion. Layouts are built by hand here: known
bitmaps at known pixels, so every expected value is computed from first principles."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from hotfolder.errors import RenderError
from hotfolder.project.model import Color, Project
from hotfolder.render import gl
from hotfolder.render.atlas import GlyphAtlas, ShelfPacker
from hotfolder.render.frames import FrameRenderer
from hotfolder.render.types import EventImage, GlyphImage, Quad
from hotfolder.settings import RenderSettings
from yuv_ref import bt709_i420

W, H = 160, 90


class HandLayout:
    """A Layout over fixed events (same objects every call, like the real layout's cache)."""

    def __init__(self, events: list[EventImage]) -> None:
        self.events = events

    def events_at(self, t_ms: int) -> list[EventImage]:
        return [e for e in self.events if e.start <= t_ms < e.end]


def renderer(events: list[EventImage], background: str = "black", w: int = W, h: int = H) -> FrameRenderer:
    project = Project("ass", Path("/nonexistent/song.ass"))
    settings = RenderSettings(width=w, height=h, fps=25, background=background)
    return FrameRenderer(project, settings, layout=HandLayout(events))


def block(key: str, w: int, h: int, value: int = 255) -> GlyphImage:
    return GlyphImage(key, np.full((h, w), value, np.uint8))


def over(dst: np.ndarray, rgb: tuple[int, int, int], alpha: float) -> np.ndarray:
    """Straight-alpha "over" on 8-bit values, as libass output is blended by ffmpeg."""
    return np.asarray(dst, float) * (1 - alpha) + np.asarray(rgb, float) * alpha


# -- context --------------------------------------------------------------------------

def test_context_reports_renderer_and_warns_once_on_software(caplog, monkeypatch):
    monkeypatch.setattr(gl, "_warned_software", False)
    with caplog.at_level(logging.WARNING, logger="hotfolder.render.gl"):
        a = gl.create_context()
        b = gl.create_context()
    name = gl.renderer_string(a)
    assert name and name != "unknown"
    warnings = [r for r in caplog.records if "no GPU" in r.getMessage()]
    assert len(warnings) == (1 if gl.is_software(name) else 0)
    a.release()
    b.release()


def test_missing_egl_library_names_the_package(monkeypatch):
    monkeypatch.setenv("GLCONTEXT_LINUX_LIBEGL", "libEGL-does-not-exist.so.1")
    with pytest.raises(RenderError, match="libegl1"):
        gl.create_context()


def test_bad_gpu_index_is_a_clear_error():
    with pytest.raises(RenderError, match="GPU 99 does not exist"):
        gl.create_context(99)


# -- atlas ----------------------------------------------------------------------------

def test_shelf_packer_places_without_overlap_and_reports_full():
    p = ShelfPacker(64, 64)
    rects = []
    for i in range(40):
        w, h = 5 + i % 7, 6 + i % 5
        pos = p.place(w, h)
        if pos is None:
            break
        rects.append((pos[0], pos[1], w, h))
    assert len(rects) > 20
    grid = np.zeros((64, 64), int)
    for x, y, w, h in rects:
        assert x + w <= 64 and y + h <= 64
        grid[y : y + h, x : x + w] += 1
    assert grid.max() == 1
    assert p.place(65, 1) is None


def test_atlas_uploads_each_key_once_grows_and_evicts():
    ctx = gl.create_context()
    try:
        atlas = GlyphAtlas(ctx, size=32, max_size=64)
        rng = np.random.default_rng(1)
        imgs = [GlyphImage(("g", i), rng.integers(0, 256, (12, 14), dtype=np.uint8)) for i in range(10)]
        rects = atlas.ensure(imgs[:4])
        assert atlas.uploads == 4
        atlas.ensure(imgs[:4])
        assert atlas.uploads == 4  # same keys: nothing uploaded again
        atlas.ensure(imgs)  # 10 bitmaps of 14x12 do not fit 32x32: grows to 64
        assert atlas.size == 64 and atlas.generation == 0
        assert atlas.rect(("g", 0)) == rects[("g", 0)]  # growing keeps places
        big = [GlyphImage(("b", i), rng.integers(0, 256, (30, 30), dtype=np.uint8)) for i in range(4)]
        rects = atlas.ensure(big)  # full at max size: only what is asked for stays
        assert atlas.generation == 1 and ("g", 0) not in atlas
        tex = np.frombuffer(atlas.texture.read(alignment=1), np.uint8).reshape(64, 64)
        for img in big:
            x, y, w, h = rects[img.key]
            assert np.array_equal(tex[y : y + h, x : x + w], img.pixels)
        with pytest.raises(RenderError, match="atlas"):
            atlas.ensure([GlyphImage("huge", np.zeros((65, 10), np.uint8))])
    finally:
        ctx.release()


# -- colours and blending ---------------------------------------------------------------

def test_solid_colours_and_straight_alpha_blending_like_libass():
    half = block("half", 30, 10, 128)  # x 20..49, the shadow ends at 39
    fill = Color(250, 200, 20, 200)
    ev = EventImage(0, 1000, [
        Quad(block("full", 30, 20), 10, 5, "shadow", Color(0, 0, 255), Color(0, 0, 255)),
        Quad(half, 20, 10, "fill", fill, fill),
    ])
    with renderer([ev], background="#204060") as r:
        img = r.render_rgb(500).astype(int)
        assert r.renderer
    assert tuple(img[0, 0]) == (0x20, 0x40, 0x60)          # background only
    assert tuple(img[6, 12]) == (0, 0, 255)                # opaque shadow quad
    expect = over((0, 0, 255), (250, 200, 20), 128 / 255 * 200 / 255)
    assert np.abs(img[12, 25] - expect).max() <= 1         # half coverage x colour alpha, over the shadow
    expect_bg = over((0x20, 0x40, 0x60), (250, 200, 20), 128 / 255 * 200 / 255)
    assert np.abs(img[12, 45] - expect_bg).max() <= 1      # part of the fill outside the shadow
    assert tuple(img[9, 25]) == (0, 0, 255) and tuple(img[10, 20]) != (0, 0, 255)  # exact placement
    assert tuple(img[12, 40]) != (0x20, 0x40, 0x60) and tuple(img[12, 50]) == (0x20, 0x40, 0x60)


def test_bitmap_rows_and_columns_land_where_layout_put_them():
    pixels = np.zeros((6, 8), np.uint8)
    pixels[0, 0] = 255   # top-left
    pixels[5, 7] = 255   # bottom-right
    ev = EventImage(0, 1000, [Quad(GlyphImage("corners", pixels), 50, 40, "fill", Color(255, 255, 255), Color(255, 255, 255))])
    with renderer([ev]) as r:
        img = r.render_rgb(0)
    lit = np.argwhere(img[:, :, 0] > 0)
    assert lit.tolist() == [[40, 50], [45, 57]]


def test_events_outside_their_time_are_not_drawn_and_later_events_are_on_top():
    a = EventImage(0, 1000, [Quad(block("a", 10, 10), 5, 5, "fill", Color(255, 0, 0), Color(255, 0, 0))])
    b = EventImage(500, 1500, [Quad(block("b", 10, 10), 8, 5, "fill", Color(0, 255, 0), Color(0, 255, 0))])
    with renderer([a, b]) as r:
        f0, f1, f2 = r.render_rgb(0), r.render_rgb(700), r.render_rgb(1200)
    assert tuple(f0[8, 10]) == (255, 0, 0) and tuple(f0[8, 16]) == (0, 0, 0)
    assert tuple(f1[8, 10]) == (0, 255, 0) and tuple(f1[8, 6]) == (255, 0, 0)
    assert tuple(f2[8, 6]) == (0, 0, 0) and tuple(f2[8, 10]) == (0, 255, 0)


# -- karaoke ----------------------------------------------------------------------------

SUNG, UNSUNG = Color(255, 255, 0), Color(0, 128, 255)


def test_fill_wipe_position_at_known_times():
    # \kf over 1000..2000 ms, wiping from x=20 to x=120 across a 100 px wide bitmap at x=20
    q = Quad(block("wide", 100, 10), 20, 30, "fill", SUNG, UNSUNG, "fill", 1000, 2000, 20.0, 120.0)
    with renderer([EventImage(0, 5000, [q])], w=160, h=90) as r:
        for t, split in ((999, 20), (1000, 20), (1250, 45), (1500, 70), (1733, 93), (1999, 119), (2000, 120)):
            row = r.render_rgb(t)[35, 20:120]
            sung = np.all(row == (SUNG.r, SUNG.g, SUNG.b), axis=1)
            unsung = np.all(row == (UNSUNG.r, UNSUNG.g, UNSUNG.b), axis=1)
            assert (sung | unsung).all()
            n = split - 20
            assert sung[:n].all() and unsung[n:].all(), f"t={t}: expected {n} sung columns, got {sung.sum()}"


def test_instant_switch_lands_on_k_start():
    q = Quad(block("k", 10, 10), 10, 10, "fill", SUNG, UNSUNG, "instant", 1040, 1200)
    with renderer([EventImage(0, 5000, [q])]) as r:
        assert tuple(r.render_rgb(1039)[12, 12]) == (UNSUNG.r, UNSUNG.g, UNSUNG.b)
        assert tuple(r.render_rgb(1040)[12, 12]) == (SUNG.r, SUNG.g, SUNG.b)
        assert tuple(r.render_rgb(4000)[12, 12]) == (SUNG.r, SUNG.g, SUNG.b)


def test_ko_outline_hidden_until_the_syllable_starts_shadow_stays():
    outline_c, shadow_c = Color(200, 0, 0), Color(0, 0, 200)
    quads = [
        Quad(block("sh", 14, 14), 40, 12, "shadow", shadow_c, shadow_c, "outline", 1000, 1500),
        Quad(block("ol", 14, 14), 10, 10, "outline", outline_c, outline_c, "outline", 1000, 1500),
        Quad(block("fi", 10, 10), 12, 12, "fill", SUNG, UNSUNG, "outline", 1000, 1500),
    ]
    with renderer([EventImage(0, 5000, quads)]) as r:
        before, after = r.render_rgb(999), r.render_rgb(1000)
    assert tuple(before[11, 11]) == (0, 0, 0)          # outline ring: nothing yet
    assert tuple(before[15, 15]) == (UNSUNG.r, UNSUNG.g, UNSUNG.b)
    assert tuple(before[15, 45]) == (0, 0, 200)        # shadow is not affected by \ko
    assert tuple(after[11, 11]) == (200, 0, 0)
    assert tuple(after[15, 15]) == (SUNG.r, SUNG.g, SUNG.b)


def libass_fade_opacity(now: int, fade: tuple[int, ...], opacity: int) -> float:
    """libass interpolate_alpha + mult_alpha, in Python."""
    a1, a2, a3, t1, t2, t3, t4 = fade
    if now < t1:
        a = a1
    elif now < t2:
        cf = (now - t1) / (t2 - t1)
        a = int(a1 * (1 - cf) + a2 * cf)
    elif now < t3:
        a = a2
    elif now < t4:
        cf = (now - t3) / (t4 - t3)
        a = int(a2 * (1 - cf) + a3 * cf)
    else:
        a = a3
    tr = 255 - opacity
    return (255 - (tr - (tr * a + 127) // 255 + a)) / 255


@pytest.mark.parametrize("colour_alpha", [255, 160])
def test_fade_in_and_out_alpha_over_time(colour_alpha):
    # \fad(400, 600) on an event 1000..3000
    fade = (255, 0, 255, 0, 400, 2000 - 600, 2000)
    c = Color(255, 255, 255, colour_alpha)
    ev = EventImage(1000, 3000, [Quad(block("f", 10, 10), 10, 10, "fill", c, c)], fade=fade)
    with renderer([ev], background="#000000") as r:
        for t in (1000, 1100, 1200, 1399, 1400, 2000, 2400, 2700, 2999):
            got = int(r.render_rgb(t)[12, 12, 0])
            want = 255 * libass_fade_opacity(t - 1000, fade, colour_alpha)
            assert abs(got - want) <= 1, (t, got, want)
        assert int(r.render_rgb(1200)[12, 12, 0]) not in (0, 255)


# -- YUV --------------------------------------------------------------------------------



@pytest.mark.parametrize("size", [(W, H), (94, 34)])  # 34 rows: chroma planes of odd height
def test_gpu_yuv420_matches_numpy_bt709(size, tmp_path):
    w, h = size
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    from hotfolder.commands.still import encode_png

    bg = tmp_path / "noise.png"
    bg.write_bytes(encode_png(noise))
    q = Quad(block("y", 30, 12, 200), 5, 5, "fill", Color(255, 40, 90, 220), Color(255, 40, 90, 220))
    with renderer([EventImage(0, 1000, [q])], background=str(bg), w=w, h=h) as r:
        rgb = r.render_rgb(0)
        (yuv,) = list(r.iter_yuv420([0]))
    assert np.array_equal(rgb[20:, 40:], noise[20:, 40:])  # exact-size image: copied texel for texel
    assert yuv.shape == (h * 3 // 2, w) and yuv.dtype == np.uint8
    ref = bt709_i420(rgb)
    diff = np.abs(yuv.astype(int) - ref.astype(int))
    assert diff.max() <= 1, diff.max()
    # limited range: pure black and white map to 16 and 235
    black_white = np.zeros((2, 4, 3), np.uint8)
    black_white[:, 2:] = 255
    assert bt709_i420(black_white)[0].tolist() == [16, 16, 235, 235]
