"""Our frames (layout + the GL compositor, FrameRenderer.render_rgb on llvmpipe) against
libass (ffmpeg's `ass` filter, same font file through fontsdir) at switch and mid-wipe
times: dilated lit-mask IoU >= 0.85 and primary-colour share within 0.03.

Run with `-s` to see the numbers reached per frame and the worst case per file."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from libass_ref import compare_frames, dilate, ffmpeg_pts_for, libass_frame, lit_mask, load_png, primary_mask

IOU_MIN = 0.85
PRIMARY_MAX_DIFF = 0.03

HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 320
PlayResY: 180
ScaledBorderAndShadow: {scaled}
WrapStyle: {wrap}

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
{styles}

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
{events}
"""

# Primary colour yellow everywhere the share is measured; no other colour in these files
# points the same way (secondary blue/red/magenta, grey outlines, black shadows).
CASES: dict[str, dict] = {
    "karaoke_stacked": dict(
        wrap=0,
        styles="Style: Default,DejaVu Sans,26,&H0000FFFF,&H00FF8000,&H00404040,&H80000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1",
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\k40}Sing {\k40}a{\kf100}long {\ko60}with {\kf120}me",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\kf150}second {\kf150}stacked",
        ]),
        # 0 start; 400 \k switch; 500/1300 mid-\kf; 1850 \ko starts; 2400 mid-wipe; 3999 last ms
        times=[0, 399, 400, 500, 1300, 1850, 2400, 3999],
    ),
    "styles_positions_fades": dict(
        wrap=0,
        styles="\n".join([
            "Style: Default,DejaVu Sans,26,&H0000FFFF,&H00FF8000,&H00404040,&H80000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1",
            "Style: Left,DejaVu Sans,20,&H0000FFFF,&H000000FF,&H00003000,&H00000000,0,1,0,0,100,100,0,0,1,1.5,0,7,16,10,8,1",
            "Style: Right,DejaVu Sans,22,&H0000FFFF,&H00FF00FF,&H00000000,&H00000000,1,0,0,0,100,100,0,0,1,0,3,6,10,14,10,1",
        ]),
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Left,,0,0,0,,{\fad(600,400)\kf200}Top {\kf200}left",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Right,,0,0,0,,{\k100}Right {\k100}mid",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\pos(90,120)\an5\bord3\3c&H800000&\fs18}{\kf80}po{\kf80}sitioned",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,40,,{\an3\1a&H40&\shad0}{\k150}alpha {\k100}right",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\pos(300,10)\an9\b1\bord0}{\k100}bold {\i1}ital",
        ]),
        # 300 mid fade-in; 1000 \k switch; 1500 mid \kf; 3800 mid fade-out
        times=[0, 300, 999, 1000, 1500, 2500, 3800],
    ),
    "wrapping_and_breaks": dict(
        wrap=0,
        styles="\n".join([
            "Style: Default,DejaVu Sans,24,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1",
            "Style: Top,DejaVu Sans,18,&H0000FFFF,&H000000FF,&H00303030,&H00000000,0,0,0,0,100,100,0,0,1,1,1,8,30,30,6,1",
        ]),
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:05.00,Default,,0,0,0,,{\kf50}This {\kf50}is {\kf50}a {\kf60}rather {\kf60}long {\kf60}line {\kf60}that {\kf60}has {\kf60}to {\kf60}wrap {\kf60}twice {\kf60}over",
            r"Dialogue: 0,0:00:00.00,0:00:05.00,Top,,0,0,0,,{\k80}Hard\N{\k80}break {\k80}and {\k80}a {\k80}smart {\k80}wrap {\k80}at {\k80}the {\k80}top",
        ]),
        times=[0, 260, 1200, 2500, 4000],
    ),
    "scripts_and_fallback": dict(
        wrap=0,
        styles="Style: Default,DejaVu Sans,26,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1",
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\kf50}春{\kf50}の{\kf50}歌 {\kf50}한{\kf50}국",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\k50}مرحبا {\k50}بالعالم",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\k50}Cafe\N{\k50}ñandu e̊x",
            # a colour change inside an Arabic word: libass shapes each run on its own
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\pos(160,20)\k50}مر{\1c&HFF00FF&}حبا {\k50}بال{\1c&H00FF00&}عالم",
        ]),
        times=[0, 120, 500, 700],
    ),
    "middle_translucent_unscaled_borders": dict(
        wrap=1,
        scaled="no",
        styles="\n".join([
            "Style: Mid,DejaVu Sans,22,&H0000FFFF,&H00FF8000,&H00404040,&H80000000,0,0,0,0,100,100,0,0,1,2,2,5,10,10,10,1",
            "Style: Ghost,DejaVu Sans,24,&H8000FFFF,&H80FF8000,&H00FFFFFF,&H00000000,0,0,0,0,100,100,0,0,1,3,0,1,10,10,10,1",
            "Style: Cjk,WenQuanYi Zen Hei,24,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,1,0,0,0,100,100,0,0,1,1,0,9,10,10,10,1",
            "Style: Wide,DejaVu Sans,20,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,0,0,0,0,150,80,2,0,1,1,0,4,10,10,10,1",
        ]),
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Mid,,0,0,0,,{\kf50}Middle {\kf50}aligned {\kf50}text {\kf50}wrapping {\kf50}end {\kf50}of {\kf50}line {\kf50}style",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Ghost,,30,0,5,,{\kf100}Trans{\kf100}lucent",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Cjk,,0,0,0,,{\k50}歌{\k50}詞{\k50}太字",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Wide,,0,0,0,,{\k50}wide {\k50}spaced",
            # one karaoke syllable over three lines: libass lights the later lines at its end
            r"Dialogue: 0,0:00:05.00,0:00:09.00,Ghost,,0,0,0,,{\k50}Short words here and there, then averyveryverylongwordthatcannotbreak and more",
        ]),
        times=[0, 700, 1500, 5000, 5499, 5500, 7000],
    ),
    "font_substitution": dict(
        wrap=0,
        styles="\n".join([
            "Style: Default,Arial,26,&H0000FFFF,&H00FF8000,&H00404040,&H80000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1",
            "Style: Left,Times New Roman,20,&H0000FFFF,&H000000FF,&H00003000,&H00000000,0,1,0,0,100,100,0,0,1,1.5,0,7,16,10,8,1",
            "Style: Right,NoSuchFontAtAll,22,&H0000FFFF,&H00FF00FF,&H00000000,&H00000000,1,0,0,0,100,100,0,0,1,0,3,6,10,14,10,1",
        ]),
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Default,,0,0,0,,{\kf50}This {\kf50}is {\kf50}a {\kf60}rather {\kf60}long {\kf60}line {\kf60}that {\kf60}wraps",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Left,,0,0,0,,{\b1}Bold {\b0\i0}plain {\fs30\fnDejaVu Sans}big",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Right,,0,0,0,,{\k100}Right {\k100}mid",
        ]),
        times=[0, 900, 1500],
    ),
    "opaque_box": dict(
        wrap=0,
        styles="\n".join([
            "Style: Box,DejaVu Sans,24,&H0000FFFF,&H00FFFFFF,&H00803000,&H00000080,0,0,0,0,100,100,0,0,3,3,2,2,10,10,10,1",
            "Style: Box2,DejaVu Sans,20,&H0000FFFF,&H00FFFFFF,&H00303080,&H00000000,0,0,0,0,100,100,0,0,3,2,0,8,10,10,10,1",
        ]),
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Box,,0,0,0,,{\k50}Opaque {\kf100}box {\k50}style",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Box2,,0,0,0,,{\k50}Two\N{\k50}lines here",
        ]),
        times=[0, 700, 1600],
    ),
    "synthetic_italic_bold_and_italic_gaps": dict(
        wrap=0,
        styles="\n".join([
            "Style: Cjk,WenQuanYi Zen Hei,30,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,0,1,0,0,100,100,0,0,1,2,0,5,10,10,10,1",
            "Style: Lat,DejaVu Sans,30,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,0,1,0,0,100,100,0,0,1,2,0,2,10,10,10,1",
        ]),
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Cjk,,0,0,0,,{\k50}歌詞 {\b1}太字 {\b0\i0}正体",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,Lat,,0,0,0,,{\k50}Italic {\b1}bold 歌詞 {\b0\i0}plain",
        ]),
        times=[0, 700],
    ),
    "underline_strikeout": dict(
        wrap=0,
        styles="\n".join([
            "Style: U,DejaVu Sans,30,&H0000FFFF,&H00FF8000,&H00404040,&H80000000,0,0,-1,0,100,100,0,0,1,2,2,2,10,10,10,1",
            "Style: S,DejaVu Sans,26,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,0,0,0,-1,100,100,0,0,1,0,0,8,10,10,10,1",
        ]),
        events="\n".join([
            r"Dialogue: 0,0:00:00.00,0:00:04.00,U,,0,0,0,,{\kf100}Under {\kf100}lined {\u0}not",
            r"Dialogue: 0,0:00:00.00,0:00:04.00,S,,0,0,0,,{\k100}Strike {\k100}out",
        ]),
        times=[0, 500, 1200],
    ),
}
# the same files rendered at other sizes than PlayRes (libass scales x and y separately)
CASES["styles_positions_fades@480x360"] = dict(CASES["styles_positions_fades"], size=(480, 360), times=[300, 1500])
CASES["wrapping_and_breaks@400x180"] = dict(CASES["wrapping_and_breaks"], size=(400, 180), times=[1200])
CASES["middle_translucent_unscaled_borders@640x360"] = dict(
    CASES["middle_translucent_unscaled_borders"], size=(640, 360), times=[700, 5500])

