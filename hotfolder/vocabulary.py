"""The daemon's one vocabulary: states, outcomes, failure kinds, abort reasons and events.

Every module that passes one of these to another uses these enums, never a string literal.
They are `StrEnum`s, so what lands in JSON (sidecars, reports, status.json) is the same plain
word the folder protocol documents (docs/folder-protocol.md).
"""
from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job is, as sidecars, reports and status.json say it."""

    QUEUED = "queued"
    WAITING = "waiting"        # seen in the inbox, not ready yet (being copied, read, or its media missing)
    STARTING = "starting"
    RENDERING = "rendering"
    PAUSED = "paused"
    VERIFYING = "verifying"
    RUNNING = "running"        # a row of status.json: starting, rendering or verifying
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class QueueStatus(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"            # a STOP file holds the queue
    NOT_RUNNING = "not_running"    # the daemon that wrote this has shut down


class RenderEnd(StrEnum):
    """How a render process ended, as the executor saw it."""

    DONE = "done"          # a verified video is in the job's out/ folder
    FAILED = "failed"      # the render said why (see FailureKind)
    ABORTED = "aborted"    # it stopped because it was asked to
    CRASHED = "crashed"    # it ended without a word (killed, segfault, out of memory)


class FailureKind(StrEnum):
    """Why a job did not make a video."""

    PROJECT = "project"        # the project (or a file it names) cannot be used
    RENDER = "render"          # GL, fonts or the encoder failed
    BUG = "bug"                # an error nobody foresaw
    DISK_FULL = "disk_full"    # not the job's fault: it waits for space
    CRASH = "crash"            # the render process died, every attempt
    SIDECAR = "sidecar"        # its YAML sidecar cannot be used
    BUNDLE = "bundle"          # a dropped folder that is not one project with its media
    MEDIA = "media"            # it names another job's file, a sidecar, a control file…
    STALLED = "stalled"        # the render made no progress for stall_seconds
    INTERRUPTED = "interrupted"  # its node died every attempt (stale leases)
    UNREADABLE = "unreadable"  # a folder in work/ that cannot be understood (quarantined)
    NODE = "node"              # this machine cannot render (its GPU, its fonts): not the job's fault


class AbortReason(StrEnum):
    """Why the daemon asked a render to stop."""

    STOP = "stop"            # a STOP file: back to the inbox
    SHUTDOWN = "shutdown"    # SIGTERM: back to the inbox
    SHARE = "share"          # the share went away: back to the inbox
    CANCEL = "cancel"        # a .cancel file: ends as cancelled
    STALLED = "stalled"      # no progress: ends as failed


class Event(StrEnum):
    """What notifications are sent for."""

    JOB_DONE = "job_done"
    JOB_FAILED = "job_failed"
    JOB_CANCELLED = "job_cancelled"
    BATCH_DONE = "batch_done"
    DAEMON_ERROR = "daemon_error"


EVENT_FOR_STATE = {JobState.DONE: Event.JOB_DONE, JobState.FAILED: Event.JOB_FAILED,
                   JobState.CANCELLED: Event.JOB_CANCELLED}
