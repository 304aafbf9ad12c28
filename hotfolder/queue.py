"""The queue over the inbox, as plain data: priority, order, names, leases, control state, ETAs.

Everything here is pure (no filesystem, no clock): the daemon gathers facts (what is in
the inbox, lease mtimes, measured speed) and asks these functions what they mean.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from hotfolder.names import fit_name, name_bytes
from hotfolder.vocabulary import JobState, QueueStatus



# --- priority and order ---------------------------------------------------------------

def is_priority_folder(name: str, priorities: Mapping[str, int]) -> bool:
    """An inbox subfolder that sets a priority (a configured name or a number), not a bundle."""
    return name in priorities or name.isdigit()


def folder_priority(rel_parts: Sequence[str], priorities: Mapping[str, int], default: int) -> int:
    """Priority from where a job sits in the inbox: `rel_parts` is its path below inbox/."""
    if len(rel_parts) > 1:
        first = rel_parts[0]
        if first in priorities:
            return priorities[first]
        if first.isdigit():
            return int(first)
    return default


@dataclass(frozen=True)
class QueueEntry:
    key: str          # path below inbox/, unique ("high/song.ass")
    name: str         # the job's file or folder name ("song.ass")
    priority: int
    mtime: float      # when it was dropped (its file's mtime): equal priorities run oldest first


def order_queue(entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    """Lower priority number first; then oldest first; then by path, so the order is total."""
    return sorted(entries, key=lambda e: (e.priority, e.mtime, e.key))


# --- names -----------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(?P<base>.*) \((?P<n>\d+)\)$")


def numbered(stem: str, n: int) -> str:
    return stem if n <= 1 else f"{stem} ({n})"


def unique_stem(stem: str, suffixes: Sequence[str], taken: Callable[[str], bool]) -> str:
    """The first of `stem`, `stem (2)`, `stem (3)`… for which no `stem+suffix` is taken.

    Used to keep a video, its report and its poster under one name: `song (2).mp4`,
    `song (2).json`, `song (2).jpg`.
    """
    # room for " (99999)" and the longest suffix: a name near NAME_MAX gets a shortened stem
    stem = fit_name(stem, reserve=len(" (99999)") + max((len(name_bytes(s)) for s in suffixes), default=0))
    n = 1
    while True:
        candidate = numbered(stem, n)
        if not any(taken(candidate + s) for s in suffixes):
            return candidate
        n += 1
        if n > 100_000:  # a folder this full is a bug somewhere else; do not loop forever
            raise RuntimeError(f"no free name for {stem!r}")


def unique_name(name: str, taken: Callable[[str], bool]) -> str:
    """`song.mp4` if free, else `song (2).mp4`, `song (3).mp4`…; a folder name has no suffix."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return unique_stem(name, [""], taken)
    return unique_stem(stem, ["." + suffix], taken) + "." + suffix


def split_job_name(name: str) -> tuple[str, str]:
    """`song.ass` -> ("song", ".ass"); a bundle folder `song` -> ("song", "")."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, "." + suffix


# --- leases ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lease:
    host: str
    pid: int
    token: str        # per daemon run: a pid reused after a reboot is not mistaken for us


def lease_is_stale(lease: Lease | None, age: float, stale_after: float, *, this_host: str, this_pid: int,
                   this_token: str, pid_alive: Callable[[int], bool]) -> bool:
    """Whether a running job's lease no longer protects it.

    `age`: seconds since the lease file was last refreshed (by the reader's clock). Our own
    leases are never stale (we refresh them). Others' are stale when not refreshed for
    `stale_after` seconds, or when held on this host by a process that is gone (so a restart
    after kill -9 need not wait) or by our own pid in an earlier run (pid reuse). A lease
    that cannot be read counts by its age only.
    """
    if lease is not None and lease.token == this_token:
        return False
    if age > stale_after:
        return True
    if lease is None or lease.host != this_host:
        return False
    return lease.pid == this_pid or not pid_alive(lease.pid)


# --- control state ---------------------------------------------------------------------

def queue_status(paused: bool, stopped: bool, running: int, shut_down: bool = False) -> QueueStatus:
    """A daemon that shut down says so; then STOP wins over PAUSE; otherwise running when a job
    runs, else idle. Only a STOP file means "stopped"."""
    if shut_down:
        return QueueStatus.NOT_RUNNING
    if stopped:
        return QueueStatus.STOPPED
    if paused:
        return QueueStatus.PAUSED
    return QueueStatus.RUNNING if running else QueueStatus.IDLE


def may_claim(paused: bool, stopped: bool, share_ok: bool, running: int, workers: int) -> bool:
    return share_ok and not paused and not stopped and running < workers


# --- ETAs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Speed:
    """Measured render speed of this node: output pixels per second, plus a per-job overhead."""

    pixels_per_second: float = 6.0e6   # a guess until a job was measured (llvmpipe, small frames)
    overhead: float = 2.0              # seconds per job: process start, GL context, verify, moves

    def estimate(self, frames: int, width: int, height: int) -> float:
        return self.overhead + frames * width * height / max(self.pixels_per_second, 1.0)

    def updated(self, frames: int, width: int, height: int, seconds: float, weight: float = 0.5) -> "Speed":
        """Blend in one finished job (exponential average), ignoring degenerate measurements."""
        work = seconds - self.overhead
        if frames <= 0 or work <= 0.05:
            return self
        measured = frames * width * height / work
        return Speed(self.pixels_per_second * (1 - weight) + measured * weight, self.overhead)


def schedule(running_remaining: Sequence[float], queued_durations: Sequence[float],
             workers: int) -> tuple[list[float], float]:
    """When each queued job starts (seconds from now) and when everything is done.

    Workers take queued jobs in order as each becomes free (as the daemon does);
    `running_remaining` are the seconds left of the jobs running now.
    """
    workers = max(1, workers)
    free = sorted(max(0.0, r) for r in running_remaining)[:workers]
    free += [0.0] * (workers - len(free))
    heapq.heapify(free)
    starts: list[float] = []
    end = max([0.0, *running_remaining])
    for duration in queued_durations:
        start = heapq.heappop(free)
        starts.append(start)
        finish = start + max(0.0, duration)
        end = max(end, finish)
        heapq.heappush(free, finish)
    return starts, end


@dataclass(frozen=True)
class BatchJob:
    state: str            # queued | running | paused | done | failed | cancelled
    frames_done: int
    frames_total: int | None  # None: not known (e.g. a project that did not load)


def overall_percent(jobs: Sequence[BatchJob]) -> float:
    """Share of the batch's frames that are done; finished jobs count whole.

    A job whose frame count is unknown weighs as much as the average known job.
    """
    if not jobs:
        return 0.0
    known = [j.frames_total for j in jobs if j.frames_total]
    fallback = (sum(known) / len(known)) if known else 1.0
    total = done = 0.0
    for j in jobs:
        weight = float(j.frames_total) if j.frames_total else fallback
        total += weight
        if j.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED):
            done += weight
        elif j.frames_total:
            done += min(j.frames_done, j.frames_total)
    return round(100.0 * done / total, 2) if total else 0.0
