"""ETA math: plain numbers in, plain numbers out (no clocks read here).

The frame rate behind every ETA is an exponential moving average over *work* time (pauses
excluded by the caller's clock), so a slow start-up (GL context, font loading, encoder
look-ahead) or a burst of cheap frames fades out instead of ruling the estimate.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence


@dataclass
class RateEstimator:
    """Smoothed frames per second.

    `update(frames_done, work_seconds)` with running totals; each interval of at least
    `min_interval` seconds gives a sample rate Δframes/Δt that enters with weight
    1 - exp(-Δt/tau), i.e. a sample's influence halves every tau·ln 2 seconds whatever the
    update frequency. Shorter intervals are accumulated into the next sample (noise).
    """

    tau: float = 5.0
    min_interval: float = 0.25
    fps: float | None = None
    _frames: int = field(default=0, repr=False)
    _time: float = field(default=0.0, repr=False)

    def update(self, frames_done: int, work_seconds: float) -> float | None:
        dt = work_seconds - self._time
        df = frames_done - self._frames
        if dt < self.min_interval or df < 0:
            return self.fps
        sample = df / dt
        if self.fps is None:
            self.fps = sample
        else:
            w = 1.0 - math.exp(-dt / self.tau)
            self.fps += w * (sample - self.fps)
        self._frames, self._time = frames_done, work_seconds
        return self.fps


def estimated_remaining(total_frames: int, frames_done: int, fps: float | None) -> float | None:
    """Seconds of work left, or None while there is no rate yet."""
    if fps is None or fps <= 0:
        return None
    return max(0, total_frames - frames_done) / fps


def eta_at(now: datetime, remaining_seconds: float | None) -> datetime | None:
    return None if remaining_seconds is None else now + timedelta(seconds=remaining_seconds)


def batch_eta(remaining_frames_per_job: Sequence[int], measured_fps: float | None, now: datetime,
              workers: int) -> datetime | None:
    """When a queue will be finished: the jobs, in queue order (running ones first), are
    handed to whichever of `workers` workers frees first, each rendering at `measured_fps`.
    None without a rate or a worker; `now` for an empty queue."""
    if not remaining_frames_per_job:
        return now
    if measured_fps is None or measured_fps <= 0 or workers < 1:
        return None
    free_at = [0.0] * min(workers, len(remaining_frames_per_job))
    heapq.heapify(free_at)
    for frames in remaining_frames_per_job:
        start = heapq.heappop(free_at)
        heapq.heappush(free_at, start + max(0, frames) / measured_fps)
    return now + timedelta(seconds=max(free_at))


@dataclass
class WorkClock:
    """Seconds of work: wall time minus pauses. Times come from the caller (monotonic)."""

    started: float
    paused_total: float = 0.0
    paused_since: float | None = None

    def pause(self, now: float) -> None:
        if self.paused_since is None:
            self.paused_since = now

    def resume(self, now: float) -> None:
        if self.paused_since is not None:
            self.paused_total += now - self.paused_since
            self.paused_since = None

    def elapsed(self, now: float) -> float:
        held = self.paused_total + (now - self.paused_since if self.paused_since is not None else 0.0)
        return max(0.0, now - self.started - held)
