"""`hotfolder still` end to end: ASS file in, PNG out, compared with libass (ffmpeg's
`ass` filter on the same font file) at switch frames and mid-wipe frames."""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hotfolder.cli import build_parser
from hotfolder.commands import still
from hotfolder.commands.still import frame_at, parse_time

ASS = r"""[Script Info]
ScriptType: v4.00+
PlayResX: 320
PlayResY: 180
ScaledBorderAndShadow: yes
WrapStyle: 0

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: K,DejaVu Sans,30,&H0000FFFF,&H00FF8000,&H00505050,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,20,1
Style: T,DejaVu Sans,24,&H00FFFFFF,&H000000FF,&H00606060,&H00000000,0,0,0,0,100,100,0,0,1,2,0,8,10,10,12,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.50,0:00:04.00,K,,0,0,0,,{\k50}Sing {\k50}a{\kf100}long {\kf80}to{\k60}night
Dialogue: 0,0:00:00.50,0:00:04.00,T,,0,0,0,,{\ko100}Top {\ko100}line {\ko100}here
Dialogue: 0,0:00:01.00,0:00:03.00,T,,0,0,0,,{\an5\fad(400,400)\1c&H0080FF&\bord0}fading
"""
PRIMARY = {"K": (255, 255, 0), "T": (255, 255, 255)}
PALETTE = np.array([(255, 255, 0), (0, 128, 255), (80, 80, 80), (255, 255, 255), (255, 0, 0), (96, 96, 96)], float)
IS_PRIMARY = np.array([True, False, False, True, False, False])
FPS = 25


def read_png(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def libass_frames(ass: Path, fonts: Path, size: tuple[int, int], indices: list[int], out: Path) -> list[np.ndarray]:
    """The frames libass draws at these indices (ffmpeg gives frame n the time n*1000//fps ms)."""
    w, h = size
    seconds = (max(indices) + 2) / FPS
    select = "+".join(f"eq(n\\,{i})" for i in indices)
    out.mkdir()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=c=black:s={w}x{h}:r={FPS}:d={seconds}",
         "-vf", f"format=rgb24,ass={ass}:fontsdir={fonts},select='{select}'", "-fps_mode", "passthrough",
         str(out / "f%03d.png")],
        check=True,
    )
    return [read_png(out / f"f{k + 1:03d}.png") for k in range(len(indices))]


