"""The queue's pure parts: priority, order, names, leases, control state, ETAs, settle, sidecars."""
from __future__ import annotations

from pathlib import Path

import pytest

from hotfolder.jobs import (SettleTracker, SidecarError, bundle_project, is_ignored, is_project_name,
                            output_name, parse_sidecar, scan_inbox)
from hotfolder.queue import (BatchJob, Lease, QueueEntry, Speed, folder_priority, is_priority_folder,
                             lease_is_stale, may_claim, order_queue, overall_percent, queue_status,
                             schedule, unique_name, unique_stem)

PRIOS = {"urgent": 0, "high": 10, "normal": 50, "low": 90}


# --- priority and order -----------------------------------------------------------------

@pytest.mark.parametrize("parts, expected", [
    (("song.ass",), 50),
    (("high", "song.ass"), 10),
    (("urgent", "song.ass"), 0),
    (("5", "song.ass"), 5),
    (("120", "song.ass"), 120),
    (("mybundle",), 50),              # a bundle directly in inbox/
    (("low", "mybundle"), 90),        # a bundle inside a priority folder
    (("High", "song.ass"), 50),       # names are exact
])
def test_folder_priority(parts, expected):
    assert folder_priority(parts, PRIOS, 50) == expected


def test_priority_folders_versus_bundles():
    assert is_priority_folder("high", PRIOS) and is_priority_folder("7", PRIOS)
    assert not is_priority_folder("my song", PRIOS) and not is_priority_folder("7b", PRIOS)


def test_order_lower_number_first_then_oldest_then_path():
    entries = [
        QueueEntry("low/a.ass", "a.ass", 90, 1.0),
        QueueEntry("b.ass", "b.ass", 50, 5.0),
        QueueEntry("c.ass", "c.ass", 50, 2.0),
        QueueEntry("urgent/d.ass", "d.ass", 0, 9.0),
        QueueEntry("e.ass", "e.ass", 50, 2.0),
    ]
    assert [e.key for e in order_queue(entries)] == ["urgent/d.ass", "c.ass", "e.ass", "b.ass", "low/a.ass"]


# --- names -------------------------------------------------------------------------------

def test_unique_name_never_overwrites():
    taken = {"song.mp4", "song (2).mp4"}
    assert unique_name("song.mp4", taken.__contains__) == "song (3).mp4"
    assert unique_name("other.mp4", taken.__contains__) == "other.mp4"
    assert unique_name("bundle", {"bundle"}.__contains__) == "bundle (2)"
    assert unique_name("my.song.mp4", {"my.song.mp4"}.__contains__) == "my.song (2).mp4"


def test_unique_stem_keeps_video_report_and_poster_together():
    taken = {"song.mp4", "song (2).json"}  # a stray report blocks "song (2)" too
    assert unique_stem("song", [".mp4", ".json", ".jpg"], taken.__contains__) == "song (3)"


# --- leases ------------------------------------------------------------------------------

def _stale(lease, age, alive=True, host="n1", pid=100, token="me"):
    return lease_is_stale(lease, age, 30.0, this_host=host, this_pid=pid, this_token=token,
                          pid_alive=lambda p: alive)


def test_lease_staleness():
    other_node = Lease("n2", 555, "t2")
    assert not _stale(other_node, 10.0)
    assert _stale(other_node, 31.0)
    same_host_dead = Lease("n1", 555, "old")
    assert _stale(same_host_dead, 1.0, alive=False)          # kill -9 on this host: at once
    assert not _stale(same_host_dead, 1.0, alive=True)
    assert _stale(Lease("n1", 100, "old"), 1.0, alive=True)  # our pid, an earlier run
    assert not _stale(Lease("n1", 100, "me"), 999.0)         # ours: never
    assert not _stale(None, 5.0) and _stale(None, 40.0)       # unreadable: by age only


# --- control state -----------------------------------------------------------------------

def test_queue_status_and_claiming():
    assert queue_status(False, False, 0) == "idle"
    assert queue_status(False, False, 1) == "running"
    assert queue_status(True, False, 1) == "paused"
    assert queue_status(True, True, 0) == "stopped"
    assert queue_status(True, True, 2, shut_down=True) == "not_running"   # only a STOP file means stopped
    assert may_claim(False, False, True, 0, 1)
    assert not may_claim(True, False, True, 0, 1)
    assert not may_claim(False, True, True, 0, 1)
    assert not may_claim(False, False, False, 0, 1)   # share away: never claim
    assert not may_claim(False, False, True, 2, 2)


# --- ETAs --------------------------------------------------------------------------------

def test_schedule_one_worker_is_sequential():
    starts, end = schedule([10.0], [5.0, 7.0], 1)
    assert starts == [10.0, 15.0] and end == 22.0


def test_schedule_two_workers_take_whichever_frees_first():
    starts, end = schedule([4.0], [10.0, 3.0, 3.0], 2)
    # worker A free at 0, worker B at 4: job1 on A (0-10), job2 on B (4-7), job3 on B (7-10)
    assert starts == [0.0, 4.0, 7.0] and end == 10.0
    assert schedule([], [], 3) == ([], 0.0)


def test_speed_estimate_and_update():
    s = Speed(pixels_per_second=1e6, overhead=1.0)
    assert s.estimate(100, 100, 100) == pytest.approx(2.0)
    faster = s.updated(100, 100, 100, seconds=1.5)  # measured 2e6 px/s, blended half-half
    assert faster.pixels_per_second == pytest.approx(1.5e6)
    assert s.updated(0, 100, 100, 5.0) == s and s.updated(10, 100, 100, 0.5) == s


