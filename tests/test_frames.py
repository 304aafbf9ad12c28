"""FrameRenderer end to end on real GL: the async I420 path equals the RGB frames
converted, repeated frames are not redrawn, backgrounds (colour, image cover-scaled,
looping video decoded with PyAV) and how the background is chosen."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from hotfolder.commands.still import encode_png
from hotfolder.errors import ProjectError, RenderError
from hotfolder.project.model import Color, Media, Project
from hotfolder.render.background import (
    ImageBackground, SolidBackground, VideoBackground, cover, parse_color, resolve_background,
)
from hotfolder.render.frames import FrameRenderer
from hotfolder.render.types import EventImage, GlyphImage, Quad, frame_time_ms
from hotfolder.settings import RenderSettings
from yuv_ref import bt709_i420

W, H = 160, 90


class HandLayout:
    def __init__(self, events: list[EventImage]) -> None:
        self.events = events
        self.calls = 0

    def events_at(self, t_ms: int) -> list[EventImage]:
        self.calls += 1
        return [e for e in self.events if e.start <= t_ms < e.end]




def karaoke_events() -> list[EventImage]:
    glyph = GlyphImage("g", np.tile(np.linspace(0, 255, 24).astype(np.uint8), (16, 1)))
    sung, unsung = Color(255, 220, 0), Color(40, 120, 255)
    quads = [
        Quad(glyph, 10 + 26 * i, 40, "fill", sung, unsung, "fill", 400 + 200 * i, 600 + 200 * i, 10 + 26 * i, 34 + 26 * i)
        for i in range(3)
    ]
    quads.append(Quad(glyph, 100, 40, "fill", sung, unsung, "instant", 1000, 1100))
    return [EventImage(200, 1400, quads, fade=(255, 0, 255, 0, 120, 1000, 1200))]


def project(tmp_path: Path, media: Media | None = None) -> Project:
    return Project("ass", tmp_path / "song.ass", media=media or Media())


def test_async_yuv_equals_rgb_frames_converted_and_repeats_are_not_redrawn(tmp_path):
    fps = 25
    times = [frame_time_ms(i, fps) for i in range(45)]  # 0..1760 ms: before, during and after the line
    layout = HandLayout(karaoke_events())
    settings = RenderSettings(width=W, height=H, fps=fps, background="#102030")
    with FrameRenderer(project(tmp_path), settings, layout=layout) as r:
        expected = [bt709_i420(r.render_rgb(t)) for t in times]
        r.frames_drawn = 0
        got = list(r.iter_yuv420(iter(times)))  # any iterable, consumed lazily
        drawn = r.frames_drawn
        # a consumer that stops early leaves the renderer usable
        gen = r.iter_yuv420(times)
        first = next(gen)
        gen.close()
        again = list(r.iter_yuv420(times[10:14]))
    assert len(got) == len(times)
    for t, a, b in zip(times, got, expected):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, t
        assert not a.flags.writeable
    # static stretches (before 200 ms, the held middle of the line, after 1400 ms) are repeats
    assert 15 < drawn < len(times) - 10
    assert np.array_equal(first, got[0])
    assert all(np.array_equal(a, got[10 + i]) for i, a in enumerate(again))
    # frames really change where the wipe and fade move, and hold where nothing does
    assert not np.array_equal(got[12], got[13])  # 480 / 520 ms: wipe in progress
    assert np.array_equal(got[0], got[3]) and np.array_equal(got[40], got[44])


def test_readback_is_pipelined(tmp_path):
    """Frame N is handed out only after later frames were drawn (its pixel-pack buffer was
    filled while they rendered), and the lag never exceeds the ring of buffers."""
    layout = HandLayout(karaoke_events())
    times = [frame_time_ms(i, 25) for i in range(10, 20)]  # all during wipes: every frame drawn
    with FrameRenderer(project(tmp_path), RenderSettings(width=W, height=H, fps=25), layout=layout) as r:
        gen = r.iter_yuv420(times)
        lags = []
        for i, _ in enumerate(gen):
            drawn = r.frames_drawn
            lags.append(drawn - (i + 1))
        assert r.frames_drawn == len(times)
    assert lags[0] >= 1 and max(lags) <= 2 and lags[-1] == 0, lags


@pytest.mark.parametrize("solid", [False, True])
def test_redrawing_only_what_changed_gives_the_same_frames_as_full_redraws(tmp_path, solid):
    """The compositor redraws only boxes that changed since the frame it drew last; in any
    order of times (forwards, backwards, repeats, set changes), the result must equal a
    frame drawn from scratch."""
    events = karaoke_events()
    glyph = GlyphImage("o", np.full((20, 30), 180, np.uint8))
    # a second event that overlaps the first one's box and comes and goes
    events.append(EventImage(600, 900, [Quad(glyph, 30, 34, "fill", Color(255, 0, 0, 128), Color(0, 255, 0), "instant", 700, 700)]))
    events.append(EventImage(0, 2000, [Quad(glyph, 120, 5, "outline", Color(9, 9, 9), Color(9, 9, 9))]))
    bg = tmp_path / "bg.png"
    bg.write_bytes(encode_png(np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8)))
    rng = np.random.default_rng(5)
    times = [0, 40, 200, 240, 460, 480, 480, 650, 700, 699, 1100, 1000, 300, 1390, 1410, 1990, 2500]
    times += rng.integers(0, 2100, 25).tolist()
    background = "#336699" if solid else str(bg)
    with FrameRenderer(project(tmp_path), RenderSettings(width=W, height=H, background=background), layout=HandLayout(events)) as r:
        seq = [r.render_rgb(t) for t in times]
        seq_yuv = list(r.iter_yuv420(times))
        for t, a, y in zip(times, seq, seq_yuv):
            r.compositor.invalidate()
            fresh = r.render_rgb(t)
            assert np.array_equal(a, fresh), t
            assert np.abs(y.astype(int) - bt709_i420(fresh).astype(int)).max() <= 1, t


def test_close_twice_and_use_after_close(tmp_path):
    r = FrameRenderer(project(tmp_path), RenderSettings(width=W, height=H), layout=HandLayout([]))
    r.close()
    r.close()
    with pytest.raises(RenderError, match="closed"):
        r.render_rgb(0)
    with pytest.raises(RenderError, match="closed"):
        list(r.iter_yuv420([0]))


def test_odd_size_cannot_be_yuv420(tmp_path):
    settings = RenderSettings(width=W + 1, height=H, background="black")
    with FrameRenderer(project(tmp_path), settings, layout=HandLayout([])) as r:
        assert r.render_rgb(0).shape == (H, W + 1, 3)
        with pytest.raises(RenderError, match="even"):
            list(r.iter_yuv420([0]))


# -- backgrounds ------------------------------------------------------------------------

def test_parse_color():
    assert parse_color("black") == (0, 0, 0)
    assert parse_color("#FF8000") == (255, 128, 0)
    assert parse_color("#f80") == (255, 136, 0)
    assert parse_color("0x102030") == (16, 32, 48)
    assert parse_color("bg.png") is None and parse_color("nope") is None


def test_cover_math():
    c = cover(200, 100, 320, 180)
    assert (c.scaled_w, c.scaled_h, c.crop_x, c.crop_y) == (360, 180, 20, 0)
    c = cover(40, 40, 160, 90)
    assert (c.scaled_w, c.scaled_h, c.crop_x, c.crop_y) == (160, 160, 0, 35)


def test_image_background_covers_and_centre_crops(tmp_path):
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, :] = (0, 0, 255)
    img[:, :10] = (0, 255, 0)    # cropped away: cover scales by 1.8 and crops 20 px (11 source px) per side
    img[:, 190:] = (0, 255, 0)
    img[:, 12:40] = (255, 0, 0)  # visible at the left edge
    path = tmp_path / "bg.png"
    path.write_bytes(encode_png(img))
    settings = RenderSettings(width=320, height=180, background=str(path))
    with FrameRenderer(project(tmp_path), settings, layout=HandLayout([])) as r:
        out = r.render_rgb(0).astype(int)
    assert out.shape == (180, 320, 3)
    assert out[:, 3:-3, 1].max() < 40                      # no green survives the crop
    assert np.abs(out[[0, 90, 179], 10] - (255, 0, 0)).max() <= 3   # full height, red band at the left
    assert np.abs(out[[0, 90, 179], 200] - (0, 0, 255)).max() <= 3
    # x1.8 then 20 px off: the red band (source 12..39) ends near output x 52; a stretch
    # (x1.6) would end it at 64, a fit (x0.9 with bars) at 36 + bar
    assert np.abs(out[90, 48] - (255, 0, 0)).max() <= 3 and np.abs(out[90, 56] - (0, 0, 255)).max() <= 3


def make_clip(path: Path, frames: int = 10, fps: int = 10, size: tuple[int, int] = (40, 40), step: int = 20) -> list[int]:
    """frames/fps seconds; frame i: top 10 rows bright, the rest grey level 20 + step*i. Returns the levels."""
    levels = [20 + step * i for i in range(frames)]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height = size
        s.pix_fmt = "yuv420p"
        s.codec_context.gop_size = 8  # keyframes every 0.8 s, so seeks land before the target
        s.options = {"qp": "0", "preset": "ultrafast"}
        for i, level in enumerate(levels):
            a = np.full((size[1], size[0], 3), level, np.uint8)
            a[:10] = 250
            f = av.VideoFrame.from_ndarray(a, format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return levels


def test_video_background_loops_honours_gap_dims_and_covers(tmp_path):
    clip = tmp_path / "loop.mp4"
    levels = make_clip(clip)
    gap = 250
    media = Media(video=Path("loop.mp4"), video_gap=gap)  # relative to the project file
    settings = RenderSettings(width=W, height=H, fps=25)
    with FrameRenderer(project(tmp_path, media), settings, layout=HandLayout([])) as r:
        assert isinstance(r.background, VideoBackground)

        def level(t: int) -> int:
            return int(r.render_rgb(t)[60, 80, 1])

        def expect(t: int) -> int:
            return levels[(max(0, t - gap) % 1000) // 100]

        seq = [0, 249, 250, 349, 350, 640, 1249, 1250, 1260, 1790, 2600, 3249, 3250]
        for t in seq + [100, 700, 2000]:  # forward, across loops, then backwards (restart)
            assert abs(level(t) - expect(t)) <= 3, (t, level(t), expect(t))
        assert r.background.loop_ms == 1000
        top = r.render_rgb(300)
        # 40x40 covering 160x90: x4 and 35 rows cropped, so the bright top 10 source rows
        # end at output row 5 (a stretch would reach row 22)
        assert top[1, 80, 1] > 200 and abs(int(top[12, 80, 1]) - levels[0]) <= 3
        yuv = list(r.iter_yuv420([frame_time_ms(i, 25) for i in range(60)]))
        assert len(yuv) == 60
        assert r.frames_drawn >= 20  # a moving background is drawn whenever its frame changes
    dimmed = RenderSettings(width=W, height=H, fps=25, background=str(clip), background_dim=0.5)
    with FrameRenderer(project(tmp_path, Media(video_gap=gap)), dimmed, layout=HandLayout([])) as r:
        assert abs(int(r.render_rgb(1260)[60, 80, 1]) - round(expect(1260) * 0.5)) <= 3


@pytest.mark.parametrize("pix_fmt,colorspace,color_range", [
    ("yuv420p", 1, 1),     # BT.709 limited: converted on the GPU
    ("yuv420p", 2, 1),     # untagged: BT.601, as swscale assumes
    ("yuvj420p", 5, 2),    # full range
    ("yuv444p", 1, 1),     # not 4:2:0: swscale converts, the GPU only scales
])
def test_video_frames_converted_on_the_gpu_with_their_own_matrix_and_range(tmp_path, pix_fmt, colorspace, color_range):
    x = np.linspace(0, 1, W)[None, :, None]
    y = np.linspace(0, 1, H)[:, None, None]
    rgb = np.concatenate([np.broadcast_to(30 + 200 * x, (H, W, 1)), np.broadcast_to(220 - 180 * y, (H, W, 1)),
                          np.broadcast_to(60 + 120 * x * y, (H, W, 1))], axis=2).astype(np.uint8)
    clip = tmp_path / "grad.mp4"
    with av.open(str(clip), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = W, H, pix_fmt
        s.codec_context.colorspace = colorspace
        s.codec_context.color_range = color_range
        s.options = {"qp": "0", "preset": "ultrafast"}
        for i in range(3):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt, dst_colorspace=colorspace, dst_color_range=color_range)
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with av.open(str(clip)) as c:
        frame = next(c.decode(video=0))
        reference = frame.to_ndarray(format="rgb24").astype(int)  # swscale, reading the frame's tags
        assert int(frame.colorspace) == colorspace
    settings = RenderSettings(width=W, height=H, background=str(clip))
    with FrameRenderer(project(tmp_path), settings, layout=HandLayout([])) as r:
        on_gpu = r.background.frame_at(0)[1].yuv420() is not None
        out = r.render_rgb(0).astype(int)
    assert on_gpu == (pix_fmt != "yuv444p")
    # against the gradient that was drawn: the GPU converts with the frame's own matrix and
    # range in floats (swscale's fast path is off by about a level, so it is not the yardstick)
    diff = np.abs(out - rgb.astype(int))[2:-2, 2:-2]
    assert diff.max() <= 4 and diff.mean() <= (1.0 if on_gpu else 2.0), (diff.max(), diff.mean())
    # a wrong matrix or range is far off: BT.601 read as BT.709 moves these colours by > 10 levels
    assert np.abs(reference - rgb).max() <= 6


def test_video_background_seeks_for_jumps(tmp_path):
    clip = tmp_path / "long.mp4"
    levels = make_clip(clip, frames=45, step=5)  # 4.5 s
    bg = VideoBackground(clip)
    try:
        assert bg.loop_ms == 4500
        for t in (4230, 600, 3050, 2990, 3100, 9100, 40, 4499):
            index, picture = bg.frame_at(t)
            assert abs(int(picture.rgb()[30, 20, 1]) - levels[(t % 4500) // 100]) <= 2, t
    finally:
        bg.close()


def test_background_choice(tmp_path):
    s = RenderSettings(width=W, height=H)
    assert resolve_background(project(tmp_path), s, W, H) == SolidBackground((0, 0, 0))
    assert resolve_background(project(tmp_path), s.updated({"background": "white"}), W, H) == SolidBackground((255,) * 3)
    with pytest.raises(RenderError, match="no such file"):
        resolve_background(project(tmp_path), s.updated({"background": "missing.png"}), W, H)
    (tmp_path / "bg.png").write_bytes(encode_png(np.full((9, 16, 3), 77, np.uint8)))
    p = project(tmp_path, Media(background=Path("bg.png")))
    bg = resolve_background(p, s, W, H)
    assert isinstance(bg, ImageBackground) and bg.pixels.shape == (H, W, 3) and int(bg.pixels[40, 40, 0]) == 77
    # a relative path in the settings that is not in the working folder: next to the project file
    bg = resolve_background(p, s.updated({"background": "bg.png"}), W, H)
    assert isinstance(bg, ImageBackground) and int(bg.pixels[0, 0, 1]) == 77
    # transparent parts of an image come out black
    rgba = np.zeros((9, 16, 4), np.uint8)
    rgba[:, :8] = (200, 100, 50, 255)
    rgba[:, 8:] = (200, 100, 50, 0)
    with av.open(str(tmp_path / "alpha.png"), "w", format="image2", options={"update": "1"}) as c:
        st = c.add_stream("png", rate=1)
        st.width, st.height, st.pix_fmt = 16, 9, "rgba"
        for pkt in [*st.encode(av.VideoFrame.from_ndarray(rgba, format="rgba")), *st.encode()]:
            c.mux(pkt)
    bg = resolve_background(project(tmp_path), s.updated({"background": str(tmp_path / "alpha.png")}), 160, 90)
    assert bg.pixels[45, 10].tolist() == [200, 100, 50] and bg.pixels[45, 150].tolist() == [0, 0, 0]
    # the settings' colour wins over the project's image
    assert resolve_background(p, s.updated({"background": "#010203"}), W, H) == SolidBackground((1, 2, 3))
    # a project naming media that is not there (e.g. an ASS Video File from another machine) fails,
    # naming the file, as docs/folder-protocol.md says; it is never rendered on black instead
    with pytest.raises(ProjectError, match=r"song.ass: background video 'video.mkv' is missing"):
        resolve_background(project(tmp_path, Media(video=Path("elsewhere/video.mkv"))), s, W, H)
    (tmp_path / "junk.bin").write_bytes(b"not media at all" * 10)
    with pytest.raises(RenderError, match="junk.bin"):
        resolve_background(project(tmp_path), s.updated({"background": str(tmp_path / "junk.bin")}), W, H)
