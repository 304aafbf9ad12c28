"""Faults: kill -9 mid-render, broken projects, a polled folder, a share that vanishes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from daemon_support import (Daemon, ass_text, done_reports, failed_reports, make_root, probe_frames, read_json,
                            sidecar_in_work, wait_for, write_config)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_kill_9_mid_render_then_restart_finishes_exactly_once(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    (root / "inbox" / "crash.ass").write_text(ass_text(3))
    d = Daemon(cfg)
    with d:
        wait_for(lambda: any((root / "work").iterdir()), 30, "the claim", d, interval=0.01)
        (root / "PAUSE").touch()  # hold it mid-render so the kill surely lands during the job
        wait_for(lambda: (s := sidecar_in_work(root, "crash.ass")) and s["status"] == "paused", 30, "paused", d)
        jobdir = next((root / "work").iterdir())
        worker = json.loads((jobdir / "job.json").read_text())["worker_pid"]
        d.kill9()
    # the render process dies with its daemon: no orphan finishes the job behind our back
    wait_for(lambda: not _alive(worker), 5, "the orphaned render process to die")
    assert jobdir.exists() and (jobdir / "crash.ass").exists()
    (root / "PAUSE").unlink()
    with Daemon(cfg, "--once") as d2:
        assert d2.wait(90) == 0, d2.log()
        log = d2.log()
    assert "was left by" in log
    videos = sorted(p.name for p in (root / "done").glob("*.mp4"))
    assert videos == ["crash.mp4"], videos
    report = done_reports(root)["crash.json"]
    assert report["status"] == "done" and report["attempts"] == 2
    assert list((root / "work").iterdir()) == [] and not failed_reports(root)
    assert sorted(p.name for p in (root / "inbox").iterdir()) == []
    assert probe_frames(root / "done" / "crash.mp4")[0] == report["frames"]


def test_broken_projects_fail_with_a_readable_report_and_the_daemon_goes_on(tmp_path: Path):
    root = make_root(tmp_path)
    inbox = root / "inbox"
    (inbox / "low").mkdir()
    cfg = write_config(tmp_path, [root])
    (root / "PAUSE").touch()
    (inbox / "garbage.kproj").write_text("version: 1\ntitle: [unclosed\nlines: 5\n")
    (inbox / "noaudio.kproj").write_text("version: 1\ntitle: x\nmedia:\n  audio: nothere.ogg\nlines:\n"
                                         "  - text: \"a|b\"\n    times: [0.5, 1.0, 1.5]\n")
    (inbox / "badside.ass").write_text(ass_text(2))
    (inbox / "badside.ass.yaml").write_text("priority: 1\ncolour: red\n")
    (inbox / "escape.ass").write_text(ass_text(2))
    (inbox / "escape.ass.yaml").write_text("output: ../../evil.mp4\n")
    (inbox / "twice").mkdir()
    (inbox / "twice" / "a.ass").write_text(ass_text(2))
    (inbox / "twice" / "b.lrc").write_text("[00:01.00]hello\n")
    (inbox / "low" / "good.ass").write_text(ass_text(2))  # runs last: the daemon kept going
    with Daemon(cfg, "--once") as d:
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == 6, 20, "six queued", d)
        (root / "PAUSE").unlink()
        assert d.wait(120) == 0, d.log()
    reports = failed_reports(root)
    assert set(reports) == {"garbage.json", "noaudio.json", "badside.json", "escape.json", "twice.json"}
    for name, r in reports.items():
        assert r["status"] == "failed" and r["error"] and r["error"].endswith("."), (name, r)
        assert isinstance(r["log"], list) and r["finished_at"] and r["schema"] == 1
    assert "garbage.kproj" in reports["garbage.json"]["error"] and "project could not be used" in reports["garbage.json"]["error"]
    assert "noaudio.kproj: audio file not found: nothere.ogg" in reports["noaudio.json"]["error"]
    assert "work/" not in reports["garbage.json"]["error"]
    assert "colour: unknown key" in reports["badside.json"]["error"]
    assert "must be a file name only" in reports["escape.json"]["error"]
    assert "exactly one project file" in reports["twice.json"]["error"]
    # the files as dropped, in a folder that can be dropped into the inbox again
    assert (root / "failed" / "badside" / "badside.ass.yaml").exists()
    assert (root / "failed" / "twice" / "a.ass").exists() and (root / "failed" / "twice" / "b.lrc").exists()
    assert not (tmp_path / "evil.mp4").exists() and not (root / "evil.mp4").exists()
    assert set(done_reports(root)) == {"good.json"}
    status = json.loads((root / "status.json").read_text())
    assert status["completed_jobs"] == 1 and status["failed_jobs"] == 5 and status["queue_status"] == "idle"


def test_polled_folder_takes_jobs_dropped_by_hand(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root], watch="poll", rescan_interval=30.0)  # the polling observer must notice
    with Daemon(cfg) as d:
        wait_for(lambda: read_json(root / "status.json"), 20, "the daemon to start", d)
        time.sleep(0.5)
        (root / "inbox" / "polled.ass").write_text(ass_text(2))
        report = wait_for(lambda: done_reports(root).get("polled.json"), 40, "the job to finish", d)
        assert "watching with poll" in d.log()
    assert report["status"] == "done" and (root / "done" / "polled.mp4").exists()


def _bindfs_available() -> bool:
    return shutil.which("bindfs") is not None and shutil.which("fusermount") is not None and os.path.exists("/dev/fuse")


@pytest.mark.skipif(not _bindfs_available(), reason="bindfs / FUSE not available")
def test_share_vanishing_does_nothing_destructive(tmp_path: Path):
    src = make_root(tmp_path, "server")          # what the file server holds
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["bindfs", str(src), str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount with bindfs here")
    try:
        (src / "PAUSE").touch()
        (src / "inbox" / "kept.ass").write_text(ass_text(2))
        cfg = write_config(tmp_path, [mnt], watch="auto")
        with Daemon(cfg) as d:
            wait_for(lambda: (s := read_json(src / "status.json")) and s["queued_jobs"] == 1, 20, "queued", d)
            assert "watching with poll" in d.log()  # a FUSE mount is polled
            subprocess.run(["fusermount", "-uz", str(mnt)], check=True)
            wait_for(lambda: "share is not mounted" in d.log(), 10, "the daemon to notice", d)
            (src / "PAUSE").unlink()  # would let the job run, if the daemon could see the share
            before = sorted(str(p.relative_to(src)) for p in src.rglob("*"))
            time.sleep(2.5)
            # the empty mount point got nothing (no status.json claiming an empty queue, no folders)
            assert list(mnt.iterdir()) == []
            after = sorted(str(p.relative_to(src)) for p in src.rglob("*"))
            assert after == before and (src / "inbox" / "kept.ass").exists()
            assert not failed_reports(src) and list((src / "work").iterdir()) == []
            subprocess.run(["bindfs", str(src), str(mnt)], check=True)
            report = wait_for(lambda: done_reports(src).get("kept.json"), 40, "the job after the share is back", d)
            assert "the share is back" in d.log()
        assert report["status"] == "done"
    finally:
        subprocess.run(["fusermount", "-uz", str(mnt)], capture_output=True)


def test_two_daemons_on_one_share_render_each_job_exactly_once(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    (root / "PAUSE").touch()
    names = [f"j{i}.ass" for i in range(5)]
    for n in names:
        (root / "inbox" / n).write_text(ass_text(2))
    with Daemon(cfg) as d1, Daemon(cfg) as d2:
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == 5, 20, "queued", d1)
        time.sleep(0.5)
        (root / "PAUSE").unlink()
        wait_for(lambda: len(done_reports(root)) == 5, 90, "five jobs done", d2)
        time.sleep(1.0)  # a second render of any job would show up as "j0 (2).mp4"
        started = d1.log().count(": started (") + d2.log().count(": started (")
    assert sorted(p.name for p in (root / "done").glob("*.mp4")) == [n.replace(".ass", ".mp4") for n in names]
    assert started == 5 and list((root / "work").iterdir()) == [] and not failed_reports(root)
    history = json.loads((root / ".hotfolder" / "history.json").read_text())
    assert sorted(r["name"] for r in history) == names  # both daemons' jobs, merged


def test_a_crashing_render_is_retried_then_failed_after_max_attempts(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root], max_attempts=2)
    (root / "inbox" / "crashy.ass").write_text(ass_text(3))

    def catch_and_kill() -> None:
        wait_for(lambda: any((root / "work").iterdir()), 30, "the claim", d, interval=0.01)
        (root / "PAUSE").touch()
        wait_for(lambda: (s := sidecar_in_work(root, "crashy.ass")) and s["status"] == "paused", 30, "paused", d)
        meta = json.loads(next((root / "work").iterdir()).joinpath("job.json").read_text())
        os.kill(meta["worker_pid"], 9)   # the render process dies without a word

    with Daemon(cfg) as d:
        catch_and_kill()
        side = wait_for(lambda: read_json(root / "inbox" / "crashy.ass.progress.json"), 20, "back in the inbox", d)
        assert side["attempts"] == 1 and "signal 9" in side["last_error"]
        (root / "PAUSE").unlink()
        catch_and_kill()
        report = wait_for(lambda: failed_reports(root).get("crashy.json"), 20, "the job to fail", d)
    assert report["attempts"] == 2 and "stopped unexpectedly" in report["error"] and "signal 9" in report["error"]
    assert list((root / "work").iterdir()) == [] and not done_reports(root)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _left_in_work(root: Path, name: str, meta: dict) -> Path:
    """A job folder in work/ as a daemon that was killed while filing it leaves it."""
    from hotfolder.claims import HOST

    jobdir = root / "work" / name
    jobdir.mkdir()
    (jobdir / ".lease").write_text(json.dumps({"host": HOST, "pid": _dead_pid(), "token": "gone"}))
    files = {}
    for rel in meta.get("media", []):   # as the claim records them: only these very files leave the inbox
        st = (root / "inbox" / rel).stat()
        files[rel] = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
    meta = {"media_files": files, **meta}
    (jobdir / "job.json").write_text(json.dumps({"name": name, "key": name, "bundle": False, "priority": 50,
                                                 "attempts": 1, **meta}))
    return jobdir


def test_a_job_killed_while_being_filed_is_filed_once_and_its_media_leave_the_inbox(tmp_path: Path):
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    done = root / "done"
    # filed.ass: its report was written, then the daemon died before it cleared work/
    (done / "filed.mp4").write_bytes(b"video")
    (done / "sources" / "filed").mkdir(parents=True)
    (done / "sources" / "filed" / "filed.ass").write_text(ass_text(2))
    report = {"schema": 1, "name": "filed.ass", "status": "done", "output": "done/filed.mp4", "frames": 23,
              "finished_at": "2026-11-26T10:00:00+00:00", "source": "done/sources/filed"}
    (done / "filed.json").write_text(json.dumps(report))
    (root / "inbox" / "filed.wav").write_bytes(b"RIFF")  # its media, not yet removed from the inbox
    _left_in_work(root, "filed.ass", {"media": ["filed.wav"], "output": "filed.mp4",
                                      "delivered": {"stem": "filed", "video": "done/filed.mp4"}})
    # moved.ass: its video was delivered, the daemon died before writing the report
    (done / "moved.mp4").write_bytes(b"video")
    (root / "inbox" / "moved.wav").write_bytes(b"RIFF")
    jobdir = _left_in_work(root, "moved.ass", {"media": ["moved.wav"], "output": "moved.mp4",
                                               "delivered": {"stem": "moved", "video": "done/moved.mp4"}})
    (jobdir / "moved.ass").write_text(ass_text(2))
    (jobdir / "moved.wav").write_bytes(b"RIFF")
    with Daemon(cfg, "--once") as d:
        assert d.wait(60) == 0, d.log()
    assert json.loads((done / "filed.json").read_text()) == report  # not overwritten by a second filing
    assert sorted(p.name for p in (done / "sources").iterdir()) == ["filed", "moved"]
    moved = done_reports(root)["moved.json"]
    assert moved["status"] == "done" and moved["output"] == "done/moved.mp4"
    assert (done / "sources" / "moved" / "moved.ass").exists()
    assert list((root / "work").iterdir()) == [] and list((root / "inbox").iterdir()) == []
    history = json.loads((root / ".hotfolder" / "history.json").read_text())
    assert sorted(r["name"] for r in history) == ["filed.ass", "moved.ass"]
    assert sorted(p.name for p in done.glob("*.json")) == ["filed.json", "moved.json"]


def test_history_another_node_overwrote_is_written_back(tmp_path: Path):
    # nodes on one share merge history.json without a lock: a write can drop what another node
    # had just added; each node puts back what it knows
    root = make_root(tmp_path)
    cfg = write_config(tmp_path, [root])
    ours = {"name": "ours.ass", "status": "done", "finished_at": "2026-11-26T10:00:00+00:00", "host": "a"}
    theirs = {"name": "theirs.ass", "status": "done", "finished_at": "2026-11-26T10:00:01+00:00", "host": "b"}
    history = root / ".hotfolder" / "history.json"
    history.write_text(json.dumps([ours]))
    with Daemon(cfg) as d:
        wait_for(lambda: read_json(root / "status.json"), 20, "the daemon to start", d)
        history.write_text(json.dumps([theirs]))  # the other node's write, made from an older read
        assert d.terminate() == 0
    assert json.loads(history.read_text()) == [theirs, ours]
