"""The inbox in-process, on a real folder (no daemon): full rescans, looks at the paths a watcher
names, settle and readiness, the claim order."""
from __future__ import annotations

import time
from pathlib import Path

from daemon_support import ass_text
from hotfolder.claims import create_hotfolder
from hotfolder.config import HotfolderConfig
from hotfolder.decisions import Readiness
from hotfolder.inbox import Inbox
from hotfolder.jobs import job_parts
from hotfolder.settings import RenderSettings

PRIORITIES = {"high": 10, "low": 90}


def _inbox(tmp_path: Path) -> tuple[Inbox, Path]:
    places = create_hotfolder(tmp_path / "hf")
    (places.inbox / "high").mkdir()
    cfg = HotfolderConfig(root=places.root, priorities=PRIORITIES)
    return Inbox(places, cfg, settle_seconds=0.2, media_wait_seconds=1.0, wake=lambda: None), places.inbox


def _settings(options) -> RenderSettings:
    return RenderSettings(width=160, height=90, fps=10)


def _until_ready(inbox: Inbox, key: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inbox.relook(time.monotonic(), _settings)
        q = inbox.queued.get(key)
        if q is not None and q.ready:
            return
        time.sleep(0.05)
    raise AssertionError(f"{key} never became ready: {inbox.queued.get(key)}")


def test_job_parts_from_changed_paths(tmp_path: Path):
    inbox = tmp_path / "inbox"
    (inbox / "high").mkdir(parents=True)
    assert job_parts(inbox, inbox / "song.ass", PRIORITIES) == ("song.ass",)
    assert job_parts(inbox, inbox / "high" / "song.ass", PRIORITIES) == ("high", "song.ass")
    assert job_parts(inbox, inbox / "7" / "x.lrc", PRIORITIES) == ("7", "x.lrc")
    assert job_parts(inbox, inbox / "bundle" / "media" / "a.ogg", PRIORITIES) == ("bundle",)
    assert job_parts(inbox, inbox / "song.ass.yaml", PRIORITIES) == ("song.ass",)   # its sidecar changed
    assert job_parts(inbox, inbox / "high", PRIORITIES) is None                      # the folder itself
    assert job_parts(inbox, tmp_path / "elsewhere.ass", PRIORITIES) is None


def test_a_watched_drop_is_seen_without_a_rescan_and_a_deletion_removes_it(tmp_path: Path):
    inbox, folder = _inbox(tmp_path)
    for i in range(50):
        (folder / f"old{i}.ass").write_text(ass_text(1))
    assert inbox.rescan(time.monotonic(), _settings) is not None and len(inbox.queued) == 50
    new = folder / "high" / "new.ass"
    new.write_text(ass_text(1))
    changes = inbox.look_at([new], time.monotonic(), _settings)
    assert changes.new == ["high/new.ass"] and inbox.queued["high/new.ass"].priority == 10
    assert inbox.queued["high/new.ass"].readiness is Readiness.SETTLING
    _until_ready(inbox, "high/new.ass")
    assert inbox.ordered()[0].cand.key == "high/new.ass"    # high priority: first in line
    new.unlink()
    changes = inbox.look_at([new], time.monotonic(), _settings)
    assert changes.removed == ["high/new.ass"] and "high/new.ass" not in inbox.queued


def test_a_job_is_ready_once_settled_and_read_and_its_media_wait(tmp_path: Path):
    inbox, folder = _inbox(tmp_path)
    (folder / "song.kproj").write_text("version: 1\nmedia: {audio: song.ogg}\n"
                                       "lines:\n  - {start: 0.0, end: 0.8, text: la}\n")
    inbox.rescan(time.monotonic(), _settings)
    deadline = time.monotonic() + 10
    while inbox.queued["song.kproj"].readiness is not Readiness.WAITING_MEDIA and time.monotonic() < deadline:
        time.sleep(0.05)
        inbox.relook(time.monotonic(), _settings)
    assert inbox.queued["song.kproj"].readiness is Readiness.WAITING_MEDIA   # its audio is not there yet
    (folder / "song.ogg").write_bytes(b"\0" * 10)
    _until_ready(inbox, "song.kproj")
    assert [m.name for m in inbox.queued["song.kproj"].media] == ["song.ogg"]
    assert inbox.media_in_use(folder / "song.ogg") and not inbox.media_in_use(folder / "other.ogg")


def test_a_file_being_written_is_not_ready_until_it_stops_changing(tmp_path: Path):
    inbox, folder = _inbox(tmp_path)
    path = folder / "growing.ass"
    text = ass_text(3)
    path.write_text(text[:100])
    inbox.rescan(time.monotonic(), _settings)
    for i in range(6):   # one write every 0.1 s, half the settle time
        time.sleep(0.1)
        with open(path, "a") as fh:
            fh.write("; more\n")
        inbox.look_at([path], time.monotonic(), _settings)
        assert not inbox.queued["growing.ass"].ready
    _until_ready(inbox, "growing.ass")


def test_a_rename_from_a_temp_name_reaches_the_inbox_from_the_watcher(tmp_path: Path):
    """Copy tools write `.song.ass.tmp` and rename it: the watcher must pass on the new name."""
    import threading

    from hotfolder.watch import FolderWatcher

    places = create_hotfolder(tmp_path / "hf")
    seen: list[Path] = []
    got = threading.Event()

    def changed(paths: list[Path]) -> None:
        seen.extend(paths)
        if any(p.name == "song.ass" for p in paths):
            got.set()

    w = FolderWatcher(places.root, "inotify", 0.1, changed)
    assert w.start()
    try:
        tmp = places.inbox / ".song.ass.tmp"
        tmp.write_text(ass_text(1))
        time.sleep(0.2)
        tmp.rename(places.inbox / "song.ass")
        assert got.wait(5), seen
    finally:
        w.stop()
