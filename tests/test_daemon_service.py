"""The daemon as a service: systemd notifications over a real socket, SIGHUP reloads."""
from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from daemon_support import Daemon, ass_text, done_reports, make_root, probe_frames, read_json, wait_for, write_config


def test_systemd_notifications_ready_watchdog_status_stopping(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    (root / "inbox" / "n.ass").write_text(ass_text(2))
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.2)
    messages: list[str] = []
    try:
        with Daemon(cfg, "--once", env={"NOTIFY_SOCKET": str(sock_path)}) as d:
            deadline = time.monotonic() + 60
            while d.proc.poll() is None and time.monotonic() < deadline:
                try:
                    messages.append(sock.recv(4096).decode())
                except socket.timeout:
                    pass
            assert d.wait(10) == 0, d.log()
        while True:
            try:
                messages.append(sock.recv(4096).decode())
            except (socket.timeout, BlockingIOError):
                break
    finally:
        sock.close()
    assert messages[0] == "READY=1", messages
    assert "WATCHDOG=1" in messages and messages[-1] == "STOPPING=1"
    assert any(m.startswith("STATUS=") and "running" in m for m in messages), messages
    assert "n.json" in done_reports(root)


def test_sighup_reloads_the_config_and_keeps_the_old_one_when_broken(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    with Daemon(cfg) as d:
        wait_for(lambda: read_json(root / "status.json"), 20, "the daemon to start", d)
        cfg.write_text(cfg.read_text() + "workers: many\n")
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "config not reloaded" in d.log() and "workers: expected an integer" in d.log(), 10,
                 "the bad config to be refused", d)
        write_config(tmp_path, [root], render={"width": 320, "height": 180})
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in d.log(), 10, "the reload", d)
        (root / "inbox" / "after.ass").write_text(ass_text(2))
        report = wait_for(lambda: done_reports(root).get("after.json"), 40, "the job", d)
        assert d.proc.poll() is None
    assert report["settings"]["width"] == 320
    import av

    with av.open(str(root / "done" / "after.mp4")) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (320, 180)
    assert probe_frames(root / "done" / "after.mp4")[0] == report["frames"]


def test_init_and_control_commands_make_the_files_a_person_would(tmp_path: Path, capsys):
    from hotfolder.cli import main
    from hotfolder.config import load_config

    root = tmp_path / "share" / "karaoke"
    cfg = tmp_path / "etc" / "hotfolder.yaml"
    assert main(["init", str(root), "--priorities", "--config", str(cfg), "--size", "640x360", "--fps", "25"]) == 0
    for sub in (".hotfolder", "inbox/high", "inbox/urgent", "work", "done", "failed"):
        assert (root / sub).is_dir()
    config = load_config(cfg)
    assert config.hotfolders[0].root == root.resolve() and (config.render.width, config.render.fps) == (640, 25)
    assert main(["init", str(root), "--config", str(cfg)]) == 1  # never overwrites a config
    assert main(["pause", str(root)]) == 0 and (root / "PAUSE").exists()
    (root / "inbox" / "PAUSE").touch()
    assert main(["resume", str(root)]) == 0 and not (root / "PAUSE").exists() and not (root / "inbox" / "PAUSE").exists()
    assert main(["stop", str(root)]) == 0 and (root / "STOP").exists()
    assert main(["start", str(root)]) == 0 and not (root / "STOP").exists()
    assert main(["cancel", str(root), "song.ass"]) == 1 and not list(root.rglob("*.cancel"))   # no such job
    (root / "inbox" / "song.ass").write_text("x")
    assert main(["cancel", str(root), "song.ass"]) == 0 and (root / "inbox" / "song.ass.cancel").exists()
    (root / "inbox" / "song.ass").unlink()
    (root / "inbox" / "song.ass.cancel").unlink()
    (root / "inbox" / "high" / "a.ass").write_text("x")
    (root / "inbox" / "b.lrc").write_text("x")
    (root / "inbox" / "vip").mkdir()            # a priority folder only the config knows
    (root / "inbox" / "vip" / "c.kproj").write_text("x")
    cfg.write_text(cfg.read_text().replace("\nsettle", "\n    priorities: {vip: 1, high: 10}\nsettle"))
    assert main(["clear", str(root), "-c", str(cfg)]) == 0
    assert (root / "inbox" / "high" / "a.ass.cancel").exists() and (root / "inbox" / "b.lrc.cancel").exists()
    assert (root / "inbox" / "vip" / "c.kproj.cancel").exists() and not (root / "inbox" / "vip.cancel").exists()
    assert main(["pause", str(tmp_path / "nothere")]) == 1
    assert "is not a hot folder" in capsys.readouterr().err


def test_run_once_on_a_folder_that_is_not_a_hot_folder_says_so(tmp_path: Path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "hotfolder", "run", "--root", str(tmp_path), "--once"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and f"hotfolder init {tmp_path}" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing created there
