"""Soak and fault runs, outside `make test` (marked slow; `make soak` runs them).

1. Twenty small jobs dropped over time into priority subfolders while the daemon is killed
   with SIGKILL at random moments and restarted, and a reader loads every JSON file in a
   tight loop: each job ends in done/ exactly once, with the right frame count.
2. A full disk (the hot folder on a 3 MB tmpfs): the job whose video does not fit is not
   lost, the daemon goes on, a daemon_error notification arrives, and once space is freed
   the queue continues and the job is done.
3. The share (bindfs) vanishes and comes back again and again while jobs run: nothing is
   lost or rendered twice.

Each test prints the random seed it used (SOAK_SEED=… reruns it the same way).
"""
from __future__ import annotations

import os
import random
import shutil
import threading
import time
from pathlib import Path

import pytest

from daemon_support import (Daemon, done_reports, failed_reports, make_root, probe_frames, read_json, wait_for,
                            write_config)
from soak_support import (Job, JsonReader, Sink, inbox_files, leftovers, make_job, mounted, run, wait_until)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _seed() -> int:
    seed = int(os.environ.get("SOAK_SEED") or random.randrange(1 << 30))
    print(f"SOAK_SEED={seed}")
    return seed


def _check_done(root: Path, jobs: list[Job]) -> dict[str, dict]:
    """Every job in done/ exactly once: one video, one report, one sources folder; each video
    decodes to the frame count the project asks for."""
    reports = done_reports(root)
    stems = sorted(j.stem for j in jobs)
    assert sorted(p.name for p in (root / "done").glob("*.mp4")) == sorted(f"{s}.mp4" for s in stems)
    assert sorted(reports) == sorted(f"{s}.json" for s in stems)
    assert sorted(p.name for p in (root / "done" / "sources").iterdir()) == stems
    for job in jobs:
        rep = reports[f"{job.stem}.json"]
        assert rep["status"] == "done" and rep["name"] == job.name, rep
        assert rep["frames"] == job.frames, (job.name, rep["frames"], job.frames)
        assert (root / "done" / "sources" / job.stem / job.name).read_text() == job.text
        n, _ = probe_frames(root / "done" / f"{job.stem}.mp4")
        assert n == job.frames, (job.name, n, job.frames)
    return reports


def _kill_all(daemons: list[Daemon]) -> None:
    """Whatever happened, no daemon (or its renders) outlives the test."""
    for d in daemons:
        if d.proc.poll() is None or not d._log.closed:
            d.kill9()


def _no_tracebacks(*daemons: Daemon) -> None:
    for d in daemons:
        assert "Traceback" not in d.log(), d.log()[-4000:]


def _rendering(jobdir: Path) -> bool:
    """A claimed job whose render has not produced its video yet."""
    return (jobdir.is_dir() and not jobdir.name.startswith(".") and (jobdir / "job.json").is_file()
            and not any(p.suffix == ".mp4" and ".partial" not in p.name for p in (jobdir / "out").glob("*")))


# --- 1. soak: kill -9 at random moments -----------------------------------------------------

