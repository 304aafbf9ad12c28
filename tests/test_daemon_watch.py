"""Watching: filesystem type from mountinfo, mode choice, a real observer waking us, restart."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from hotfolder.claims import create_hotfolder
from hotfolder.watch import FolderWatcher, choose_mode, fs_type_for, needs_polling

MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /srv/karaoke rw,relatime shared:20 - nfs4 fs:/export/karaoke rw,vers=4.2
31 30 0:41 / /srv/karaoke/local rw shared:21 - tmpfs tmpfs rw
32 22 0:42 / /mnt/smb\040share rw shared:22 - cifs //nas/share rw
33 22 0:43 / /mnt/bind rw shared:23 - fuse.bindfs bindfs rw
"""


def test_fs_type_is_the_longest_mount_point_that_holds_the_path():
    assert fs_type_for(Path("/srv/karaoke/inbox"), MOUNTINFO) == "nfs4"
    assert fs_type_for(Path("/srv/karaoke"), MOUNTINFO) == "nfs4"
    assert fs_type_for(Path("/srv/karaoke/local/x"), MOUNTINFO) == "tmpfs"
    assert fs_type_for(Path("/srv/karaokeX"), MOUNTINFO) == "ext4"      # a prefix is not a parent
    assert fs_type_for(Path("/mnt/smb share/inbox"), MOUNTINFO) == "cifs"  # escaped space
    assert fs_type_for(Path("/mnt/bind/a"), MOUNTINFO) == "fuse.bindfs"


def test_mode_choice():
    assert [needs_polling(t) for t in ("nfs4", "cifs", "fuse.sshfs", "fuse", "ext4", "tmpfs", None)] == \
        [True, True, True, True, False, False, False]
    assert choose_mode("auto", "nfs") == "poll" and choose_mode("auto", "xfs") == "inotify"
    assert choose_mode("inotify", "nfs") == "inotify" and choose_mode("poll", "ext4") == "poll"


def _watch_wakes(tmp_path: Path, mode: str) -> None:
    root = create_hotfolder(tmp_path / mode).root
    woke = threading.Event()
    w = FolderWatcher(root, mode, 0.1, lambda paths: woke.set())
    assert w.start() and w.alive() and w.mode == mode
    try:
        time.sleep(0.3)
        woke.clear()
        (root / "inbox" / "x.progress.json").write_text("{}")  # our own sidecar: no news
        time.sleep(0.5)
        assert not woke.is_set()
        (root / "inbox" / "song.ass").write_text("x")
        assert woke.wait(3), "no event for a dropped file"
        woke.clear()
        (root / "PAUSE").touch()
        assert woke.wait(3), "no event for a control file in ROOT"
        w.observer.stop()   # a dead observer…
        w.observer.join(2)
        assert not w.alive()
        assert w.start() and w.alive()  # …is started again
        woke.clear()
        (root / "inbox" / "again.ass").write_text("x")
        assert woke.wait(3)
    finally:
        w.stop()


def test_inotify_observer_wakes_and_restarts(tmp_path: Path):
    _watch_wakes(tmp_path, "inotify")


def test_polling_observer_wakes_and_restarts(tmp_path: Path):
    _watch_wakes(tmp_path, "poll")


def test_watching_a_missing_folder_fails_softly(tmp_path: Path):
    w = FolderWatcher(tmp_path / "absent", "inotify", 0.1, lambda paths: None)
    assert not w.start() and not w.alive() and w.failures == 1
