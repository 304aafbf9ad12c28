"""PAUSE, STOP, cancel and SIGTERM against the daemon as a subprocess with real renders.

A job is caught while it runs by creating PAUSE as soon as it appears in work/: its render
process checks the pause event before every frame, so it holds there deterministically."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from daemon_support import (Daemon, ass_text, done_reports, failed_reports, make_root, read_json,
                            sidecar_in_work, wait_for, write_config)


def _worker_pid(root: Path) -> int | None:
    for d in (root / "work").iterdir():
        meta = read_json(d / "job.json")
        if meta and meta.get("worker_pid"):
            return meta["worker_pid"]
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _hold_first_job(root: Path, d: Daemon, name: str) -> dict:
    """Drop `name`, PAUSE it as soon as it is claimed; returns its paused sidecar."""
    (root / "inbox" / name).write_text(ass_text(3))
    wait_for(lambda: any((root / "work").iterdir()), 30, f"{name} to be claimed", d, interval=0.01)
    (root / "PAUSE").touch()
    return wait_for(lambda: (s := sidecar_in_work(root, Path(name).name)) and s["status"] == "paused" and s, 30,
                    f"{name} to show paused", d)


def test_pause_holds_a_running_job_and_resume_finishes_it(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    with Daemon(cfg) as d:
        side = _hold_first_job(root, d, "held.ass")
        assert side["eta"] is None and side["host"]
        pid = _worker_pid(root)
        status = wait_for(lambda: (s := read_json(root / "status.json")) and s["queue_status"] == "paused" and s,
                          10, "status paused", d)
        assert status["current_jobs"] == ["held.ass"] and status["jobs"][0]["state"] == "paused"
        time.sleep(2.0)
        later = sidecar_in_work(root, "held.ass")
        assert later["status"] == "paused" and later["current_frame"] == side["current_frame"]
        assert later["updated_at"] >= side["updated_at"]
        assert pid and _alive(pid) and not list((root / "done").glob("*.mp4"))
        (root / "PAUSE").unlink()
        report = wait_for(lambda: done_reports(root).get("held.json"), 40, "the job to finish", d)
    assert report["status"] == "done" and report["frames"] == 32 and report["attempts"] == 1
    assert (root / "done" / "held.mp4").stat().st_size > 0 and list((root / "work").iterdir()) == []


def test_stop_returns_the_running_job_to_the_inbox_and_start_resumes(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    with Daemon(cfg) as d:
        (root / "inbox" / "high").mkdir()
        _hold_first_job(root, d, "high/stopped.ass")
        pid = _worker_pid(root)
        (root / "STOP").touch()
        wait_for(lambda: (root / "inbox" / "high" / "stopped.ass").exists(), 15, "the job back in the inbox", d)
        wait_for(lambda: not list((root / "work").iterdir()), 10, "work/ to be empty", d)
        assert not _alive(pid), "the render process still runs after STOP"
        side = wait_for(lambda: read_json(root / "inbox" / "high" / "stopped.ass.progress.json"), 10, "sidecar", d)
        assert side["status"] == "queued" and side["attempts"] == 0  # STOP is not a failed attempt
        status = wait_for(lambda: (s := read_json(root / "status.json")) and s["queue_status"] == "stopped"
                          and s["queued_jobs"] == 1 and s["jobs"][0]["state"] == "queued" and s, 10, "status stopped", d)
        assert status["current_jobs"] == [] and status["jobs"][0]["key"] == "high/stopped.ass"
        (root / "PAUSE").unlink()
        time.sleep(1.5)
        assert (root / "inbox" / "high" / "stopped.ass").exists(), "a job started while STOP exists"
        (root / "STOP").unlink()
        report = wait_for(lambda: done_reports(root).get("stopped.json"), 40, "the job to finish", d)
    assert report["status"] == "done" and report["attempts"] == 1 and not failed_reports(root)


def test_cancel_a_queued_and_a_running_job(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    with Daemon(cfg) as d:
        _hold_first_job(root, d, "running.ass")
        (root / "inbox" / "waiting.ass").write_text(ass_text(2))
        wait_for(lambda: read_json(root / "inbox" / "waiting.ass.progress.json"), 10, "the queued job", d)
        (root / "inbox" / "waiting.ass.cancel").touch()
        (root / "running.ass.cancel").touch()   # control files work in ROOT too
        reports = wait_for(lambda: len(r := failed_reports(root)) == 2 and r, 20, "two cancelled jobs", d)
        wait_for(lambda: not list((root / "work").iterdir()), 10, "work/ to be empty", d)
        assert not (root / "running.ass.cancel").exists() and not (root / "inbox" / "waiting.ass.cancel").exists()
        (root / "PAUSE").unlink()
        time.sleep(0.5)
    assert {n: r["status"] for n, r in reports.items()} == {"running.json": "cancelled", "waiting.json": "cancelled"}
    assert (root / "failed" / "running" / "running.ass").exists() and (root / "failed" / "waiting" / "waiting.ass").exists()
    assert reports["running.json"]["started_at"] and "rendering" in reports["running.json"]["error"]
    assert not done_reports(root) and not list((root / "inbox").glob("*.ass*"))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotfolder", *args], capture_output=True, text=True, timeout=60)


def test_cancel_names_one_job_and_never_a_later_drop(tmp_path: Path):
    root = make_root(tmp_path)
    (root / "PAUSE").touch()
    for folder in ("high", "low"):
        (root / "inbox" / folder).mkdir()
        (root / "inbox" / folder / "dup.ass").write_text(ass_text(2))
    (root / "inbox" / "q2.ass").write_text(ass_text(2))
    cfg = write_config(tmp_path, [root])
    with Daemon(cfg) as d:
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == 3, 20, "three queued", d)
        # the CLI: a typo, a name nobody has and an ambiguous name cancel nothing and leave no file
        for request in ("q2", "nosuch.ass", "dup.ass"):
            out = _cli("cancel", str(root), request)
            assert out.returncode == 1, (request, out)
            assert "nothing cancelled" in out.stderr
        assert "high/dup.ass" in _cli("cancel", str(root), "dup.ass").stderr   # the candidates are listed
        assert not [p for p in root.rglob("*.cancel")]
        # a cancel file written by hand that names no job is removed at once…
        (root / "inbox" / "q2.cancel").touch()
        (root / "dup.ass.cancel").touch()   # …and so is one naming several
        wait_for(lambda: not [p for p in root.rglob("*.cancel")], 10, "stray cancel files removed", d)
        # …so a bundle q2/ dropped later is not cancelled on arrival
        (root / "inbox" / "q2").mkdir()
        (root / "inbox" / "q2" / "song.ass").write_text(ass_text(2))
        out = _cli("cancel", str(root), "high/dup.ass")
        assert out.returncode == 0, out
        cancelled = wait_for(lambda: failed_reports(root), 20, "one cancelled job", d)
        time.sleep(1.0)
        assert list(cancelled) == ["dup.json"] and cancelled["dup.json"]["status"] == "cancelled"
        assert (root / "failed" / "dup" / "dup.ass").exists() and (root / "inbox" / "low" / "dup.ass").exists()
        (root / "PAUSE").unlink()
        wait_for(lambda: len(done_reports(root)) == 3, 90, "the other three done", d)
    assert len(failed_reports(root)) == 1


def test_sigterm_puts_the_running_job_back_within_ten_seconds(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    d = Daemon(cfg)
    with d:
        _hold_first_job(root, d, "term.ass")
        pid = _worker_pid(root)
        (root / "PAUSE").unlink()  # rendering (or about to) when the signal comes
        t0 = time.monotonic()
        assert d.terminate(timeout=10) == 0
        took = time.monotonic() - t0
    assert took < 10
    assert (root / "inbox" / "term.ass").exists() or (root / "done" / "term.mp4").exists()
    assert list((root / "work").iterdir()) == [] and not _alive(pid)
    if (root / "inbox" / "term.ass").exists():
        side = json.loads((root / "inbox" / "term.ass.progress.json").read_text())
        assert side["status"] == "queued" and side["attempts"] == 0
    final = json.loads((root / "status.json").read_text())
    assert final["message"] == "the daemon is not running (it was shut down)" and final["queue_status"] == "not_running"
