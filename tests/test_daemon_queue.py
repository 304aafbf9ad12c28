"""The daemon as a subprocess over real folders with real observers and real renders:
priority order, settle, and readers never seeing half-written JSON."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from daemon_support import (Daemon, ass_text, done_reports, make_root, probe_frames, read_json, wait_for,
                            write_config)


def _json_reader(root: Path, stop: threading.Event, stats: dict) -> None:
    """Load every sidecar, report and status.json in a tight loop; record anything invalid."""
    while not stop.is_set():
        try:
            paths = list(root.rglob("*.json"))
        except FileNotFoundError:
            continue  # a folder went away during the walk (a job moving on): look again
        for p in paths:
            if p.name.startswith("."):
                continue  # temp files of atomic writes are not for readers
            try:
                text = p.read_text(encoding="utf-8")
            except (FileNotFoundError, IsADirectoryError):
                continue  # moved or removed meanwhile: fine, it was never half there
            try:
                json.loads(text)
                stats["ok"] += 1
            except ValueError as exc:
                stats["bad"].append(f"{p}: {exc}: {text[:80]!r}")


def test_priority_order_after_pause_and_readers_never_see_invalid_json(tmp_path: Path):
    root = make_root(tmp_path)
    inbox = root / "inbox"
    (root / "PAUSE").touch()
    cfg = write_config(tmp_path, [root])
    stats: dict = {"ok": 0, "bad": []}
    stop = threading.Event()
    reader = threading.Thread(target=_json_reader, args=(root, stop, stats), daemon=True)
    reader.start()
    with Daemon(cfg) as d:
        drops = {
            "low/a.ass": None, "b.ass": None, "urgent/c.ass": None, "5/e.ass": None,
            "low/f.ass": "priority: 1\n",  # the sidecar wins over the folder
        }
        for rel, sidecar in drops.items():
            path = inbox / rel
            path.parent.mkdir(exist_ok=True)
            if sidecar:
                (path.parent / (path.name + ".yaml")).write_text(sidecar)
            path.write_text(ass_text(2))
            time.sleep(0.02)
        # all five are in the batch from the moment they are seen; each gets its place once ready
        status = wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == 5
                          and sum(1 for j in s["jobs"] if j["state"] == "queued") == 5 and s, 20,
                          "five queued jobs in status.json", d)
        assert status["queue_status"] == "paused" and status["current_jobs"] == []
        queued = [j for j in status["jobs"] if j["state"] == "queued"]
        assert [j["name"] for j in queued] == ["c.ass", "f.ass", "e.ass", "b.ass", "a.ass"]
        assert [j["position"] for j in queued] == [1, 2, 3, 4, 5]
        # a queued sidecar is rewritten at most once a second: it may still show the position f.ass
        # had before the last of the five was queued
        side = wait_for(lambda: (s := read_json(inbox / "low" / "f.ass.progress.json")) and s["position"] == 2 and s,
                        10, "f.ass's queued sidecar at position 2", d)
        assert side["status"] == "queued" and side["priority"] == 1 and side["position"] == 2
        time.sleep(1.0)
        assert list((root / "work").iterdir()) == [] and not done_reports(root)  # PAUSE: nothing claimed
        (root / "PAUSE").unlink()
        wait_for(lambda: len(done_reports(root)) == 5, 150, "five finished jobs", d)
        final = wait_for(lambda: (s := read_json(root / "status.json")) and s["completed_jobs"] == 5 and s, 10,
                         "final status", d)
    stop.set()
    reader.join(5)
    history = json.loads((root / ".hotfolder" / "history.json").read_text())
    finished_order = [r["name"] for r in reversed(history)]
    assert finished_order == ["c.ass", "f.ass", "e.ass", "b.ass", "a.ass"]
    assert final["queue_status"] == "idle" and final["total_jobs"] == 5 and final["failed_jobs"] == 0
    assert final["overall_percent"] == 100.0
    assert [j["state"] for j in final["jobs"]] == ["done"] * 5
    # nothing left behind, every video real
    assert list((root / "work").iterdir()) == []
    assert sorted(p.name for p in inbox.rglob("*") if p.is_file()) == []
    frames, _ = probe_frames(root / "done" / "c.mp4")
    assert frames == done_reports(root)["c.json"]["frames"] > 0
    assert stats["bad"] == [] and stats["ok"] > 100, stats


def test_slowly_written_file_is_taken_only_when_complete(tmp_path: Path):
    root = make_root(tmp_path)
    # pauses between writes long enough for several looks, well under settle_seconds
    cfg = write_config(tmp_path, [root], settle_seconds=1.5)
    text = ass_text(4)
    with Daemon(cfg) as d:
        wait_for(lambda: read_json(root / "status.json"), 20, "the daemon to start", d)
        target = root / "inbox" / "slow.ass"
        chunks = [text[i:i + len(text) // 4 + 1] for i in range(0, len(text), len(text) // 4 + 1)]
        with open(target, "w", encoding="utf-8") as fh:
            for chunk in chunks:  # about 3 s of writing, 0.75 s pauses (the daemon looks every 0.25 s)
                fh.write(chunk)
                fh.flush()
                time.sleep(3.0 / len(chunks))
                assert target.exists(), "taken while still being written"
                assert list((root / "work").iterdir()) == []
        report = wait_for(lambda: done_reports(root).get("slow.json"), 30, "the job to finish", d)
    # the whole file was rendered: 4 lines, the last ending at 3.9 s, plus the 0.3 s tail at 10 fps
    assert report["frames"] == 42 and abs(report["video_duration"] - 4.2) < 0.11
    frames, duration = probe_frames(root / "done" / "slow.mp4")
    assert frames == 42
    assert (root / "done" / "sources" / "slow" / "slow.ass").read_text() == text


def _tone(path: Path, seconds: float) -> None:
    """A short 16-bit mono WAV tone."""
    import wave

    import numpy as np

    t = np.arange(int(22050 * seconds)) / 22050
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes((8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes())


KPROJ = """version: 1
title: {title}
media:
  audio: {audio}
