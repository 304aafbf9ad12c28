"""Writing queued jobs' progress sidecars off the control loop.

The loop says what each sidecar should hold; one thread writes them, newest content per file
only (a file asked for twice before it was written is written once). A share that is slow, or
10,000 queued jobs getting their first sidecar, never holds up leases, claims or status.json.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from hotfolder.atomic import write_json_atomic

log = logging.getLogger("hotfolder.daemon")


class SidecarWriter:
    def __init__(self) -> None:
        self._todo: dict[Path, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="sidecars", daemon=True)
        self._thread.start()

    def submit(self, path: Path, doc: dict[str, Any]) -> None:
        with self._cond:
            self._todo[path] = doc
            self._cond.notify()

    def discard(self, path: Path) -> None:
        """Not needed any more (the job was claimed): a write still waiting is dropped."""
        with self._cond:
            self._todo.pop(path, None)

    def pending(self) -> int:
        with self._cond:
            return len(self._todo) + (1 if self._busy else 0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._todo and not self._closed:
                    self._cond.wait()
                if self._closed and not self._todo:
                    return
                path, doc = next(iter(self._todo.items()))
                del self._todo[path]
                self._busy = True
            try:
                # sidecars are rewritten all the time and only advisory: no fsync (see atomic.py)
                write_json_atomic(path, doc, durable=False)
            except OSError as exc:
                log.debug("cannot write %s: %s", path, exc)
            finally:
                with self._cond:
                    self._busy = False

    def close(self, timeout: float = 2.0) -> None:
        """Write what is waiting, for up to `timeout` seconds (SIGTERM must stay quick)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        with self._cond:
            self._todo.clear()
