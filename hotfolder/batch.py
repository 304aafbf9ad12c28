"""The batch of a hot folder root: every job since the root's queue was last idle, whichever
node rendered it. It lives on the share, so every node counts the same jobs and exactly one
`batch_done` is sent per drained batch however many nodes served it.

`.hotfolder/batch.json` holds the current (or last) batch: {"id", "started_at", "closed_at"}.
A node that sees work while no batch is open opens one (two nodes opening at once both adopt
whichever record landed); a node that sees the root idle for a moment closes it, and only the
node that creates `.hotfolder/batches/<id>.done` (O_EXCL: one winner) sends the message.
Finished jobs are counted from the shared history (reports finished since the batch started).
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

from hotfolder.atomic import write_json_atomic
from hotfolder.reports import parse_iso as _parse

log = logging.getLogger("hotfolder.daemon")

DONE_MARKERS_KEPT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class BatchRecord:
    id: str
    started_at: datetime
    closed_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "started_at": self.started_at.isoformat(timespec="seconds"),
                "closed_at": self.closed_at.isoformat(timespec="seconds") if self.closed_at else None}


def reports_in(batch: BatchRecord, reports: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The finished jobs of a batch (pure): reports finished since it started (and before it
    closed), oldest first."""
    out = []
    for r in reports:
        t = _parse(r.get("finished_at"))
        if t is None or t.tzinfo is None:
            continue
        if t >= batch.started_at and (batch.closed_at is None or t <= batch.closed_at):
            out.append(r)
    return sorted(out, key=lambda r: r.get("finished_at") or "")


class SharedBatch:
    def __init__(self, marker: Path) -> None:
        self.path = marker / "batch.json"
        self.markers = marker / "batches"

    def read(self) -> BatchRecord | None:
        try:
            d = json.loads(self.path.read_text(encoding="utf-8"))
            started = _parse(d["started_at"])
            if not isinstance(d["id"], str) or started is None or started.tzinfo is None:
                return None
            return BatchRecord(d["id"], started, _parse(d.get("closed_at")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def ensure_open(self, now: datetime) -> BatchRecord:
        """The open batch, opened now when there is none."""
        current = self.read()
        if current is not None and current.open:
            return current
        record = BatchRecord(secrets.token_hex(6), now)
        try:
            write_json_atomic(self.path, record.to_json())
        except OSError as exc:
            log.warning("%s: cannot open a batch: %s", self.path.parent.parent, exc)
            return record
        return self.read() or record   # another node may have opened one at the same moment

    def try_close(self, record: BatchRecord, now: datetime) -> bool:
        """Close a drained batch. True for exactly one caller per batch: the one that sends
        its batch_done."""
        try:
            self.markers.mkdir(exist_ok=True)
            fd = os.open(self.markers / f"{record.id}.done", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
        except FileExistsError:
            return False
        except OSError as exc:
            log.warning("%s: cannot close the batch: %s", self.path.parent.parent, exc)
            return False
        current = self.read()
        if current is not None and current.id == record.id:
            try:
                write_json_atomic(self.path, BatchRecord(record.id, record.started_at, now).to_json())
            except OSError as exc:
                log.warning("%s: cannot record the closed batch: %s", self.path.parent.parent, exc)
        self._forget_old_markers()
        return True

    def _forget_old_markers(self) -> None:
        cutoff = time.time() - DONE_MARKERS_KEPT_SECONDS
        try:
            for entry in os.scandir(self.markers):
                if entry.name.endswith(".done") and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
        except OSError:
            pass
