"""What status.json's rows say about a job, from its progress sidecar or its final report:
no speed while paused, every time in the daemon's offset, a link to the report, and what the
render fell back on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hotfolder import claims, reports
from hotfolder.jobs import scan_inbox
from hotfolder.queue import Lease

BERLIN_WINTER = timezone(timedelta(hours=1))
T0 = datetime(2026, 3, 1, 14, 0, 0, tzinfo=BERLIN_WINTER)
REPO = Path(__file__).resolve().parent.parent


def sidecar(state: str, **progress) -> dict:
    said = {"current_frame": 25, "total_frames": 100, "elapsed": 2.5, "estimated_remaining": 7.5, "fps": 10.0,
            "renderer": "llvmpipe", **progress}
    return reports.running_sidecar(name="a.ass", priority=5, state=state, host="n1", attempts=1, now=T0,
                                   started_at=T0 - timedelta(minutes=2), total_frames=100, progress=said)


def test_a_paused_job_has_no_speed() -> None:
    paused = sidecar("paused", eta="2026-03-01T14:00:07+01:00")
    assert paused["fps"] is None and paused["eta"] is None and paused["estimated_remaining"] == 7.5
    row = reports.row_from_sidecar(paused)
    assert row.state == "paused" and row.fps is None and row.to_json()["fps"] is None
    # a sidecar written before the pause (or by an older node) still says a speed: not shown
    assert reports.row_from_sidecar({**paused, "fps": 10.0}).fps is None
    running = reports.row_from_sidecar(sidecar("rendering"))
    assert running.state == "running" and running.fps == 10.0


def test_every_time_a_sidecar_says_is_in_the_daemons_offset() -> None:
    """The render process may write its ETA in UTC, with microseconds; the sidecar (and so
    status.json) says it in the offset of the daemon's clock, like started_at and updated_at."""
    side = sidecar("rendering", eta="2026-03-01T13:00:07.512345+00:00")
    assert side["eta"] == "2026-03-01T14:00:07+01:00"
    assert side["started_at"] == "2026-03-01T13:58:00+01:00" and side["updated_at"] == "2026-03-01T14:00:00+01:00"
    # no ETA, or one that is not a time: from the remaining seconds
    assert sidecar("rendering")["eta"] == "2026-03-01T14:00:07+01:00"   # now + 7.5 s
    assert sidecar("rendering", eta="soon")["eta"] == "2026-03-01T14:00:07+01:00"
    assert sidecar("verifying", eta="2026-03-01T13:00:07Z")["eta"] == "2026-03-01T14:00:07+01:00"


def test_a_running_sidecar_in_berlin_has_one_offset() -> None:
    """The daemon and its render in TZ=Europe/Berlin: the render's progress (export's ETA) and the
    sidecar built from it carry the same offset as started_at."""
    code = """if True:
        import json, time
        from datetime import datetime
        from hotfolder import reports
        from hotfolder.export import _Reporter
        r = _Reporter(None, 100)
        r.status, r.frame = "rendering", 40
        r.rate.fps = 20.0
        progress = r.snapshot(time.monotonic()).to_json()
        started = datetime.now().astimezone()
        side = reports.running_sidecar(name="a.ass", priority=5, state="rendering", progress=progress,
                                       total_frames=100, host="n1", started_at=started, attempts=1,
                                       now=datetime.now().astimezone())
        print(json.dumps({"progress": progress["eta"], "eta": side["eta"], "started_at": side["started_at"],
                          "updated_at": side["updated_at"]}))
    """
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env=dict(os.environ, TZ="Europe/Berlin"))
    assert proc.returncode == 0, proc.stderr
    said = json.loads(proc.stdout)
    offsets = {key: datetime.fromisoformat(value).utcoffset() for key, value in said.items()}
    assert offsets["started_at"] in (timedelta(hours=1), timedelta(hours=2)), said   # CET or CEST
    assert set(offsets.values()) == {offsets["started_at"]}, said
    eta = datetime.fromisoformat(said["eta"])
    assert timedelta(seconds=2) < eta - datetime.fromisoformat(said["started_at"]) < timedelta(seconds=10)