def test_overall_percent_counts_finished_jobs_whole():
    jobs = [BatchJob("done", 0, 100), BatchJob("running", 50, 100), BatchJob("queued", 0, 200)]
    assert overall_percent(jobs) == 37.5
    # a broken project (no frame count) weighs like the average job
    assert overall_percent([BatchJob("failed", 0, None), BatchJob("queued", 0, 100)]) == 50.0
    assert overall_percent([]) == 0.0


# --- job names, settle, sidecars -------------------------------------------------------------

@pytest.mark.parametrize("name", [".hidden.ass", "song.ass.part", "x.tmp", "~$song.kproj", ".DS_Store",
                                  "._song.ass", "Thumbs.db", "song.ass.yaml", "song.ass.progress.json",
                                  "song.ass.cancel", "PAUSE", "STOP", "SONG.ASS.PART"])
def test_ignored_names(name):
    assert is_ignored(name) and not is_project_name(name)


@pytest.mark.parametrize("name", ["song.ass", "song.SSA", "a b.kproj", "x.lrc", "song.txt"])
def test_project_names(name):
    assert is_project_name(name)


def test_settle_needs_an_unchanged_signature_for_the_whole_time():
    t = SettleTracker(2.0)
    assert not t.observe("a", (1, 1), 0.0)
    assert not t.observe("a", (1, 1), 1.9)
    assert not t.observe("a", (2, 2), 2.5)     # still growing: the clock starts again
    assert not t.observe("a", (2, 2), 4.4)
    assert t.observe("a", (2, 2), 4.5)
    t.forget_except([])
    assert not t.observe("a", (2, 2), 10.0)   # forgotten: seen anew
    zero = SettleTracker(0.0)
    assert not zero.observe("b", 1, 0.0) and zero.observe("b", 1, 0.0)


def test_sidecar_parsing():
    opts = parse_sidecar("priority: 5\noutput: Final Cut.mp4\nrender: {fps: 25, crf: 18}\n"
                         "notify: [json://localhost/x]\n", "song.ass.yaml")
    assert opts.priority == 5 and opts.output == "Final Cut.mp4"
    assert dict(opts.render) == {"fps": 25, "crf": 18} and opts.notify == ("json://localhost/x",)
    assert parse_sidecar("", "s.yaml").priority is None
    assert parse_sidecar("notify: {urls: json://a}", "s.yaml").notify == ("json://a",)
    assert parse_sidecar("render: {background: '#102030'}", "s.yaml").render == {"background": "#102030"}


@pytest.mark.parametrize("text, message", [
    ("priority: soon", "s.yaml:1: priority: expected an integer"),
    ("colour: red", "s.yaml:1: colour: unknown key"),
    ("output: ../../etc/x.mp4", "s.yaml:1: output: '../../etc/x.mp4' must be a file name only"),
    ("output: .hidden.mp4", "must not start with a dot"),
    ("render: {fonts_dir: /tmp}", "s.yaml:1: render.fonts_dir: unknown key"),
    ("render:\n  fps: 25\n  width: 33", "s.yaml:3: render.width: must be an even number"),
    ("[1, 2", "s.yaml:2: invalid YAML"),
    ("- a\n- b", "s.yaml: expected a mapping"),
    ("priority: 1\nnotify: 5", "s.yaml:2: notify: expected a URL"),
    ("render: {background: /etc/secret.png}", "s.yaml:1: render.background: must be a colour"),
])
def test_sidecar_errors(text, message):
    with pytest.raises(SidecarError) as err:
        parse_sidecar(text, "s.yaml")
    assert message in str(err.value)


def test_output_names():
    assert output_name(None, "song") == "song.mp4"
    assert output_name("clip.mkv", "song") == "clip.mkv"
    assert output_name("my.final", "song") == "my.final.mp4"
    for bad in ("a/b.mp4", "..", "c:\\x.mp4", ""):
        with pytest.raises(ValueError):
            output_name(bad, "song")


# --- scanning a real inbox (listing only) ------------------------------------------------------

def test_scan_inbox_finds_jobs_bundles_and_cancels(tmp_path: Path):
    inbox = tmp_path / "inbox"
    (inbox / "high").mkdir(parents=True)
    (inbox / "7").mkdir()
    (inbox / "bundle").mkdir()
    (inbox / "a.ass").write_text("x")
    (inbox / "a.ass.yaml").write_text("priority: 3")
    (inbox / "a.ass.progress.json").write_text("{}")
    (inbox / "song.ogg").write_bytes(b"x")
    (inbox / "b.lrc.part").write_text("x")
    (inbox / ".c.kproj").write_text("x")
    (inbox / "high" / "h.kproj").write_text("x")
    (inbox / "7" / "n.lrc").write_text("x")
    (inbox / "bundle" / "s.kproj").write_text("x")
    (inbox / "bundle" / "readme.txt").write_text("x")
    (inbox / "x.ass.cancel").write_text("")
    found, cancels = scan_inbox(inbox, PRIOS, 50)
    got = {c.key: (c.bundle, c.folder_priority) for c in found}
    assert got == {"a.ass": (False, 50), "high/h.kproj": (False, 10), "7/n.lrc": (False, 7), "bundle": (True, 50)}
    assert [p.name for p in cancels] == ["x.ass.cancel"]
    assert bundle_project(inbox / "bundle") == inbox / "bundle" / "s.kproj"
    # writing into a bundle or its sidecar changes the signature
    before = {c.key: c.signature for c in found}
    (inbox / "bundle" / "more.ogg").write_bytes(b"12")
    (inbox / "a.ass.yaml").write_text("priority: 4")
    after = {c.key: c.signature for c in scan_inbox(inbox, PRIOS, 50)[0]}
    assert after["bundle"] != before["bundle"] and after["a.ass"] != before["a.ass"]
    assert after["high/h.kproj"] == before["high/h.kproj"]
