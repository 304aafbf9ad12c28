"""Keeping running jobs' leases fresh on their own clock.

A lease whose file is not touched for `lease_seconds` lets another node take the job back, so
the refresh must not wait for anything the control loop does (a slow share, a big rescan).
One thread touches every held lease once a second.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from hotfolder.claims import touch_lease

log = logging.getLogger("hotfolder.daemon")


class LeaseKeeper:
    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._held: set[Path] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leases", daemon=True)
        self._thread.start()

    def hold(self, jobdir: Path) -> None:
        with self._lock:
            self._held.add(jobdir)
        self._touch(jobdir)

    def release(self, jobdir: Path) -> None:
        with self._lock:
            self._held.discard(jobdir)

    def held(self) -> set[Path]:
        with self._lock:
            return set(self._held)

    @staticmethod
    def _touch(jobdir: Path) -> None:
        try:
            touch_lease(jobdir)
        except OSError as exc:   # the share went away, or the job was just filed
            log.debug("cannot refresh the lease in %s: %s", jobdir, exc)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for jobdir in self.held():
                self._touch(jobdir)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