def test_final_report_warnings() -> None:
    def report(warnings=()):
        return reports.final_report(name="a.ass", status="done", priority=5, started_at=T0,
                                    finished_at=T0 + timedelta(seconds=12.5), host="n1", attempts=1, warnings=warnings)
    assert report()["warnings"] == []
    said = report(["font family 'Foo' not found: using DejaVu Sans", "font family 'Foo' not found: using DejaVu Sans",
                   "x" * 500, "two\nlines", " "])["warnings"]
    assert said == ["font family 'Foo' not found: using DejaVu Sans", "x" * 199 + "…", "two lines"]
    many = report([f"warning {i}" for i in range(30)])["warnings"]
    assert len(many) == 20 and many[-1] == "… and 11 more warnings (see the log)"
    row = reports.row_from_report({**report(["font family 'Foo' not found"]), "output": "done/a.mp4"})
    assert row.to_json()["warnings"] == ["font family 'Foo' not found"]


def finished(status: str, **kw) -> dict:
    return {"name": "song.ass", "status": status, "priority": 5, "finished_at": "2026-03-01T14:00:00+01:00", **kw}


def test_a_finished_rows_report_is_beside_its_files() -> None:
    def where(report: dict) -> str | None:
        return reports.row_from_report(report).report

    assert where(finished("done", output="done/song (2).mp4", source="done/sources/song (3)")) == "done/song (2).json"
    assert where(finished("done", output="done/a.b.mkv")) == "done/a.b.json"
    assert where(finished("failed", source="failed/song (2)")) == "failed/song (2).json"
    assert where(finished("cancelled", source="failed/song")) == "failed/song.json"
    assert where(finished("failed", source="failed/song", report="failed/elsewhere.json")) == "failed/elsewhere.json"
    for odd in (finished("failed"), finished("failed", source="elsewhere/song"), finished("failed", source="failed/"),
                finished("failed", source="failed/a/b"), finished("done", output="/abs/song.mp4"),
                finished("done", output=None)):
        assert where(odd) is None, odd
    # rows without a report or warnings (queued, running) do not carry the fields at all
    queued = reports.JobRow("b.ass", "queued", position=1).to_json()
    assert "report" not in queued and "warnings" not in queued
    done = reports.row_from_report(finished("done", output="done/song.mp4")).to_json()
    assert done["report"] == "done/song.json" and "warnings" not in done


def test_the_report_link_names_the_file_filing_wrote(tmp_path: Path) -> None:
    """Filed for real (names taken: `song (2)`), each row's report is the report on the disk."""
    places = claims.create_hotfolder(tmp_path / "hf")
    for name in ("song.json", "song"):
        (places.failed / name).mkdir() if name == "song" else (places.failed / name).write_text("{}")
    (places.done / "song.mp4").write_bytes(b"taken")
    rows = []
    for outcome in ("done", "failed"):
        (places.inbox / "song.ass").write_text("x")
        os.utime(places.inbox / "song.ass", (1_000_000, 1_000_000))
        cand = scan_inbox(places.inbox, {}, 50)[0][0]
        wj = claims.claim(places, cand, lease=Lease("h", 1, "t"), priority=5, attempts=1, media=[])
        report = reports.final_report(name="song.ass", status=outcome, priority=5, started_at=T0, finished_at=T0,
                                      host="h", attempts=1, warnings=["font family 'Foo' not found"])
        if outcome == "done":
            out = wj.dir / "out" / "song.mp4"
            out.parent.mkdir(exist_ok=True)
            out.write_bytes(b"video")
            stem, video, _ = claims.deliver_done(places, wj, out, None)
            report["output"] = places.rel(video)
            claims.file_done(places, wj, stem, report)
        else:
            claims.file_failed(places, wj, report)
        rows.append(reports.row_from_report(report))
    assert [r.report for r in rows] == ["done/song (2).json", "failed/song (2).json"]
    for row in rows:
        on_disk = json.loads((places.root / row.report).read_text())
        assert on_disk["status"] == row.state and on_disk["warnings"] == ["font family 'Foo' not found"]
