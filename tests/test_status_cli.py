"""`hotfolder status ROOT`: --json, --once, the live table in a real terminal (pty), and the
messages when the hot folder or its status.json is missing."""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotfolder.cli import main

REPO = Path(__file__).resolve().parent.parent


def make_root(tmp_path: Path, status: dict | None) -> Path:
    root = tmp_path / "karaoke"
    for d in (".hotfolder", "inbox", "work", "done", "failed"):
        (root / d).mkdir(parents=True)
    if status is not None:
        (root / "status.json").write_text(json.dumps(status), encoding="utf-8")
    return root


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def sample(now: datetime | None = None) -> dict:
    now = now or datetime.now().astimezone()
    return {
        "schema": 1, "updated_at": iso(now), "host": "render-01", "root": "/srv/karaoke",
        "queue_status": "running", "share_ok": True, "message": None,
        "total_jobs": 4, "completed_jobs": 1, "failed_jobs": 1, "queued_jobs": 1,
        "overall_percent": 61.5, "estimated_completion": iso(now + timedelta(minutes=7, seconds=30)),
        "current_jobs": ["[bold]Song One[/bold].kproj"],
        "jobs": [
            {"name": "[bold]Song One[/bold].kproj", "state": "running", "priority": 10, "position": None,
             "percent": 42.5, "fps": 87.3, "eta": iso(now + timedelta(minutes=3)), "host": "render-01",
             "renderer": "llvmpipe"},
            {"name": "Zweites Lied.ass", "state": "queued", "priority": 50, "position": 1, "percent": 0.0,
             "fps": 0.0, "eta": None, "expected_start": iso(now + timedelta(minutes=3, seconds=5)),
             "host": None, "renderer": None},
            {"name": "done song.lrc", "state": "done", "priority": 50, "percent": 100.0, "duration": 125.0,
             "finished_at": iso(now - timedelta(minutes=1)), "output": "done/done song.mp4"},
            {"name": "bad.txt", "state": "failed", "priority": 50, "percent": 0.0, "duration": 2.0,
             "finished_at": iso(now - timedelta(minutes=2)), "error": "bad.txt line 3: no #BPM header"},
        ],
    }


def test_json_prints_status_as_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = sample()
    root = make_root(tmp_path, status)
    assert main(["status", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == status


def test_once_shows_jobs_progress_and_eta(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    status = sample()
    root = make_root(tmp_path, status)
    assert main(["status", str(root), "--once"]) == 0
    out = capsys.readouterr().out
    # names are shown literally (a name is not rich markup)
    for text in ("[bold]Song One[/bold].kproj", "Zweites Lied.ass", "done song.lrc", "bad.txt",
                 "no #BPM header", "done/done song.mp4", "running", "queued", "42.5%", "87.3",
                 "61.5%", "1/4 done, 1 failed, 1 queued", "llvmpipe", "render-01", "#1 in line", "2m 05s"):
        assert text in out, text
    eta = datetime.fromisoformat(status["estimated_completion"]).strftime("%H:%M:%S")
    assert f"batch ETA {eta} (in 7m" in out
    job_eta = datetime.fromisoformat(status["jobs"][0]["eta"]).strftime("%H:%M:%S")
    assert job_eta in out
    assert "not being refreshed" not in out


def test_once_flags_stale_status_and_banners(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    status = sample(datetime.now().astimezone() - timedelta(minutes=5))
    status["queue_status"] = "paused"
    root = make_root(tmp_path, status)
    assert main(["status", str(root), "--once"]) == 0
    out = capsys.readouterr().out
    assert "not being refreshed" in out and "paused: no new jobs start" in out
    status = sample()
    status.update(queue_status="idle", share_ok=False, message="share went away at 14:02", jobs=[])
    (root / "status.json").write_text(json.dumps(status))
    assert main(["status", str(root), "--once"]) == 0
    out = capsys.readouterr().out
    assert "share problem: share went away at 14:02" in out and "Nothing queued or running." in out


def test_not_a_hot_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(tmp_path), "--once"]) == 1
    err = capsys.readouterr().err
    assert ".hotfolder is missing" in err and "hotfolder init" in err
    assert main(["status", str(tmp_path), "--json"]) == 1


def test_no_status_json_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_root(tmp_path, None)
    assert main(["status", str(root), "--once"]) == 1
    assert "is the daemon running" in capsys.readouterr().err
    (root / "status.json").write_text("{not json")
    assert main(["status", str(root), "--json"]) == 1
    assert "cannot be read" in capsys.readouterr().err


def test_entry_point_pipes_once(tmp_path: Path) -> None:
    # the installed command, stdout a pipe: prints once and exits without --once
    root = make_root(tmp_path, sample())
    proc = subprocess.run([sys.executable, "-m", "hotfolder", "status", str(root)], capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "Zweites Lied.ass" in proc.stdout and "42.5%" in proc.stdout


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_live_table_in_a_terminal_refreshes_until_ctrl_c(tmp_path: Path) -> None:
    status = sample()
    root = make_root(tmp_path, status)
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="150", LINES="50", TERM="xterm-256color")
    # as in a terminal, Ctrl-C is not ignored, even when this test run was started with SIGINT
    # ignored (a background job of a script): Python would not turn it into KeyboardInterrupt then
    proc = subprocess.Popen([sys.executable, "-m", "hotfolder", "status", str(root), "--interval", "0.3"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    try:
        first = _read_until(master, b"42.5%", 30)
        assert b"42.5%" in first, first[-2000:]
        # the daemon writes a new status: the live table picks it up
        status["jobs"][0]["percent"] = 77.0
        status["jobs"][0]["name"] = "Renamed Song.kproj"
        (root / "status.json").write_text(json.dumps(status))
        later = _read_until(master, b"77.0%", 10)
        assert b"77.0%" in later and b"Renamed Song.kproj" in later
        assert proc.poll() is None  # still running, refreshing
        os.killpg(proc.pid, signal.SIGINT)
        # a terminal keeps reading: were the output left unread, a full pty would block the table's
        # last refresh (or its clean-up on Ctrl-C) and the process with it
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            _read_until(master, b"\0never\0", 0.2)
        assert proc.wait(1) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
