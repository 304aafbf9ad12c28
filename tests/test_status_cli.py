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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

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
    assert "no update for 5 min: the daemon is not running or cannot write here" in out
    assert "paused: no new jobs start" in out
    status = sample()
    status.update(queue_status="idle", share_ok=False, message="share went away at 14:02", jobs=[])
    (root / "status.json").write_text(json.dumps(status))
    assert main(["status", str(root), "--once"]) == 0
    out = capsys.readouterr().out
    assert "share problem: share went away at 14:02" in out and "Nothing queued or running." in out


def once(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["status", str(root), "--once"]) == 0
    return capsys.readouterr().out


def test_a_daemon_killed_mid_job_is_said_within_a_minute(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9: status.json stays as it was, "running 42.5 %, ETA in 3 min". Past a minute by the
    reader's clock the view says the daemon is gone, and the job is no longer shown running with
    an ETA."""
    monkeypatch.setenv("COLUMNS", "160")
    written = datetime.now().astimezone() - timedelta(seconds=75)
    status = sample(written)
    root = make_root(tmp_path, status)
    out = once(root, capsys)
    assert "no update for 1 min: the daemon is not running or cannot write here" in out
    job_eta = datetime.fromisoformat(status["jobs"][0]["eta"]).strftime("%H:%M:%S")
    batch_eta = datetime.fromisoformat(status["estimated_completion"]).strftime("%H:%M:%S")
    assert job_eta not in out and batch_eta not in out and "87.3" not in out
    row = next(line for line in out.splitlines() if "Song One" in line)
    assert "unknown" in row and "running" not in row
    assert "queue unknown (it said running)" in out and "batch ETA unknown" in out
    # 40 s old: a daemon that writes every few seconds at most is still there
    (root / "status.json").write_text(json.dumps(sample(datetime.now().astimezone() - timedelta(seconds=40))))
    out = once(root, capsys)
    assert "no update" not in out and job_eta not in out
    assert "running" in next(line for line in out.splitlines() if "Song One" in line)


def test_a_daemon_that_shut_down_is_not_running_not_stopped(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    status = sample(datetime.now().astimezone() - timedelta(hours=3))
    status.update(queue_status="not_running", message="the daemon is not running (it was shut down)",
                  current_jobs=[], jobs=status["jobs"][1:])
    out = once(make_root(tmp_path, status), capsys)
    assert "queue not running" in out
    assert "not running: the daemon was shut down at" in out
    assert "STOP" not in out and "stopped" not in out and "hotfolder start" not in out
    assert "no update for" not in out   # it said so itself
    assert "batch ETA —" in out


def test_a_paused_job_shows_no_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    status = sample()
    status["queue_status"] = "paused"
    status["jobs"][0].update(state="paused", fps=87.3)   # as a sidecar from before the pause said
    out = once(make_root(tmp_path, status), capsys)
    row = next(line for line in out.splitlines() if "Song One" in line)
    assert "paused" in row and "87.3" not in row and "42.5%" in row
    assert datetime.fromisoformat(status["jobs"][0]["eta"]).strftime("%H:%M:%S") not in row


def test_a_failed_batch_is_not_drawn_as_success() -> None:
    """An all-failed batch is 100 % processed: its bar is red, never the finished-and-fine green."""
    from rich.console import Console

    from hotfolder.commands.status import build_view

    now = datetime.now().astimezone()
    status = sample(now)
    status.update(queue_status="idle", total_jobs=1, completed_jobs=0, failed_jobs=1, queued_jobs=0,
                  overall_percent=100.0, estimated_completion=None, current_jobs=[], jobs=status["jobs"][3:])
    console = Console(width=100, force_terminal=True, color_system="truecolor", record=True)
    console.print(build_view(status, now))
    assert "0/1 done, 1 failed" in console.export_text(clear=False)
    bar = next(line for line in console.export_text(styles=True).splitlines() if "━━━━━" in line)
    assert bar == "\x1b[31m" + "━" * 100 + "\x1b[0m"   # red, the whole width: not green, not "finished"


def test_failures_first_with_reports_and_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    status = sample()
    status["jobs"][2].update(report="done/done song.json",
                             warnings=["font family 'Comic' not found: using DejaVu Sans"])
    status["jobs"][3].update(report="failed/bad.json")
    out = once(make_root(tmp_path, status), capsys)
    recent = out[out.index("Recently finished"):]
    assert recent.index("bad.txt") < recent.index("done song.lrc")
    assert "report: failed/bad.json" in recent and "report: done/done song.json" in recent
    assert "warning: font family 'Comic' not found" in recent


def test_times_are_shown_in_the_readers_zone(tmp_path: Path) -> None:
    """status.json's times carry their offset; the table shows them all in the reader's local
    time (TZ=Europe/Berlin here), whatever offset they were written with."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    status = sample(now)                                      # every time written in UTC
    root = make_root(tmp_path, status)
    env = dict(os.environ, TZ="Europe/Berlin", COLUMNS="160")
    proc = subprocess.run([sys.executable, "-m", "hotfolder", "status", str(root), "--once"], capture_output=True,
                          text=True, timeout=60, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    berlin = ZoneInfo("Europe/Berlin")
    for when in (status["estimated_completion"], status["jobs"][0]["eta"], status["jobs"][1]["expected_start"]):
        local = datetime.fromisoformat(when).astimezone(berlin).strftime("%H:%M:%S")
        utc = datetime.fromisoformat(when).strftime("%H:%M:%S")
        assert local in proc.stdout and utc not in proc.stdout, (when, proc.stdout)


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
