"""kill -9 at every step of claiming and filing (failpoints, armed through HOTFOLDER_FAILPOINTS),
then a restart: every job ends with exactly one report, and a good job's video is delivered
exactly once."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from daemon_support import Daemon, ass_text, done_reports, failed_reports, make_root, read_json, wait_for, write_config
from hotfolder import failpoints

FILING_POINTS = [p for p in failpoints.POINTS if p.startswith("file.")]


def _killed_then_restarted(tmp_path: Path, point: str, name: str, text: str) -> Path:
    root = make_root(tmp_path)
    (root / "inbox" / name).write_text(text)
    (root / "inbox" / "song.ogg").write_bytes(b"")   # unused media stay where they are
    cfg = write_config(tmp_path, [root])
    with Daemon(cfg, env={failpoints.ENV: point}) as d:
        code = d.wait(90)
    assert code == -9, f"the failpoint {point} was not reached:\n{d.log()[-2000:]}"
    with Daemon(cfg, "--once") as d:
        assert d.wait(90) == 0, d.log()[-3000:]
    log = d.log()
    assert "Traceback" not in log, log[-3000:]
    return root


@pytest.mark.parametrize("point", failpoints.POINTS)
def test_kill_at_every_step_of_a_good_job(tmp_path: Path, point: str):
    root = _killed_then_restarted(tmp_path, point, "song.ass", ass_text(2))
    done, failed = done_reports(root), failed_reports(root)
    assert list(done) == ["song.json"] and not failed, (done, failed)
    assert sorted(p.name for p in (root / "done").glob("*.mp4")) == ["song.mp4"]
    assert done["song.json"]["status"] == "done" and done["song.json"]["output"] == "done/song.mp4"
    assert not list((root / "work").iterdir())
    assert sorted(p.name for p in (root / "inbox").iterdir()) == ["song.ogg"]


@pytest.mark.parametrize("point", FILING_POINTS)
def test_kill_at_every_filing_step_of_a_failing_job(tmp_path: Path, point: str):
    root = _killed_then_restarted(tmp_path, point, "broken.ass", "[Script Info]\nnothing here\n")
    done, failed = done_reports(root), failed_reports(root)
    assert not done and list(failed) == ["broken.json"], (done, failed)
    assert failed["broken.json"]["status"] == "failed"
    assert (root / "failed" / "broken" / "broken.ass").is_file()
    assert not list((root / "work").iterdir())


def test_a_render_that_makes_no_progress_fails_after_stall_seconds(tmp_path: Path):
    root = make_root(tmp_path)
    (root / "inbox" / "stuck.ass").write_text(ass_text(3))
    cfg = write_config(tmp_path, [root], stall_seconds=2.0)
    with Daemon(cfg, "--once", env={failpoints.ENV: "render.progress=hang"}) as d:
        assert d.wait(90) == 0, d.log()[-3000:]
    failed = failed_reports(root)
    assert list(failed) == ["stuck.json"], failed
    assert failed["stuck.json"]["status"] == "failed" and "made no progress" in failed["stuck.json"]["error"]
    assert not list((root / "work").iterdir()) and not done_reports(root)


def test_a_machine_that_cannot_render_holds_its_queue_instead_of_failing_jobs(tmp_path: Path):

    from soak_support import Sink

    sink = Sink()
    try:
        root = make_root(tmp_path)
        for name in ("a.ass", "b.ass"):
            (root / "inbox" / name).write_text(ass_text(2))
        cfg = write_config(tmp_path, [root], notify={"urls": [sink.url], "events": ["daemon_error", "job_failed"],
                                                     "timeout": 5, "backoff": [0.2]})
        with Daemon(cfg, env={failpoints.ENV: "render.start"}) as d:
            status = wait_for(lambda: (s := read_json(root / "status.json")) and "cannot render" in (s["message"] or "")
                              and s["queued_jobs"] == 2 and s, 60, "status saying the machine cannot render", d)
            wait_for(lambda: sink.titles(), 20, "a daemon_error", d)
            time.sleep(3)   # the queue holds: nothing else is tried, nothing fails
            assert not failed_reports(root) and not done_reports(root)
            assert sorted(p.name for p in (root / "inbox").glob("*.ass")) == ["a.ass", "b.ass"]
            assert read_json(root / "inbox" / "a.ass.progress.json")["attempts"] == 0   # not the job's fault
        assert len(sink.titles()) == 1, sink.titles()
        assert status["queued_jobs"] == 2
    finally:
        sink.close()
