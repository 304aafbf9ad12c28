"""The batch belongs to the root: two daemons serving one root send one batch_done that counts
every node's jobs, and both write the same counts into status.json (a real HTTP sink)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from daemon_support import Daemon, ass_text, done_reports, make_root, read_json, wait_for, write_config
from hotfolder.batch import BatchRecord, SharedBatch, reports_in
from hotfolder.decisions import BatchAction, decide_batch
from soak_support import Sink


def test_decide_batch():
    assert decide_batch(busy=True, batch_open=False, idle_for=0, grace=3) is BatchAction.OPEN
    assert decide_batch(busy=True, batch_open=True, idle_for=0, grace=3) is BatchAction.NOTHING
    assert decide_batch(busy=False, batch_open=True, idle_for=1, grace=3) is BatchAction.NOTHING   # not yet
    assert decide_batch(busy=False, batch_open=True, idle_for=3, grace=3) is BatchAction.CLOSE
    assert decide_batch(busy=False, batch_open=False, idle_for=99, grace=3) is BatchAction.NOTHING


def test_reports_in_a_batch():
    t0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    at = lambda minutes: (t0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    reports = [{"name": "before", "finished_at": at(-1)}, {"name": "b", "finished_at": at(2)},
               {"name": "a", "finished_at": at(1)}, {"name": "after", "finished_at": at(10)},
               {"name": "no time"}]
    batch = BatchRecord("x", t0, t0 + timedelta(minutes=5))
    assert [r["name"] for r in reports_in(batch, reports)] == ["a", "b"]
    # another node's clock writes UTC: the same moment counts the same
    utc = {"name": "utc", "finished_at": (t0 + timedelta(minutes=3)).astimezone(timezone.utc).isoformat()}
    assert [r["name"] for r in reports_in(batch, [utc])] == ["utc"]


def test_one_node_wins_the_close(tmp_path: Path):
    marker = tmp_path / ".hotfolder"
    marker.mkdir()
    a, b = SharedBatch(marker), SharedBatch(marker)
    now = datetime.now().astimezone()
    rec = a.ensure_open(now)
    assert b.ensure_open(now) == rec               # the second node adopts the open batch
    assert [a.try_close(rec, now), b.try_close(rec, now)] == [True, False]
    assert a.read().closed_at is not None and b.ensure_open(now).id != rec.id   # the next batch


def test_two_daemons_one_root_one_batch_done(tmp_path: Path):
    sink = Sink()
    try:
        root = make_root(tmp_path)
        (root / "PAUSE").touch()
        for i in range(4):
            (root / "inbox" / f"song{i}.ass").write_text(ass_text(2))
        cfg = write_config(tmp_path, [root], notify={"urls": [sink.url], "events": ["batch_done"],
                                                     "timeout": 5, "backoff": [0.2]})
        with Daemon(cfg) as one, Daemon(cfg) as two:
            wait_for(lambda: (s := read_json(root / "status.json")) and s["queued_jobs"] == 4, 30, "4 queued", one)
            (root / "PAUSE").unlink()
            wait_for(lambda: len(done_reports(root)) == 4, 120, "4 done", one)
            wait_for(lambda: sink.titles(), 30, "the batch_done message", one)
            time.sleep(5)   # a second message would come within a few seconds
            seen = []
            for _ in range(6):   # both nodes write status.json: every write says the same
                s = read_json(root / "status.json")
                if s:
                    seen.append((s["total_jobs"], s["completed_jobs"], s["failed_jobs"]))
                time.sleep(0.5)
        hosts = {r["host"] for r in done_reports(root).values()}
        assert sink.titles() == ["Batch finished: 4 done, 0 failed"], sink.titles()
        assert set(seen) == {(4, 4, 0)}, seen
        assert len(hosts) >= 1
    finally:
        sink.close()
