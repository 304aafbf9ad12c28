"""Progress of one export and of a batch; ETA math is pure (see eta.py-like helpers below)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

ExportStatus = Literal["starting", "rendering", "paused", "verifying", "done", "failed", "cancelled"]


@dataclass
class ExportProgress:
    status: ExportStatus
    current_frame: int
    total_frames: int
    elapsed: float                   # seconds of work (pauses excluded)
    estimated_remaining: float | None  # seconds
    eta: datetime | None
    current_operation: str
    fps: float
    renderer: str

    @property
    def percent(self) -> float:
        return 100.0 * self.current_frame / self.total_frames if self.total_frames else 0.0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["eta"] = self.eta.isoformat() if self.eta else None
        d["percent"] = round(self.percent, 2)
        return d