YELLOW = (255, 255, 0)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("png")
        s.width, s.height, s.pix_fmt = rgb.shape[1], rgb.shape[0], "rgb24"
        for pkt in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
            c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)


def _renderer(ass_file: Path, fonts_dir: Path, size: tuple[int, int] | None = None):
    from hotfolder.project import load_project
    from hotfolder.render.frames import FrameRenderer
    from hotfolder.settings import RenderSettings

    project = load_project(ass_file)
    if size is None:
        settings = RenderSettings(fonts_dir=fonts_dir, size_from_project=True, background="#000000", fps=25)
    else:
        settings = RenderSettings(width=size[0], height=size[1], fonts_dir=fonts_dir, background="#000000", fps=25)
    return FrameRenderer(project, settings)


def _check(name: str, results: list[tuple[int, object]], out_dir: Path) -> None:
    lines = [f"{name}: t_ms  IoU(dilate 2)  primary ours/ref  diff"]
    for t, c in results:
        lines.append(f"  {t:6d}  {c.iou:.3f}  {c.primary_share_ours:.3f}/{c.primary_share_ref:.3f}  {c.primary_diff:.3f}")
    worst_iou = min(c.iou for _, c in results)
    worst_diff = max(c.primary_diff for _, c in results)
    lines.append(f"  worst: IoU {worst_iou:.3f} (>= {IOU_MIN}), primary diff {worst_diff:.3f} (<= {PRIMARY_MAX_DIFF})")
    print("\n".join(lines))
    bad = [(t, c) for t, c in results if c.iou < IOU_MIN or c.primary_diff > PRIMARY_MAX_DIFF]
    assert not bad, f"{name}: frames off libass (pictures in {out_dir}):\n" + "\n".join(lines)