def dilate(mask: np.ndarray, r: int = 2) -> np.ndarray:
    p = np.pad(mask, r)
    out = np.zeros_like(mask)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out |= p[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return out


def lit(img: np.ndarray) -> np.ndarray:
    return img.max(axis=2) > 40


def primary_share(img: np.ndarray) -> float:
    m = lit(img)
    px = img[m].astype(float)
    nearest = np.argmin(((px[:, None, :] - PALETTE[None]) ** 2).sum(-1), axis=1)
    return float(IS_PRIMARY[nearest].mean())


def run_still(argv: list[str]) -> int:
    args = build_parser().parse_args(["still", *argv])
    return still.run(args)


@pytest.fixture
def ass_file(tmp_path: Path) -> Path:
    p = tmp_path / "song.ass"
    p.write_text(ASS, encoding="utf-8")
    return p


def test_frame_index_is_exact_for_decimal_times():
    assert frame_at(Fraction("2.3"), 10) == (23, 2300)   # 2.3*10 in floats is 22.999…
    assert frame_at(Fraction("0.999"), 25) == (24, 960)
    assert frame_at(Fraction("1"), 30) == (30, 1000)
    assert frame_at(Fraction("1.05"), 30) == (31, 1033)
    assert parse_time("2.3") == Fraction(23, 10)
    assert parse_time("1:02.5") == Fraction(125, 2) and parse_time("1:00:00") == 3600


def test_still_matches_libass_at_switches_and_mid_wipe(ass_file, fonts_dir, tmp_path):
    # 0.52: nothing sung; 0.96/1.0: the frame before/at the switch of "a"; 1.96 and 2.88:
    # mid-wipe of "long" and "to"; 3.52: after "night" switched; 3.96: the last frame;
    # 1.2 and 2.72: the middle line half faded in / out
    times = ["0.52", "0.96", "1.0", "1.2", "1.96", "2.72", "2.88", "3.52", "3.96"]
    indices = [frame_at(Fraction(t), FPS)[0] for t in times]
    refs = libass_frames(ass_file, fonts_dir, (320, 180), indices, tmp_path / "ref")
    worst_iou, worst_share = 1.0, 0.0
    for t, ref in zip(times, refs):
        out = tmp_path / f"still-{t}.png"
        assert run_still([str(ass_file), "--time", t, "--fps", str(FPS), "-o", str(out), "--fonts-dir", str(fonts_dir)]) == 0
        ours = read_png(out)
        assert ours.shape == (180, 320, 3)  # PlayResX x PlayResY without --size
        assert ours[0, 0].tolist() == [0, 0, 0] and ours[-1, -1].tolist() == [0, 0, 0]  # black by default
        a, b = dilate(lit(ours)), dilate(lit(ref))
        iou = (a & b).sum() / (a | b).sum()
        share = abs(primary_share(ours) - primary_share(ref))
        worst_iou, worst_share = min(worst_iou, iou), max(worst_share, share)
        assert iou >= 0.85, (t, iou)
        assert share <= 0.03, (t, primary_share(ours), primary_share(ref))
        # the \fad line in the middle: same brightness as libass while fading in and out
        # (\bord0: this checks the fade itself; how an outline shows through a half-faded
        # fill depends on the outline bitmap layout makes)
        mid_ours, mid_ref = ours[75:105].astype(float), ref[75:105].astype(float)
        assert abs(mid_ours.mean() - mid_ref.mean()) <= 0.03 * max(mid_ref.mean(), 1.0) + 0.2, (t, mid_ours.mean(), mid_ref.mean())
    print(f"worst dilated IoU {worst_iou:.3f}, worst primary-share difference {worst_share:.4f}")


def test_still_switch_lands_on_the_same_frame_as_libass(ass_file, fonts_dir, tmp_path):
    # "a" switches at 1000 ms: frame 24 (960 ms) shows it unsung, frame 25 (1000 ms) sung,
    # in libass and in ours; this also checks the ffmpeg recipe gives frame n time n*40 ms
    refs = libass_frames(ass_file, fonts_dir, (320, 180), [24, 25], tmp_path / "ref")
    ours = []
    for t in ("0.999", "1.0"):
        out = tmp_path / f"s{t}.png"
        assert run_still([str(ass_file), "--time", t, "--fps", "25", "-o", str(out), "--fonts-dir", str(fonts_dir)]) == 0
        ours.append(read_png(out))
    yellow = lambda img: int((np.abs(img.astype(int) - (255, 255, 0)).max(-1) < 30).sum())  # noqa: E731
    for img in (refs, ours):
        assert yellow(img[1]) > yellow(img[0]) + 50
    assert abs(yellow(ours[0]) - yellow(refs[0])) < 0.1 * yellow(refs[0]) + 20
    assert abs(yellow(ours[1]) - yellow(refs[1])) < 0.1 * yellow(refs[1]) + 20


def test_still_size_background_and_cli_subprocess(ass_file, fonts_dir, tmp_path):
    out = tmp_path / "big.png"
    proc = subprocess.run(
        [sys.executable, "-m", "hotfolder", "still", str(ass_file), "--time", "2", "-o", str(out),
         "--size", "640x360", "--background", "#203040", "--fonts-dir", str(fonts_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    img = read_png(out)
    assert img.shape == (360, 640, 3)
    assert img[0, 0].tolist() == [0x20, 0x30, 0x40]
    assert (np.abs(img.astype(int) - (255, 255, 0)).max(-1) < 30).sum() > 200  # sung text, scaled up


def test_bad_project_is_one_clear_line_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "broken.kproj"
    bad.write_text("title: [never closed\nlines:\n  - {\n")
    out = tmp_path / "x.png"
    code = run_still([str(bad), "--time", "1", "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and not out.exists()
    assert err.count("\n") == 0 and "broken.kproj" in err
    assert run_still([str(tmp_path / "missing.ass"), "--time", "1", "-o", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err
    # a background that does not exist is a render error, also one line
    good = tmp_path / "ok.ass"
    good.write_text(ASS)
    assert run_still([str(good), "--time", "1", "-o", str(out), "--background", str(tmp_path / "nope.png")]) == 1
    assert "nope.png" in capsys.readouterr().err


def test_time_and_size_arguments_are_checked(capsys):
    parser = build_parser()
    for argv in (["--time", "-1"], ["--time", "abc"], ["--time", "1:-5"], ["--time", "1::2"], ["--time", "1", "--size", "12"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["still", "f.ass", "-o", "o.png", *argv])
    capsys.readouterr()


KPROJ = """version: 1
title: Test
media: {}
styles:
  Default:
    font: DejaVu Sans
    size: 40
    primary: "#ffd000"
    secondary: "#ffffff"
    outline: 0
    shadow: 0
display:
  title_card: false
render:
  fps: 20
  background: "#203040"
lines:
  - text: "Sing|ing |now"
    times: [1.0, 1.5, 2.0, 2.5]
"""


def test_still_of_a_native_project_goes_through_presentation(tmp_path, fonts_dir):
    song = tmp_path / "song.kproj"
    song.write_text(KPROJ, encoding="utf-8")
    out = tmp_path / "k.png"
    colours, where = {}, {}
    for t in ("0.8", "1.9"):
        assert run_still([str(song), "--time", t, "--size", "320x180", "-o", str(out), "--fonts-dir", str(fonts_dir)]) == 0
        img = read_png(out).astype(int)
        assert img[0, 0].tolist() == [0x20, 0x30, 0x40]  # the project's render.background
        sung, unsung = np.abs(img - (255, 208, 0)).max(-1) < 20, np.abs(img - 255).max(-1) < 20
        colours[t] = (int(sung.sum()), int(unsung.sum()))
        where[t] = (np.argwhere(sung)[:, 1].max() if sung.any() else -1, np.argwhere(unsung)[:, 1].min())
    assert colours["0.8"][1] > 100 and colours["0.8"][0] == 0   # shown ahead of time, nothing sung yet
    assert colours["1.9"][0] > 100 and colours["1.9"][1] > 50   # "Singing " sung, "now" not yet
    assert where["1.9"][0] < where["1.9"][1]                    # sung on the left


KT_TIMES = ["1.0", "2.48", "4.8", "6.7", "8.96", "10.48"]


def test_still_matches_libass_reference_images_of_kt(shared_fixtures, tmp_path):
    """libass's own \\kt test images (RGBA over transparent; composed over black here)."""
    kt = shared_fixtures / "libass-kt"
    palette = np.array([(255, 255, 255), (255, 0, 0), (170, 255, 0)], float)  # primary, secondary, \1c override
    primary = np.array([True, False, True])

    def share(img: np.ndarray) -> float:
        px = img[lit(img)].astype(float)
        return float(primary[np.argmin(((px[:, None] - palette[None]) ** 2).sum(-1), axis=1)].mean())

    for t in KT_TIMES:
        out = tmp_path / f"kt-{t}.png"
        # at 100 fps every reference time is a frame time
        assert run_still([str(kt / "kt.ass"), "--time", t, "--fps", "100", "-o", str(out), "--fonts-dir", str(kt)]) == 0
        ours = read_png(out)
        with av.open(str(kt / f"kt-{round(float(t) * 1000):05d}.png")) as c:
            rgba = next(c.decode(video=0)).to_ndarray(format="rgba").astype(float)
        ref = np.rint(rgba[..., :3] * rgba[..., 3:] / 255).astype(np.uint8)
        assert ours.shape == ref.shape
        a, b = dilate(lit(ours)), dilate(lit(ref))
        iou = (a & b).sum() / (a | b).sum()
        assert iou >= 0.85, (t, iou)
        assert abs(share(ours) - share(ref)) <= 0.03, (t, share(ours), share(ref))
