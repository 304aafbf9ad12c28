"""Every decision the daemon makes about a job, as pure functions over plain data.

The daemon's shell gathers facts (what a render process said, what a work folder holds, what
the inbox looks like) into the small frozen dataclasses here and acts on the answer. Nothing
here touches a file, a clock or a process, so each rule is tested in-process
(tests/test_decisions.py).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Collection, Iterable

from hotfolder.vocabulary import AbortReason, FailureKind, JobState, RenderEnd

# --- retry policy: the one place that says what is tried again ----------------------------------

RETRIED = frozenset({FailureKind.CRASH, FailureKind.INTERRUPTED})   # the machine's fault, maybe not the job's
NOT_COUNTED = frozenset({FailureKind.DISK_FULL, FailureKind.NODE})  # never the job's fault: wait, then again


def may_retry(kind: FailureKind, attempts: int, max_attempts: int) -> bool:
    """Whether a job that ended this way after `attempts` tries goes back to the queue."""
    if kind in NOT_COUNTED:
        return True
    return kind in RETRIED and attempts < max_attempts


# --- a finished render ----------------------------------------------------------------------------

class FinishAction(StrEnum):
    DELIVER = "deliver"          # verify passed: the video to done/
    FAIL = "fail"                # failed/ with a report
    CANCEL = "cancel"            # failed/ with a "cancelled" report
    REQUEUE = "requeue"          # back to its place in the inbox, the attempt not counted
    RETRY = "retry"              # back to its place in the inbox, the attempt counted


@dataclass(frozen=True)
class RenderOutcome:
    """What the executor knows when a render ended."""

    end: RenderEnd
    failure: FailureKind | None = None    # with RenderEnd.FAILED
    abort: AbortReason | None = None      # the daemon asked it to stop, and why
    share_lost: bool = False              # the share went away while it ran
    attempts: int = 1                     # this attempt included
    max_attempts: int = 3


@dataclass(frozen=True)
class FinishDecision:
    action: FinishAction
    failure: FailureKind | None = None
    disk_full: bool = False               # hold the queue until space is freed
    node_trouble: bool = False            # hold this node's claims: it cannot render now


def decide_finish(o: RenderOutcome) -> FinishDecision:
    """What to do with a job whose render process has ended."""
    if o.end is RenderEnd.DONE:
        return FinishDecision(FinishAction.DELIVER)
    if o.abort in (AbortReason.STOP, AbortReason.SHUTDOWN, AbortReason.SHARE) and o.end is not RenderEnd.FAILED:
        return FinishDecision(FinishAction.REQUEUE)
    if o.abort is AbortReason.CANCEL:
        return FinishDecision(FinishAction.CANCEL)
    if o.abort is AbortReason.STALLED:
        return FinishDecision(FinishAction.FAIL, FailureKind.STALLED)
    if o.failure is FailureKind.DISK_FULL:
        return FinishDecision(FinishAction.REQUEUE, FailureKind.DISK_FULL, disk_full=True)
    if o.failure is FailureKind.NODE:
        return FinishDecision(FinishAction.REQUEUE, FailureKind.NODE, node_trouble=True)
    if o.share_lost:
        return FinishDecision(FinishAction.REQUEUE)
    if o.end is RenderEnd.FAILED:
        return FinishDecision(FinishAction.FAIL, o.failure or FailureKind.BUG)
    # it ended without a word (or aborted for a reason nobody gave): a crash
    if may_retry(FailureKind.CRASH, o.attempts, o.max_attempts):
        return FinishDecision(FinishAction.RETRY, FailureKind.CRASH)
    return FinishDecision(FinishAction.FAIL, FailureKind.CRASH)


# --- a folder found in work/ ------------------------------------------------------------------------

class RecoveryAction(StrEnum):
    REMOVE_EMPTY = "remove_empty"          # nothing but a lease (a claim that died before job.json)
    QUARANTINE = "quarantine"              # cannot be understood: to failed/ once, with a report
    FINISH_FILING = "finish_filing"        # a filing was under way: complete it, nothing more
    CLEAR_FILED = "clear_filed"            # its report is in done/ already: only tidy up
    FILE_DONE = "file_done"                # the render had finished: file it, never render twice
    FAIL_INTERRUPTED = "fail_interrupted"  # interrupted too often
    RETURN = "return"                      # back to the inbox, the attempt counted
    DROP = "drop"                          # its job file is gone (deleted by a person): nothing to keep


@dataclass(frozen=True)
class WorkFolderFacts:
    has_meta: bool                   # job.json read and understood
    only_lease: bool                 # holds nothing but lease files (and their temp files)
    filing: bool = False             # job.json records a filing under way (report written beside)
    delivered: bool = False          # job.json says the video is in done/
    publishing_landed: bool = False  # job.json names a done/ video that exists while out/ has none
    report_in_done: bool = False     # done/<stem>.json is this job's report
    verified_output: bool = False    # out/ holds the verified video
    job_file: bool = True            # the job file (or bundle) is still in the folder
    attempts: int = 1
    max_attempts: int = 3


def decide_recovery(f: WorkFolderFacts) -> RecoveryAction:
    """What to do with a work folder whose lease went stale (or that we found at start)."""
    if not f.has_meta:
        return RecoveryAction.REMOVE_EMPTY if f.only_lease else RecoveryAction.QUARANTINE
    if f.filing:
        return RecoveryAction.FINISH_FILING
    delivered = f.delivered or f.publishing_landed
    if delivered and f.report_in_done:
        return RecoveryAction.CLEAR_FILED
    if delivered or f.verified_output:
        return RecoveryAction.FILE_DONE
    if not f.job_file:
        return RecoveryAction.DROP
    if may_retry(FailureKind.INTERRUPTED, f.attempts, f.max_attempts):
        return RecoveryAction.RETURN
    return RecoveryAction.FAIL_INTERRUPTED


# --- a queued job ------------------------------------------------------------------------------------

class Readiness(StrEnum):
    SETTLING = "settling"            # still being written (or its media is)
    READING = "reading"              # settled; its project is being read for the media it names
    WAITING_MEDIA = "waiting_media"  # settled, but media it names are not there yet
    READY = "ready"
    IGNORED = "ignored"              # not a project after all (a .txt that is no UltraStar song)


def decide_ready(*, settled: bool, media_known: bool, missing_media: bool, missing_for: float,
                 media_wait_seconds: float, not_a_project: bool = False) -> Readiness:
    """When a queued job may be claimed: it and what it names stopped changing, and the media
    it names are there (or were waited for long enough: the render then says what is missing)."""
    if not settled:
        return Readiness.SETTLING
    if not_a_project:
        return Readiness.IGNORED
    if not media_known:
        return Readiness.READING
    if missing_media and missing_for < media_wait_seconds:
        return Readiness.WAITING_MEDIA
    return Readiness.READY


def stalled(*, progress_age: float, paused: bool, stall_seconds: float) -> bool:
    """A render that said nothing new for `stall_seconds` (not while held by PAUSE) is stuck."""
    return stall_seconds > 0 and not paused and progress_age > stall_seconds


# --- what people read ---------------------------------------------------------------------------------

EXACT_POSITIONS = 100     # queued jobs whose sidecar follows every change of place


def queued_sidecar_due(*, position: int, written_position: int | None, expected_changed: bool,
                       age: float) -> bool:
    """Whether a queued job's progress sidecar is rewritten now. It is rewritten only when what
    it says changed: for the first EXACT_POSITIONS jobs every change; further back a change of
    place by a tenth or more, or any change once a minute. So a claim does not rewrite 10,000
    sidecars, while each one stays roughly right."""
    if written_position is None:
        return True
    if position == written_position and not expected_changed:
        return False
    if position <= EXACT_POSITIONS:
        return True
    return abs(position - written_position) * 10 >= position or age >= 60.0


# --- media a project names ---------------------------------------------------------------------------

class MediaConflict(StrEnum):
    OUTSIDE = "lies outside the job's folder"
    JOB = "is another job's project file"
    SIDECAR = "is a sidecar or a progress file"
    CONTROL = "is a control file"
    PRIORITY_FOLDER = "is a priority folder of the inbox"
    BUNDLE = "is a folder holding a project (a job of its own)"
    HIDDEN = "is a hidden or temporary file"


_SIDECAR_SUFFIXES = (".yaml", ".yml", ".progress.json", ".cancel")
_CONTROL_NAMES = ("PAUSE", "STOP")


def media_conflict(rel: str, *, is_dir: bool, project_suffixes: Collection[str],
                   priority_folders: Collection[str], holds_project: bool, at_inbox_top: bool) -> MediaConflict | None:
    """Whether a media path a project names (relative to the project's folder, posix) may be
    taken along with it: never another job, a sidecar, a control file, a priority folder or a
    bundle, so finishing one job can never move or delete another's files."""
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or ".." in parts or parts == (".",):
        return MediaConflict.OUTSIDE
    name = parts[-1]
    lower = name.lower()
    if any(p.startswith(".") for p in parts) or lower.endswith((".part", ".tmp")):
        return MediaConflict.HIDDEN
    if name in _CONTROL_NAMES and len(parts) == 1:
        return MediaConflict.CONTROL
    if lower.endswith(_SIDECAR_SUFFIXES):
        return MediaConflict.SIDECAR
    if is_dir:
        if at_inbox_top and len(parts) == 1 and (parts[0] in priority_folders or parts[0].isdigit()):
            return MediaConflict.PRIORITY_FOLDER
        if holds_project:
            return MediaConflict.BUNDLE
        return None
    if os.path.splitext(lower)[1] in project_suffixes:
        return MediaConflict.JOB
    return None


# --- cancels ------------------------------------------------------------------------------------------

def cancel_targets(request: str, jobs: Iterable[str]) -> list[str]:
    """Which jobs a cancel request names. `jobs` are the queued and running jobs by their path
    below inbox/ ("high/dup.ass"); `request` is such a path, or a bare name that then must be
    one job's name. A request may name one job, none or several: only one is a cancel."""
    keys = list(jobs)
    if "/" in request:
        return [k for k in keys if k == request]
    exact = [k for k in keys if k == request]
    return exact or [k for k in keys if k.rsplit("/", 1)[-1] == request]


# --- the batch ---------------------------------------------------------------------------------------

class BatchAction(StrEnum):
    NOTHING = "nothing"
    OPEN = "open"      # work is here and no batch is open: open one
    CLOSE = "close"    # the root stayed idle: close the batch (one node sends batch_done)


def decide_batch(*, busy: bool, batch_open: bool, idle_for: float, grace: float) -> BatchAction:
    """The root's batch from what this node sees of the root (all nodes see the same share)."""
    if busy:
        return BatchAction.NOTHING if batch_open else BatchAction.OPEN
    if batch_open and idle_for >= grace:
        return BatchAction.CLOSE
    return BatchAction.NOTHING


@dataclass(frozen=True)
class BatchCounts:
    total: int = 0
    completed: int = 0
    failed: int = 0      # failed and cancelled
    queued: int = 0


def batch_counts(states: Iterable[str]) -> BatchCounts:
    """What status.json says of the batch: every job seen since the queue was last empty."""
    total = completed = failed = queued = 0
    for s in states:
        total += 1
        if s == JobState.DONE:
            completed += 1
        elif s in (JobState.FAILED, JobState.CANCELLED):
            failed += 1
        elif s in (JobState.QUEUED, JobState.WAITING):
            queued += 1
    return BatchCounts(total, completed, failed, queued)
