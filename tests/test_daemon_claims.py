"""Claims and filing on a real folder (no daemon): one winner per claim, never overwrite,
returns keep the queue place, reports and sidecars as documented."""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hotfolder import claims, reports
from hotfolder.jobs import scan_inbox
from hotfolder.queue import Lease


def _setup(tmp_path: Path):
    places = claims.create_hotfolder(tmp_path / "hf")
    (places.inbox / "high").mkdir()
    job = places.inbox / "high" / "song.ass"
    job.write_text("x")
    (places.inbox / "high" / "song.ass.yaml").write_text("priority: 3\n")
    (places.inbox / "high" / "song.ass.progress.json").write_text("{}")
    (places.inbox / "high" / "song.ogg").write_bytes(b"audio")
    os.utime(job, (1_000_000, 1_000_000))
    cand = scan_inbox(places.inbox, {"high": 10}, 50)[0][0]
    return places, cand


def test_only_one_of_many_claimers_wins(tmp_path: Path):
    places, cand = _setup(tmp_path)
    results = []
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        barrier.wait()
        results.append(claims.claim(places, cand, lease=Lease("h", i, f"t{i}"), priority=10, attempts=1, media=[]))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert [p.name for p in places.work.iterdir()] == [winners[0].dir.name]   # losers cleaned up
    wj = winners[0]
    assert (wj.dir / "song.ass").exists() and (wj.dir / "song.ass.yaml").exists()
    assert not (places.inbox / "high" / "song.ass.progress.json").exists()
    lease = claims.read_lease(wj.dir)
    assert lease is not None and lease.token == f"t{lease.pid}"


def test_media_are_linked_and_a_return_keeps_the_queue_place(tmp_path: Path):
    places, cand = _setup(tmp_path)
    media = [(places.inbox / "high" / "song.ogg").resolve()]
    wj = claims.claim(places, cand, lease=Lease("h", 1, "t"), priority=3, attempts=1, media=media)
    assert (wj.dir / "song.ogg").read_bytes() == b"audio" and wj.meta["media"] == ["song.ogg"]
    assert (places.inbox / "high" / "song.ogg").exists()        # the original stays until the job ends
    key, path = claims.return_to_inbox(places, wj)
    assert key == "high/song.ass" and path.stat().st_mtime == 1_000_000   # same place in the queue
    assert (places.inbox / "high" / "song.ass.yaml").exists() and not wj.dir.exists()


def test_done_never_overwrites_and_keeps_video_report_poster_together(tmp_path: Path):
    places, cand = _setup(tmp_path)
    (places.done / "song.mp4").write_bytes(b"old")
    (places.done / "song (2).json").write_text("{}")
    wj = claims.claim(places, cand, lease=Lease("h", 1, "t"), priority=3, attempts=1, media=[])
    wj.out_dir.mkdir()
    (wj.out_dir / "song.mp4").write_bytes(b"new")
    (wj.out_dir / "song.jpg").write_bytes(b"jpg")
    stem, video, poster = claims.deliver_done(places, wj, wj.out_dir / "song.mp4", wj.out_dir / "song.jpg")
    assert stem == "song (3)" and video.read_bytes() == b"new" and poster.name == "song (3).jpg"
    assert (places.done / "song.mp4").read_bytes() == b"old"
    assert wj.meta["delivered"]["video"] == "done/song (3).mp4"   # recorded before the work folder goes
    claims.file_done(places, wj, stem, {"status": "done"})
    assert (places.done / "sources" / "song (3)" / "song.ass").exists() and not wj.dir.exists()
    assert (places.done / "song (3).json").exists()


class DaemonDied(BaseException):
    pass


def test_a_crash_between_publishing_and_recording_never_doubles_the_video(tmp_path: Path, monkeypatch):
    # found by make soak: the daemon died after the video was in done/ but before job.json
    # said so; the restart saw no output in work/ and rendered the job again as "song (2)"
    places, cand = _setup(tmp_path)
    wj = claims.claim(places, cand, lease=Lease("h", 1, "t"), priority=3, attempts=1, media=[])
    wj.out_dir.mkdir()
    output = wj.out_dir / "song.mp4"
    output.write_bytes(b"video")
    real_save = claims.WorkJob.save

    def dies_when_recording(self):
        if "delivered" in self.meta:
            raise DaemonDied
        real_save(self)

    monkeypatch.setattr(claims.WorkJob, "save", dies_when_recording)
    try:
        claims.deliver_done(places, wj, output, None)
    except DaemonDied:
        pass
    monkeypatch.undo()
    after = claims.load_work_job(wj.dir)
    assert "delivered" not in after.meta
    assert output.is_file()  # what recovery looks for: the verified video is still this job's
    stem, video, _ = claims.deliver_done(places, after, output, None)
    assert stem == "song" and sorted(p.name for p in places.done.glob("*.mp4")) == ["song.mp4"]
    assert not output.exists() and after.meta["delivered"]["video"] == "done/song.mp4"


