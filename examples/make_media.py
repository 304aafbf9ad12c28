#!/usr/bin/env python3
"""Make the example media: a synthesized melody, a background image and a background video.

Run from anywhere: `python examples/make_media.py` (`--force` to rebuild). Files that already
exist are left alone, so the committed media stay as they are; the same files are written
into every example folder that needs them (git stores identical files once).

The melody is "Twinkle, Twinkle, Little Star" (traditional), one note every 350 ms; the
example projects are timed to it:

    0.000 -  1.400  intro (C E G)              title card
    1.400 -  4.200  "Twinkle, twinkle, little star"
    4.200 -  7.000  "How I wonder what you are"
    7.000 - 10.500  interlude (G E C E G)      a 3.5 s gap: countdown
   10.500 - 13.300  "Up above the world so high"
   13.300 - 14.500  final chord
"""
from __future__ import annotations

import argparse
import logging
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

log = logging.getLogger("make_media")

HERE = Path(__file__).resolve().parent
RATE = 48_000
NOTE_MS = 350
SONG_MS = 14_500

# where each generated file goes (relative to examples/)
AUDIO_TARGETS = ["kproj/song.ogg", "kproj-ref/song.ogg", "ass/song.ogg", "lrc/song.ogg", "ultrastar/song.ogg",
                 "bundle/twinkle/media/song.ogg", "sidecar/song.ogg"]
IMAGE_TARGETS = ["kproj/background.png", "kproj-ref/background.png", "ultrastar/background.png",
                 "sidecar/background.png"]
VIDEO_TARGETS = ["ass/background.mp4", "ultrastar/background.mp4", "bundle/twinkle/media/background.mp4"]

_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def midi(name: str) -> int:
    """'C4' -> 60."""
    return 12 * (int(name[1:]) + 1) + _SEMITONE[name[0]]


SUNG = 0.8  # loudness of the sung notes; the intro, interlude and final chord are softer


def sung_notes() -> list[tuple[int, int]]:
    """(start ms, end ms) of the 21 sung notes: every example project's syllables match these."""
    return [(start, start + dur) for start, dur, _note, loud in notes() if loud == SUNG]


def notes() -> list[tuple[int, int, int, float]]:
    """(start ms, duration ms, midi note, loudness) of the whole song."""
    q, h = NOTE_MS, 2 * NOTE_MS
    out: list[tuple[int, int, int, float]] = []
    t = 0
    for name in ("C4", "E4", "G4"):            # intro
        out.append((t, q, midi(name), 0.5))
        t += q
    t = 1400
    phrases = [["C4", "C4", "G4", "G4", "A4", "A4", "G4"],
               ["F4", "F4", "E4", "E4", "D4", "D4", "C4"]]
    for phrase in phrases:
        for i, name in enumerate(phrase):
            dur = h if i == 6 else q
            out.append((t, dur, midi(name), SUNG))
            t += dur
    for name in ("G3", "E3", "C3", "E3", "G3"):  # interlude, 7.0 - 10.5 s
        out.append((t, h, midi(name), 0.45))
        t += h
    for i, name in enumerate(["G4", "G4", "F4", "F4", "E4", "E4", "D4"]):
        dur = h if i == 6 else q
        out.append((t, dur, midi(name), SUNG))
        t += dur
    for name in ("C4", "E4", "G4"):            # final chord, 13.3 s
        out.append((t, 1000, midi(name), 0.35))
    return out


def synthesize() -> np.ndarray:
    """The melody as mono float32 samples: sines with a few harmonics and an attack/decay envelope."""
    song = np.zeros(RATE * SONG_MS // 1000, dtype=np.float64)
    for start, dur, note, loud in notes():
        n = RATE * dur // 1000
        t = np.arange(n) / RATE
        freq = 440.0 * 2 ** ((note - 69) / 12)
        tone = sum(a * np.sin(2 * np.pi * freq * k * t) for k, a in ((1, 1.0), (2, 0.35), (3, 0.15)))
        attack = np.minimum(1.0, t / 0.015)
        release = np.minimum(1.0, (dur / 1000 - t) / 0.06)
        envelope = attack * np.exp(-2.2 * t) * np.clip(release, 0.0, 1.0)
        i = RATE * start // 1000
        song[i:i + n] += loud * tone * envelope
    return (0.3 * song / np.max(np.abs(song))).astype(np.float32)


def write_audio(path: Path, samples: np.ndarray) -> None:
    """Ogg Opus, mono, 24 kbit/s: about 40 kB for the whole song."""
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = 24_000
        block = RATE // 10
        for i in range(0, len(samples), block):
            frame = av.AudioFrame.from_ndarray(samples[None, i:i + block], format="flt", layout="mono")
            frame.sample_rate = RATE
            frame.pts = i
            frame.time_base = Fraction(1, RATE)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def background_pixels(w: int, h: int, phase: float = 0.0) -> np.ndarray:
    """A night-sky gradient with a few soft glowing stars, as (h, w, 3) uint8."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    v = y / h
    img = np.stack([20 + 30 * v, 24 + 20 * v, 70 + 50 * (1 - v)], axis=-1)
    for cx, cy, r, c in ((0.18, 0.22, 0.05, (255, 230, 150)), (0.72, 0.15, 0.035, (200, 220, 255)),
                         (0.86, 0.42, 0.025, (255, 255, 255)), (0.40, 0.10, 0.02, (255, 240, 200))):
        dx = x / w - (cx + 0.03 * np.sin(phase + 7 * cx))
        dy = (y - (cy * h)) / w
        glow = np.exp(-(dx * dx + dy * dy) / (2 * r * r))
        img += glow[..., None] * np.array(c, dtype=np.float64) * 0.8
    return np.clip(img, 0, 255).astype(np.uint8)


def write_image(path: Path, w: int = 640, h: int = 360) -> None:
    ctx = av.CodecContext.create("png", "w")
    ctx.width, ctx.height, ctx.pix_fmt = w, h, "rgb24"
    frame = av.VideoFrame.from_ndarray(background_pixels(w, h), format="rgb24")
    data = b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])
    path.write_bytes(data)


def write_video(path: Path, w: int = 320, h: int = 180, fps: int = 25, seconds: int = 3) -> None:
    """A 3 s clip of the sky with drifting stars (H.264 when available, else MPEG-4 Part 2)."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "30", "preset": "medium"}
        else:
            stream.bit_rate = 150_000
        for i in range(fps * seconds):
            frame = av.VideoFrame.from_ndarray(background_pixels(w, h, phase=i / fps * 2.0), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _copy_or_make(targets: list[str], make, force: bool) -> None:  # type: ignore[no-untyped-def]
    paths = [HERE / t for t in targets]
    todo = [p for p in paths if force or not p.exists()]
    if not todo:
        return
    first = todo[0]
    first.parent.mkdir(parents=True, exist_ok=True)
    tmp = first.with_name(first.stem + ".part" + first.suffix)
    make(tmp)
    data = tmp.read_bytes()
    tmp.unlink()
    for p in todo:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        log.info("wrote %s (%d bytes)", p.relative_to(HERE.parent), len(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild files that already exist")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _copy_or_make(AUDIO_TARGETS, lambda p: write_audio(p, synthesize()), args.force)
    _copy_or_make(IMAGE_TARGETS, write_image, args.force)
    _copy_or_make(VIDEO_TARGETS, write_video, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
