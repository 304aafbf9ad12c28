"""Watching hot folders with watchdog. Events are only hints that wake the daemon early; the
daemon rescans periodically anyway, so a missed event costs latency, never a job.

`watch: auto` uses inotify on local filesystems and watchdog's PollingObserver on network
and FUSE mounts (inotify does not see what other machines write there).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)


class _QuietStop(logging.Filter):
    """watchdog logs an ERROR when an inotify emitter sees events while being stopped; that
    is every normal shutdown, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_QuietStop())

NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "9p", "ceph", "glusterfs",
                        "lustre", "afs", "davfs", "ncpfs", "virtiofs", "gpfs", "beegfs", "ocfs2", "gfs2"})


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def fs_type_for(path: Path, mountinfo: str) -> str | None:
    """The filesystem type of the mount holding `path` (an absolute, resolved path), read
    from the text of /proc/self/mountinfo: the longest mount point that contains it."""
    best, best_len = None, -1
    target = str(path)
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        parts, rparts = left.split(), right.split()
        if len(parts) < 5 or not rparts:
            continue
        mount_point = _unescape(parts[4])
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best_len:
            best, best_len = rparts[0], len(mount_point)
    return best


def needs_polling(fs_type: str | None) -> bool:
    if fs_type is None:
        return False
    return fs_type in NETWORK_FS or fs_type == "fuse" or fs_type.startswith("fuse.")


def choose_mode(mode: str, fs_type: str | None) -> str:
    """`inotify` or `poll` for a configured mode (auto | inotify | poll)."""
    if mode == "auto":
        return "poll" if needs_polling(fs_type) else "inotify"
    return mode


def detect_mode(mode: str, root: Path) -> tuple[str, str | None]:
    fs_type = None
    if mode == "auto":
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
                fs_type = fs_type_for(Path(os.path.realpath(root)), fh.read())
        except OSError:
            pass
    return choose_mode(mode, fs_type), fs_type


def _our_own(name: str) -> bool:
    return name.endswith(".progress.json") or (name.startswith(".") and name.endswith(".tmp"))


class _Hint(FileSystemEventHandler):
    """Passes on the paths that changed (both ends of a rename): the daemon looks at those
    jobs alone, and at the whole inbox only now and then."""

    def __init__(self, on_change: Callable[[list[Path]], None]) -> None:
        self.on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write") or (event.is_directory and event.event_type == "modified"):
            return  # reads, and a folder's own change (its entry's event follows anyway)
        paths = [Path(os.fsdecode(p)) for p in (event.src_path, getattr(event, "dest_path", None)) if p]
        # our own writes (progress sidecars and their temp files) are no news; a copy tool's
        # rename of its temp file into the real name is (its destination counts)
        news = [p for p in paths if not _our_own(p.name)]
        if news:
            self.on_change(news)


class FolderWatcher:
    """One observer for one hot folder: the inbox (recursive) and the root (control files)."""

    def __init__(self, root: Path, mode: str, poll_interval: float, on_change: Callable[[list[Path]], None]) -> None:
        self.root = root
        self.mode, self.fs_type = detect_mode(mode, root)
        self.poll_interval = poll_interval
        self.on_change = on_change
        self.observer: Observer | PollingObserver | None = None
        self.failures = 0

    def start(self) -> bool:
        self.stop()
        observer = PollingObserver(timeout=self.poll_interval) if self.mode == "poll" else Observer()
        handler = _Hint(self.on_change)
        try:
            observer.schedule(handler, str(self.root / "inbox"), recursive=True)
            observer.schedule(handler, str(self.root), recursive=False)
            observer.start()
        except Exception as exc:  # e.g. the share went away, or out of inotify watches
            self.failures += 1
            log.warning("%s: cannot watch (%s): %s; rescanning every few seconds instead", self.root,
                        self.mode, exc)
            try:
                observer.stop()
            except Exception:
                pass
            return False
        self.observer = observer
        self.failures = 0
        log.info("%s: watching with %s%s", self.root, self.mode, f" ({self.fs_type})" if self.fs_type else "")
        return True

    def alive(self) -> bool:
        return self.observer is not None and self.observer.is_alive()

    def stop(self) -> None:
        if self.observer is not None:
            try:
                self.observer.stop()
                self.observer.join(timeout=2)
            except Exception:
                pass
            self.observer = None