@pytest.mark.parametrize("name", sorted(CASES))
def test_frames_match_libass(name: str, fonts_dir: Path, tmp_path: Path) -> None:
    case = CASES[name]
    ass = tmp_path / f"{name.replace('@', '-')}.ass"
    ass.write_text(HEADER.format(wrap=case["wrap"], scaled=case.get("scaled", "yes"), styles=case["styles"],
                                 events=case["events"]), encoding="utf-8")
    results = []
    w, h = case.get("size", (320, 180))
    renderer = _renderer(ass, fonts_dir, case.get("size"))
    try:
        assert (renderer.width, renderer.height) == (w, h)
        for t in case["times"]:
            ours = renderer.render_rgb(t)
            ref = libass_frame(ass, t, w, h, fonts_dir, tmp_path / f"ref-{t}.png")
            assert lit_mask(ref).sum() > 200, "libass drew nothing: the reference recipe is broken"
            c = compare_frames(ours, ref, YELLOW)
            if c.iou < IOU_MIN or c.primary_diff > PRIMARY_MAX_DIFF:
                _write_png(tmp_path / f"ours-{t}.png", ours)
            results.append((t, c))
    finally:
        renderer.close()
    _check(name, results, tmp_path)


KT_TIMES = [1000, 2480, 4800, 6700, 8960, 10480]


def test_kt_fixture_matches_libass_pngs(shared_fixtures: Path, tmp_path: Path) -> None:
    """../shared/fixtures/libass-kt: libass's own renderings of kt.ass (\\kt, several \\kf
    per word, style changes inside words) at those ms."""
    kt = shared_fixtures / "libass-kt"
    renderer = _renderer(kt / "kt.ass", kt)
    results = []
    try:
        assert (renderer.width, renderer.height) == (206, 206)
        for t in KT_TIMES:
            ref = load_png(kt / f"kt-{t:05d}.png")
            c = compare_frames(renderer.render_rgb(t), ref, (255, 255, 255))
            results.append((t, c))
    finally:
        renderer.close()
    _check("kt.ass", results, tmp_path)