def test_failed_folder_is_a_bundle_to_drop_again(tmp_path: Path):
    places, cand = _setup(tmp_path)
    media = [(places.inbox / "high" / "song.ogg").resolve()]
    wj = claims.claim(places, cand, lease=Lease("h", 1, "t"), priority=3, attempts=1, media=media)
    report = claims.file_failed(places, wj, {"status": "failed"})
    assert report["source"] == "failed/song" and (places.failed / "song.json").is_file()
    assert sorted(p.name for p in (places.failed / "song").iterdir()) == ["song.ass", "song.ass.yaml", "song.ogg"]
    again, _ = scan_inbox(places.failed, {}, 50)  # as a folder dropped into an inbox, it is one bundle
    assert [(c.name, c.bundle) for c in again] == [("song", True)]
    assert not (places.inbox / "high" / "song.ogg").exists()   # the media it brought left the inbox with it
    assert not wj.dir.exists()


def test_shared_media_stay_while_another_project_names_them(tmp_path: Path):
    places, cand = _setup(tmp_path)
    (places.inbox / "high" / "other.lrc").write_text("[au:song.ogg]\n[00:01.00]hi\n")
    wj = claims.claim(places, cand, lease=Lease("h", 1, "t"), priority=3, attempts=1,
                      media=[(places.inbox / "high" / "song.ogg").resolve()])
    claims.file_failed(places, wj, {"status": "failed"})
    assert (places.inbox / "high" / "song.ogg").exists()


def test_media_replaced_after_the_claim_is_not_the_jobs_to_remove(tmp_path: Path):
    places, cand = _setup(tmp_path)
    ogg = places.inbox / "high" / "song.ogg"
    wj = claims.claim(places, cand, lease=Lease("h", 1, "t"), priority=3, attempts=1, media=[ogg.resolve()])
    ogg.unlink()
    ogg.write_bytes(b"someone else's new audio")   # dropped again for the next job meanwhile
    claims.file_failed(places, wj, {"status": "failed"})
    assert ogg.read_bytes() == b"someone else's new audio"


def test_report_and_sidecar_builders():
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    side = reports.running_sidecar(name="a.ass", priority=5, state="paused", host="n1", started_at=t0,
                                   attempts=1, now=t0, total_frames=100,
                                   progress={"current_frame": 25, "total_frames": 100, "elapsed": 2.5,
                                             "estimated_remaining": 7.5, "eta": "x", "fps": 10.0,
                                             "current_operation": "paused", "renderer": "llvmpipe"})
    assert side["percent"] == 25.0 and side["eta"] is None and side["estimated_remaining"] == 7.5
    assert side["schema"] == reports.SCHEMA and side["started_at"] == "2026-01-02T03:04:05+00:00"
    running = reports.running_sidecar(name="a.ass", priority=5, state="rendering", host="n1", started_at=t0,
                                      attempts=1, now=t0, total_frames=None,
                                      progress={"current_frame": 10, "total_frames": 40, "estimated_remaining": 3})
    assert running["eta"] == "2026-01-02T03:04:08+00:00" and running["percent"] == 25.0
    rep = reports.final_report(name="a.ass", status="done", priority=5, started_at=t0,
                               finished_at=t0 + timedelta(seconds=12.5), host="n1", attempts=1, frames=40)
    assert rep["duration"] == 12.5 and rep["error"] is None and rep["log"] == []
    row = reports.row_from_report(rep)
    doc = reports.status_document(now=t0, host="n1", root="/r", queue_status="running", share_ok=True,
                                  message=None, counts=reports.BatchCounts(3, 1, 0, 1), overall_percent=50.0,
                                  estimated_completion=None, running=[reports.row_from_sidecar(running)],
                                  queued=[reports.JobRow("b.ass", "queued", position=1)], finished=[row])
    assert [j["state"] for j in doc["jobs"]] == ["running", "queued", "done"]
    assert doc["current_jobs"] == ["a.ass"] and doc["estimated_completion"] is None
    assert set(doc["jobs"][0]) == {"name", "state", "priority", "position", "percent", "fps", "eta",
                                   "estimated_remaining", "expected_start", "host", "renderer", "started_at",
                                   "finished_at", "duration", "attempts", "output", "poster", "error", "waiting"}
    assert reports.human_error("project", "a.ass:3: bad time.") == \
        "The project could not be used: a.ass:3: bad time. Fix the file and drop it into the inbox again."