def test_soak_twenty_jobs_with_kill_9_restarts_and_a_reader(tmp_path: Path):
    seed = _seed()
    rng, feed_rng = random.Random(seed), random.Random(seed + 1)   # one per thread: a seed replays
    root = make_root(tmp_path)
    inbox = root / "inbox"
    cfg = write_config(tmp_path, [root], max_attempts=10)   # kills are not the jobs' fault
    folders = ["", "high", "low", "urgent", "5"]
    jobs = []
    for i in range(20):
        kind = "ass" if i % 2 == 0 else "lrc"
        fps = 15 if i % 3 == 0 else 10
        prio = 20 if i % 7 == 3 else None                      # a sidecar's priority wins
        jobs.append(make_job(f"soak{i:02d}", kind, rng.randint(2, 4), rng.choice(folders), fps, priority=prio))
    early, final = jobs[:16], jobs[16:]

    reader = JsonReader(root).start()
    daemons: list[Daemon] = []
    fed = threading.Event()

    def feed() -> None:
        for job in early:
            job.drop(inbox)
            time.sleep(feed_rng.uniform(0.3, 2.2))
        fed.set()

    try:
        daemons.append(Daemon(cfg))
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        # three kills: two at random moments, one aimed at a job just claimed (mid-render)
        for k in range(3):
            d = daemons[-1]
            if k == 1:
                # at once: these renders take a fraction of a second, so a delay could let it finish
                wait_for(lambda: any(_rendering(p) for p in (root / "work").iterdir()), 60, "a claimed job", d,
                         interval=0.01)
            else:
                time.sleep(rng.uniform(2.0, 7.0))
            d.kill9()
            time.sleep(rng.uniform(0.0, 1.0))
            daemons.append(Daemon(cfg))
        feeder.join(60)
        assert fed.is_set()
        d = daemons[-1]
        wait_for(lambda: len(done_reports(root)) == len(early), 150, "the early jobs", d, interval=0.2)
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queue_status"] == "idle", 20, "idle", d)
        # the root's batch closes once the root stayed idle a moment (3 s): then the next drop is a new batch
        wait_for(lambda: (b := read_json(root / ".hotfolder" / "batch.json")) and b.get("closed_at"), 20,
                 "the early batch closed", d)
        # the last four as one batch, dropped while paused: counts and priority order are exact
        (root / "PAUSE").touch()
        for job in final:
            job.drop(inbox)
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == len(final), 20,
                 "the last batch queued", d)
        (root / "PAUSE").unlink()
        wait_for(lambda: len(done_reports(root)) == len(jobs), 90, "all jobs", d, interval=0.2)
        status = wait_for(lambda: (s := read_json(root / "status.json")) and s["queue_status"] == "idle"
                          and s["completed_jobs"] == len(final) and s, 20, "status idle after the last batch", d)
        time.sleep(1.5)  # a second render of any job would show up as "soakNN (2).mp4"
        assert d.terminate(20) == 0, d.log()[-3000:]
    finally:
        reader.close()
        _kill_all(daemons)

    reports = _check_done(root, jobs)
    assert not failed_reports(root)
    assert list((root / "work").iterdir()) == []
    assert inbox_files(root) == []
    assert leftovers(root) == []
    assert status["total_jobs"] == len(final) and status["failed_jobs"] == 0 and status["queued_jobs"] == 0
    assert status["overall_percent"] == 100 and status["current_jobs"] == [] and status["share_ok"]
    done_rows = [j["name"] for j in status["jobs"] if j["state"] == "done"]
    assert sorted(done_rows) == sorted(j.name for j in jobs), "status.json lists each finished job once"
    # the final batch ran in priority order (sidecar first, then subfolder; equal ones oldest first)
    prio = {"": 50, "high": 10, "low": 90, "urgent": 0, "5": 5}
    want = [j.name for j in sorted(final, key=lambda j: 20 if j.sidecar and "priority" in j.sidecar
                                   else prio[j.folder])]
    started = [ln.split(": started (")[0].split()[-1] for ln in daemons[-1].log().splitlines()
               if ": started (" in ln]
    assert [n for n in started if n in want] == want, (started, want)
    # the kill aimed at a running job was counted as an interrupted attempt, and retried
    assert any(r["attempts"] >= 2 for r in reports.values()), [r["attempts"] for r in reports.values()]
    assert reader.reads > 500 and reader.invalid == [], (reader.reads, reader.invalid[:5])
    _no_tracebacks(*daemons)
    print(f"soak: {len(jobs)} jobs, {len(daemons) - 1} kills, reader {reader.reads} reads, "
          f"attempts {sorted(r['attempts'] for r in reports.values())}")


# --- 2. full disk ----------------------------------------------------------------------------

def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    res = run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where), check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _says_disk_full(text: str | None) -> bool:
    text = (text or "").lower()
    return "disk is full" in text or "no space left" in text


def _disk_alerts(sink: Sink) -> list[dict]:
    return [m for m in sink.find("hotfolder problem") if _says_disk_full(m.get("message") or m.get("body"))]


def test_full_disk_job_waits_daemon_goes_on_and_finishes_once_space_is_freed(tmp_path: Path):
    disk = tmp_path / "vol"
    _mount_tmpfs(disk, "3m")
    sink = Sink()
    d: Daemon | None = None
    try:
        root = make_root(disk)
        cfg = write_config(tmp_path, [root], notify={
            "urls": [sink.url], "events": ["daemon_error", "job_failed", "job_done"],
            "timeout": 3, "attempts": 2, "backoff": [0.2]})
        big = make_job("big", "ass", 4, "high")
        big.sidecar = "render: {width: 1280, height: 720, fps: 25, crf: 0}\n"   # ~530 KB of video
        big.fps = 25
        after = make_job("after", "lrc", 2, "low")                             # queued behind it
        d = Daemon(cfg)
        wait_for(lambda: read_json(root / "status.json"), 30, "the daemon to start", d)
        time.sleep(1.0)  # status.html and the node file exist: what stays on the disk is there
        filler = disk / "filler.bin"
        with open(filler, "wb") as fh:   # leave about 300 KB: claims and sidecars fit, the video does not
            fh.write(b"\0" * max(0, _free(disk) - 300 * 1024))
        (root / "PAUSE").touch()
        big.drop(root / "inbox")
        after.drop(root / "inbox")
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == 2, 20, "both queued", d)
        (root / "PAUSE").unlink()
        # the render runs out of space writing its video
        wait_for(lambda: "No space left on device" in d.log() or "disk is full" in d.log(), 60, "a full disk", d)
        alert = wait_for(lambda: _disk_alerts(sink), 20, "a daemon_error notification about the disk", d)
        time.sleep(2.0)  # the queue holds: nothing else runs on a full disk, nothing is failed
        assert d.proc.poll() is None, "the daemon must keep running"
        assert not failed_reports(root), f"the job is not at fault: {failed_reports(root)}"
        assert not done_reports(root)
        side = wait_for(lambda: read_json(root / "inbox" / "high" / "big.ass.progress.json"), 10,
                        "big.ass back in the inbox, queued", d)
        assert side["status"] == "queued" and _says_disk_full(side["last_error"]), side
        status = read_json(root / "status.json")
        assert status and _says_disk_full(status["message"]), status
        assert leftovers(root) == []
        # space is freed: the queue goes on by itself
        filler.unlink()
        wait_for(lambda: len(done_reports(root)) == 2, 90, "both jobs after space was freed", d, interval=0.2)
        wait_for(lambda: (s := read_json(root / "status.json")) and s["queue_status"] == "idle"
                 and not s["message"], 20, "idle without the disk message", d)
        assert d.terminate(20) == 0
        log = d.log()
        # (checked before the tmpfs goes, with everything on it)
        reports = _check_done(root, [big, after])
        assert reports["big.json"]["attempts"] == 1, "a full disk is not counted against the job"
        assert not failed_reports(root) and list((root / "work").iterdir()) == [] and inbox_files(root) == []
        assert leftovers(root) == []
        assert len(_disk_alerts(sink)) == 1, "one daemon_error about the disk, not one per try"
        assert not [t for t in sink.titles() if t.startswith("Failed")], sink.titles()
        assert alert and "Traceback" not in log
    finally:
        _kill_all([d] if d is not None else [])
        sink.close()
        if run("umount", str(disk), check=False).returncode != 0:
            run("umount", "-l", str(disk), check=False)


