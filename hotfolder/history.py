"""Finished jobs of one hot folder, newest first, kept in ROOT/.hotfolder/history.json and
shared by every node serving that root.

Nodes write the file without a lock, so one node's write can drop what another added a moment
before; every node therefore merges what is on disk with what it knows before writing, and
re-merges now and then (`merge(only_if_changed=True)`) to write back what was lost.
"""
from __future__ import annotations

import json
import logging
from collections import deque
from pathlib import Path
from typing import Any, Iterator

from hotfolder.atomic import write_json_atomic

log = logging.getLogger("hotfolder.daemon")


class History:
    def __init__(self, marker: Path, size: int) -> None:
        self.path = marker / "history.json"
        self._reports: deque[dict[str, Any]] = deque(maxlen=size)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._reports)

    def load(self) -> None:
        self._reports.extend(self._read()[: self._reports.maxlen])

    def add(self, report: dict[str, Any]) -> None:
        """A job's report, written through at once (the same report twice counts once)."""
        self._reports.appendleft(report)
        self.merge()

    def _read(self) -> list[Any]:
        try:
            disk = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return disk if isinstance(disk, list) else []

    def _merged(self, disk: list[Any]) -> list[dict[str, Any]]:
        """Our finished jobs and those other nodes on this share wrote, newest first."""
        seen: dict[tuple, dict[str, Any]] = {}
        for rep in [*self._reports, *disk]:
            if isinstance(rep, dict) and "name" in rep:
                seen.setdefault((rep.get("name"), rep.get("finished_at"), rep.get("host"), rep.get("output"),
                                 rep.get("source")), rep)
        merged = sorted(seen.values(), key=lambda r: r.get("finished_at") or "", reverse=True)
        return merged[: self._reports.maxlen]

    def merge(self, only_if_changed: bool = False) -> None:
        """Merge with history.json and write it back (when it differs, with `only_if_changed`)."""
        try:
            disk = self._read()
            merged = self._merged(disk)
            self._reports.clear()
            self._reports.extend(merged)
            if only_if_changed and json.loads(json.dumps(merged, default=str)) == disk:
                return
            write_json_atomic(self.path, merged)
        except OSError as exc:
            log.warning("%s: cannot save history: %s", self.path.parent.parent, exc)