display: {{title_card: false}}
lines:
  - text: "one |two |three"
    times: [0.2, 0.6, 1.0, 1.6]
"""


def test_media_named_by_a_file_travel_with_it_and_bundles_and_inner_sidecars(tmp_path: Path):
    root = make_root(tmp_path)
    inbox = root / "inbox"
    cfg = write_config(tmp_path, [root])
    _tone(inbox / "solo.wav", 2.0)
    (inbox / "solo.kproj").write_text(KPROJ.format(title="solo", audio="solo.wav"))
    _tone(inbox / "shared.wav", 2.0)
    (inbox / "first.kproj").write_text(KPROJ.format(title="first", audio="shared.wav"))
    (root / "PAUSE").touch()
    # the second user of shared.wav is still waiting when the first finishes: the file must stay
    (inbox / "second.kproj").write_text(KPROJ.format(title="second", audio="shared.wav"))
    (inbox / "second.kproj.yaml").write_text("priority: 95\n")
    bundle = inbox / "low" / "My Song"
    (bundle / "media").mkdir(parents=True)
    _tone(bundle / "media" / "tune.wav", 1.5)
    (bundle / "song.kproj").write_text(KPROJ.format(title="bundle", audio="media/tune.wav"))
    (bundle / "song.kproj.yaml").write_text("output: bundled.mkv\n")
    with Daemon(cfg) as d:
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == 4, 20, "four queued", d)
        (root / "PAUSE").unlink()
        wait_for(lambda: len(done_reports(root)) + len(list((root / "failed").glob("*.json"))) == 4, 90,
                 "all four jobs to end", d)
    done = done_reports(root)
    assert set(done) == {"solo.json", "first.json", "second.json", "bundled.json"}, list((root / "failed").iterdir())
    history = json.loads((root / ".hotfolder" / "history.json").read_text())
    assert [r["name"] for r in history][0] == "second.kproj"  # it ran last, after first.kproj was filed
    assert sorted(p.name for p in inbox.rglob("*")) == ["low"]  # media went with their jobs
    assert done["bundled.json"]["output"] == "done/bundled.mkv" and (root / "done" / "bundled.mkv").exists()
    assert (root / "done" / "sources" / "solo" / "solo.wav").exists()
    assert (root / "done" / "sources" / "bundled" / "My Song" / "media" / "tune.wav").exists()
    assert not (inbox / "solo.wav").exists()       # went with its job
    assert not (inbox / "low" / "My Song").exists()
    import av

    with av.open(str(root / "done" / "solo.mp4")) as c:
        assert c.streams.audio and abs(c.duration / 1e6 - 2.0) < 0.15


def test_a_job_waits_for_the_media_it_names_to_settle(tmp_path: Path):
    root = make_root(tmp_path)
    inbox = root / "inbox"
    cfg = write_config(tmp_path, [root], settle_seconds=1.0, media_wait_seconds=10.0)
    full = tmp_path / "full.wav"
    _tone(full, 3.0)
    data = full.read_bytes()
    with Daemon(cfg) as d:
        wait_for(lambda: read_json(root / "status.json"), 20, "the daemon to start", d)
        (inbox / "late.kproj").write_text(KPROJ.format(title="late", audio="late.wav"))
        time.sleep(1.0)  # the project settled long ago; its audio is not there yet
        assert (inbox / "late.kproj").exists()
        with open(inbox / "late.wav", "wb") as fh:  # then arrives slowly, over about 2 s
            step = len(data) // 6 + 1
            for i in range(0, len(data), step):
                fh.write(data[i:i + step])
                fh.flush()
                time.sleep(0.33)
                assert (inbox / "late.kproj").exists(), "taken while its audio was still being written"
        report = wait_for(lambda: done_reports(root).get("late.json"), 30, "the job", d)
    assert abs(report["video_duration"] - 3.0) < 0.1