# --- 3. the share vanishes and comes back, again and again ------------------------------------

def _bindfs_available() -> bool:
    return shutil.which("bindfs") is not None and shutil.which("fusermount") is not None and os.path.exists("/dev/fuse")


@pytest.mark.skipif(not _bindfs_available(), reason="bindfs / FUSE not available")
def test_share_vanishing_and_returning_repeatedly_while_jobs_run(tmp_path: Path):
    rng = random.Random(_seed())
    src = make_root(tmp_path, "server")     # what the file server holds
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if run("bindfs", str(src), str(mnt), check=False).returncode != 0:
        pytest.skip("cannot mount with bindfs here")
    jobs = [make_job(f"share{i:02d}", "ass" if i % 2 else "lrc", rng.randint(2, 4), rng.choice(["", "high", "low"]))
            for i in range(10)]
    reader = JsonReader(src).start()
    cycles = 0
    d: Daemon | None = None
    try:
        cfg = write_config(tmp_path, [mnt], watch="auto", max_attempts=10)
        d = Daemon(cfg)
        wait_for(lambda: read_json(src / "status.json"), 30, "the daemon to start", d)
        for job in jobs[:6]:
            job.drop(src / "inbox")
        t_end = time.monotonic() + 60
        dropped = 6
        while time.monotonic() < t_end and len(done_reports(src)) < len(jobs):
            # wait until something runs, then pull the share from under it
            wait_until(lambda: any((src / "work").iterdir()), 15)
            time.sleep(rng.uniform(0.0, 1.2))
            run("fusermount", "-uz", str(mnt))
            cycles += 1
            time.sleep(rng.uniform(0.5, 3.0))
            if dropped < len(jobs):           # people keep dropping files on the server meanwhile
                jobs[dropped].drop(src / "inbox")
                dropped += 1
            stray = sorted(p.name for p in mnt.iterdir())
            assert stray == [], f"written into the bare mount point while the share was away: {stray}"
            run("bindfs", str(src), str(mnt))
            time.sleep(rng.uniform(1.0, 3.0))
        for job in jobs[dropped:]:
            job.drop(src / "inbox")
        wait_for(lambda: len(done_reports(src)) + len(failed_reports(src)) >= len(jobs), 90, "every job", d,
                 interval=0.2)
        wait_for(lambda: (s := read_json(src / "status.json")) and s["queue_status"] == "idle", 20, "idle", d)
        time.sleep(1.5)  # a second render would show up as "shareNN (2).mp4"
        assert d.proc.poll() is None
        assert d.terminate(20) == 0
        log = d.log()
    finally:
        reader.close()
        _kill_all([d] if d is not None else [])
        if mounted(mnt):
            run("fusermount", "-uz", str(mnt), check=False)
    assert cycles >= 4, cycles
    assert not failed_reports(src), {k: v["error"] for k, v in failed_reports(src).items()}
    _check_done(src, jobs)
    assert list((src / "work").iterdir()) == [] and inbox_files(src) == [] and leftovers(src) == []
    # nothing was ever written into the bare mount point while the share was away
    assert list(mnt.iterdir()) == []
    assert reader.invalid == [], reader.invalid[:5]
    assert log.count("the share is back") >= cycles - 1 and "Traceback" not in log
    print(f"share: {len(jobs)} jobs, {cycles} unmounts")
