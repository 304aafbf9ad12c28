"""Speed benchmark (not a test): `hotfolder render` against ffmpeg + libass and the encode-only floor.

Makes a karaoke ASS (1920x1080, 30 fps, \\kf wipes and \\k switches, two lines on screen)
and a tone of the same length, then renders it three ways with the same x264 settings
(preset veryfast, crf 20, yuv420p, AAC):

  hotfolder   hotfolder render song.ass --audio song.wav ...
  libass      ffmpeg -f lavfi -i color=black -i song.wav -vf ass=song.ass ...
  floor       the same ffmpeg command without the ass filter (encode only)

Runs alternate (hotfolder, libass, floor, hotfolder, ...) so a busy neighbour hurts all of
them alike; medians and ratios are printed. Usage:
    python benchmarks/bench_render.py [--seconds 60] [--runs 3] [--size 1920x1080] [--fps 30]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WORDS = ("sing a long with me to night un der the bright and shi ning stars we go "
         "round and round a gain ka ra o ke ren der ing on the gpu").split()


def make_audio(path: Path, seconds: float, rate: int = 48000) -> None:
    """A stereo tone with a slow tremolo, as 16-bit WAV."""
    t = np.arange(int(seconds * rate)) / rate
    x = 0.25 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    pcm = (x * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(pcm[:, None], 2, axis=1).tobytes())


def ass_time(ms: int) -> str:
    cs = ms // 10
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def make_ass(path: Path, seconds: float, width: int, height: int) -> None:
    """Lines of 8 syllables, 4 s each (1.5 s lead-in), alternating top/bottom so two are on
    screen; every other syllable a \\kf wipe, the rest \\k switches."""
    head = f"""[Script Info]
ScriptType: v4.00+
PlayResX: {width}
PlayResY: {height}
ScaledBorderAndShadow: yes
WrapStyle: 0

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Low,DejaVu Sans,{height // 14},&H0000FFFF,&H00FFFFFF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,2,2,40,40,{height // 8},1
Style: High,DejaVu Sans,{height // 14},&H0000FFFF,&H00FFFFFF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,2,8,40,40,{height // 8},1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""
    rows = []
    total = int(seconds * 1000)
    n = 0
    start = 1500
    while start + 2800 <= total:
        syl = []
        for k in range(8):
            word = WORDS[(n * 8 + k) % len(WORDS)]
            tag = "kf" if k % 2 == 0 else "k"
            syl.append(f"{{\\{tag}{35}}}{word} ")
        style = "High" if n % 2 == 0 else "Low"
        # shown 1.5 s before it is sung until 1.3 s after: two lines on screen most of the time
        rows.append(f"Dialogue: 0,{ass_time(start - 1500)},{ass_time(start + 2800 + 1300)},{style},,0,0,0,,"
                    f"{{\\k150}}{''.join(syl).rstrip()}")
        n += 1
        start += 3000
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")


def timed(cmd: list[str], log: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the child and its threads). On a
    shared machine the CPU time is the steadier of the two."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with log.open("ab") as fh:
        r = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n  see {log}")
    return dt, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--only", choices=["hotfolder", "libass", "floor"], action="append",
                    help="run only these (repeatable)")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    fonts = out / "fonts"
    fonts.mkdir(exist_ok=True)
    shutil.copy(FONT, fonts / FONT.name)
    audio, ass = out / "song.wav", out / "song.ass"
    make_audio(audio, args.seconds)
    make_ass(ass, args.seconds, width, height)
    log = out / "bench.log"
    log.write_text("")

    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
    ffmpeg = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
              f"color=c=black:s={width}x{height}:r={args.fps}:d={args.seconds}", "-i", str(audio)]
    hotfolder = str(REPO / ".venv" / "bin" / "hotfolder") if (REPO / ".venv" / "bin" / "hotfolder").exists() else "hotfolder"
    commands = {
        "hotfolder": [hotfolder, "render", str(ass), "-o", str(out / "hotfolder.mp4"), "-y", "--progress", "log",
                      "--size", f"{width}x{height}", "--fps", str(args.fps), "--encoder", "libx264", "--crf", "20",
                      "--preset", "veryfast", "--audio", str(audio), "--fonts-dir", str(fonts)],
        "libass": [*ffmpeg, "-vf", f"ass={ass}:fontsdir={fonts}", *x264, "-c:a", "aac", "-shortest",
                   str(out / "libass.mp4")],
        "floor": [*ffmpeg, *x264, "-c:a", "aac", "-shortest", str(out / "floor.mp4")],
    }
    chosen = args.only or list(commands)
    times: dict[str, list[float]] = {name: [] for name in chosen}
    cpu: dict[str, list[float]] = {name: [] for name in chosen}
    print(f"{args.seconds:g} s of {width}x{height} at {args.fps} fps, x264 veryfast crf 20 + AAC, "
          f"{args.runs} alternating run(s) each, {os.cpu_count()} CPU(s)", flush=True)
    for run in range(args.runs):
        for name in chosen:
            dt, ct = timed(commands[name], log)
            times[name].append(dt)
            cpu[name].append(ct)
            print(f"  run {run + 1}: {name:<9} {dt:7.2f} s wall  {ct:7.2f} s CPU", flush=True)
    med = {name: statistics.median(v) for name, v in times.items()}
    med_cpu = {name: statistics.median(v) for name, v in cpu.items()}
    print(f"\nmedians (load average now {os.getloadavg()[0]:.1f}):")
    for name, m in med.items():
        print(f"  {name:<9} {m:7.2f} s wall ({args.seconds * args.fps / m:6.1f} fps, {args.seconds / m:5.2f}x real time)"
              f"  {med_cpu[name]:7.2f} s CPU")
    print("ratios (lower is faster):        wall    CPU")
    for a, b in (("hotfolder", "libass"), ("hotfolder", "floor"), ("libass", "floor")):
        if a in med and b in med:
            print(f"  {a + ' / ' + b:<28} {med[a] / med[b]:5.2f}  {med_cpu[a] / med_cpu[b]:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