def test_stacking_over_time_follows_libass_in_a_video_and_in_a_still(fonts_dir: Path, tmp_path: Path) -> None:
    """libass keeps an event where it first placed it: in a video the event that started
    first stays at the bottom; a single frame rendered from scratch stacks in read order.
    Our layout does both, like libass."""
    import subprocess

    ass = tmp_path / "order.ass"
    ass.write_text(HEADER.format(
        wrap=0, scaled="yes",
        styles="Style: Default,DejaVu Sans,26,&H0000FFFF,&H00FF8000,&H00404040,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1",
        events="\n".join([
            r"Dialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,,{\k50}Read first, starts later",
            r"Dialogue: 0,0:00:00.00,0:00:03.00,Default,,0,0,0,,{\kf100}Read second, starts first",
        ]),
    ), encoding="utf-8")
    frame = 30   # t = 1200 ms at 25 fps
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x180:r=25:d=1.3",
         "-vf", f"format=rgb24,ass={ass}:fontsdir={fonts_dir},select='eq(n\\,{frame})'",
         "-fps_mode", "passthrough", "-frames:v", "1", str(tmp_path / "video.png")],
        check=True, timeout=120,
    )
    video_ref = load_png(tmp_path / "video.png")
    still_ref = libass_frame(ass, 1200, 320, 180, fonts_dir, tmp_path / "still.png")
    assert compare_frames(video_ref, still_ref, YELLOW).iou < 0.8   # the two really differ

    renderer = _renderer(ass, fonts_dir)
    try:
        for i in range(frame + 1):
            video = renderer.render_rgb(i * 1000 // 25)
    finally:
        renderer.close()
    renderer = _renderer(ass, fonts_dir)
    try:
        still = renderer.render_rgb(1200)
    finally:
        renderer.close()
    in_video = compare_frames(video, video_ref, YELLOW)
    in_still = compare_frames(still, still_ref, YELLOW)
    print(f"stacking over time: video IoU {in_video.iou:.3f}, still IoU {in_still.iou:.3f}")
    assert in_video.iou >= IOU_MIN and in_still.iou >= IOU_MIN


# ---- the reference recipe and the metric ------------------------------------------


def test_reference_frame_is_exactly_the_requested_ms(fonts_dir: Path, tmp_path: Path) -> None:
    """A \\k switch at 1000 ms: libass's frame at 999 shows the secondary colour, at 1000
    the primary (so the recipe hands libass exactly t, not a rounded neighbour)."""
    for t in (999, 1000, 2480, 4800, 1234567):
        assert int(ffmpeg_pts_for(t) * (1 / 100_000) * 1000) == t
    ass = tmp_path / "switch.ass"
    ass.write_text(HEADER.format(
        wrap=0, scaled="yes",
        styles="Style: Default,DejaVu Sans,40,&H0000FFFF,&H00FF0000,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,0,0,5,10,10,10,1",
        events=r"Dialogue: 0,0:00:00.00,0:00:03.00,Default,,0,0,0,,{\k100}XXX{\k100}X",
    ), encoding="utf-8")
    before = libass_frame(ass, 999, 320, 180, fonts_dir, tmp_path / "a.png")
    after = libass_frame(ass, 1000, 320, 180, fonts_dir, tmp_path / "b.png")
    share = lambda img: primary_mask(img, YELLOW).sum() / max(lit_mask(img).sum(), 1)  # noqa: E731
    assert 0.6 < share(before) < 0.85      # three of four X lit
    assert share(after) > 0.97             # all four


def test_compare_frames_metric() -> None:
    h, w = 40, 60
    a = np.zeros((h, w, 3), np.uint8)
    a[10:30, 10:30] = (255, 255, 0)
    a[10:30, 30:50] = (0, 0, 255)
    same = compare_frames(a, a, YELLOW)
    assert same.iou == 1.0 and same.primary_share_ours == pytest.approx(0.5) and same.primary_diff == 0
    # a one-pixel shift is forgiven by the dilation, a far one is not
    shifted = np.roll(a, 1, axis=1)
    assert compare_frames(shifted, a, YELLOW).iou > 0.9
    far = np.roll(a, 25, axis=0)
    assert compare_frames(far, a, YELLOW).iou < 0.5
    # antialiased (darker) primary pixels still count as primary; other hues do not
    dim = a.copy()
    dim[10:30, 10:30] = (128, 128, 0)
    assert compare_frames(dim, a, YELLOW).primary_diff == pytest.approx(0.0)
    other = a.copy()
    other[10:30, 10:30] = (255, 128, 0)
    assert compare_frames(other, a, YELLOW).primary_diff == pytest.approx(0.5)
    # empty frames agree
    blank = np.zeros_like(a)
    assert compare_frames(blank, blank, YELLOW).iou == 1.0
    m = np.zeros((5, 5), bool)
    m[2, 2] = True
    assert dilate(m, 1).sum() == 9 and dilate(m, 2).sum() == 25
