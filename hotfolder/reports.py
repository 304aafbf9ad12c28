"""What people read: progress sidecars, final job reports and status.json, as plain dicts.

Pure builders (no clock, no filesystem): the daemon passes the facts and the time.
Field meanings are documented in docs/folder-protocol.md; bump SCHEMA on incompatible changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

from hotfolder.decisions import BatchCounts
from hotfolder.names import display_name
from hotfolder.vocabulary import FailureKind, JobState

SCHEMA = 1


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="seconds") if dt is not None else None


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 time as written by `iso` (or by another node), or None for anything else."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def iso_in(now: datetime, seconds: float | None) -> str | None:
    return iso(now + timedelta(seconds=seconds)) if seconds is not None else None


def queued_sidecar(*, name: str, priority: int, position: int, expected_start: datetime | None,
                   attempts: int, now: datetime, last_error: str | None = None) -> dict[str, Any]:
    """The progress sidecar of a job waiting in the inbox."""
    return {
        "schema": SCHEMA, "name": name, "status": JobState.QUEUED, "priority": priority, "position": position,
        "expected_start": iso(expected_start), "attempts": attempts, "last_error": last_error,
        "updated_at": iso(now),
    }


def running_sidecar(*, name: str, priority: int, state: str, progress: Mapping[str, Any] | None,
                    total_frames: int | None, host: str, started_at: datetime, attempts: int,
                    now: datetime) -> dict[str, Any]:
    """The progress sidecar of a running job. `state`: starting | rendering | paused | verifying;
    while paused the ETA and the speed are unknown (null) and the remaining time stays where it
    was. Every time is written in the offset of `now` (the daemon's local time), whatever
    offset the render process used for its ETA."""
    p = dict(progress or {})
    total = p.get("total_frames") or total_frames or 0
    frame = int(p.get("current_frame") or 0)
    remaining = p.get("estimated_remaining")
    eta = None
    if state != JobState.PAUSED:
        said = p.get("eta")
        try:
            said_at = datetime.fromisoformat(said) if isinstance(said, str) else None
        except ValueError:
            said_at = None
        if said_at is not None and said_at.tzinfo is not None and now.tzinfo is not None:
            eta = iso(said_at.astimezone(now.tzinfo))
        else:
            eta = iso_in(now, remaining)
    return {
        "schema": SCHEMA, "name": name, "status": state, "priority": priority,
        "percent": round(100.0 * frame / total, 2) if total else 0.0,
        "current_frame": frame, "total_frames": total or None,
        "elapsed": round(float(p.get("elapsed") or 0.0), 2),
        "estimated_remaining": round(remaining, 1) if isinstance(remaining, (int, float)) else None,
        "eta": eta, "fps": None if state == JobState.PAUSED else round(float(p.get("fps") or 0.0), 2),
        "current_operation": p.get("current_operation") or state,
        "renderer": p.get("renderer") or None, "host": host, "started_at": iso(started_at),
        "attempts": attempts, "updated_at": iso(now),
    }


def final_report(*, name: str, status: str, priority: int | None, started_at: datetime | None,
                 finished_at: datetime, host: str, attempts: int, frames: int | None = None,
                 output: str | None = None, poster: str | None = None, renderer: str | None = None,
                 encoder: str | None = None, video_duration: float | None = None,
                 error: str | None = None, log: Sequence[str] = (), source: str | None = None,
                 settings: Mapping[str, Any] | None = None, warnings: Sequence[str] = ()) -> dict[str, Any]:
    """done/<stem>.json or failed/<stem>.json. Paths are relative to the hot folder's root;
    `duration` is the job's wall time in seconds, `video_duration` the video's length;
    `warnings` what the render fell back on (a missing font, a skipped line), one short line
    each (at most 20 of 200 characters: never a file's contents)."""
    duration = (finished_at - started_at).total_seconds() if started_at else None
    said = [brief_error(w, 200) for w in dict.fromkeys(str(w) for w in warnings if str(w).strip())]
    if len(said) > 20:
        said = said[:19] + [f"… and {len(said) - 19} more warnings (see the log)"]
    return {
        "schema": SCHEMA, "name": display_name(name), "status": status, "priority": priority,
        "started_at": iso(started_at), "finished_at": iso(finished_at),
        "duration": round(duration, 2) if duration is not None else None,
        "frames": frames, "video_duration": round(video_duration, 3) if video_duration is not None else None,
        "output": output, "poster": poster, "renderer": renderer, "encoder": encoder, "host": host,
        "attempts": attempts, "error": error, "log": list(log), "source": source,
        "settings": dict(settings) if settings is not None else None, "warnings": said,
    }


@dataclass
class JobRow:
    """One row of status.json's `jobs`."""

    name: str
    state: str
    priority: int | None = None
    position: int | None = None
    percent: float = 0.0
    fps: float | None = 0.0         # null while paused: a held job has no speed
    eta: str | None = None
    estimated_remaining: float | None = None
    expected_start: str | None = None
    host: str | None = None
    renderer: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    attempts: int = 0
    output: str | None = None
    poster: str | None = None
    error: str | None = None
    waiting: str | None = None      # a waiting job: settling | reading | waiting_media
    key: str | None = None          # queued, waiting and running jobs: the path below inbox/ (high/dup.ass)
    report: str | None = None       # a finished job's report, relative to ROOT (only when known)
    warnings: tuple[str, ...] = ()  # what its render fell back on (only when there is something)

    def to_json(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        for key in ("report", "warnings", "key"):   # fields only some rows have: absent rather than empty
            if not row[key]:
                del row[key]
        if "warnings" in row:
            row["warnings"] = list(row["warnings"])
        return row


def _readable_row(row: JobRow) -> JobRow:
    """Names as text every reader (and the status page) can show."""
    row.name = display_name(row.name)
    return row


def row_from_report(report: Mapping[str, Any]) -> JobRow:
    """A finished job's row from its final report. The report's own place: `report` when it says
    so, else next to its video (done/<stem>.json beside done/<stem>.mp4) or beside the folder
    its files were filed in (failed/<stem>.json beside failed/<stem>/)."""
    status = report["status"]
    where = report.get("report")
    output, source = report.get("output"), report.get("source")
    if not isinstance(where, str) or not where:
        where = None
        done_here = isinstance(output, str) and output.startswith("done/") and output.count("/") == 1
        if status == JobState.DONE and done_here:
            stem, dot, _ = output.rpartition(".")
            where = (stem if dot else output) + ".json"
        elif isinstance(source, str) and source.startswith("failed/") and source.count("/") == 1 and len(source) > 7:
            where = source + ".json"
    warned = report.get("warnings")
    return JobRow(name=report["name"], state=status, priority=report.get("priority"),
                  percent=100.0 if status == JobState.DONE else 0.0, host=report.get("host"),
                  renderer=report.get("renderer"), started_at=report.get("started_at"),
                  finished_at=report.get("finished_at"), duration=report.get("duration"),
                  attempts=report.get("attempts") or 0, output=output,
                  poster=report.get("poster"), error=report.get("error"), report=where,
                  warnings=tuple(str(w) for w in warned) if isinstance(warned, list) else ())


def row_from_sidecar(sidecar: Mapping[str, Any]) -> JobRow:
    """A running job's row from its progress sidecar (no speed while paused, whatever it says)."""
    paused = sidecar["status"] == JobState.PAUSED
    return JobRow(name=sidecar["name"], state=JobState.PAUSED if paused else JobState.RUNNING,
                  priority=sidecar.get("priority"), percent=sidecar.get("percent") or 0.0,
                  fps=None if paused else (sidecar.get("fps") or 0.0), eta=sidecar.get("eta"),
                  estimated_remaining=sidecar.get("estimated_remaining"), host=sidecar.get("host"),
                  renderer=sidecar.get("renderer"), started_at=sidecar.get("started_at"),
                  attempts=sidecar.get("attempts") or 0)


def status_document(*, now: datetime, host: str, root: str, queue_status: str, share_ok: bool,
                    message: str | None, counts: BatchCounts, overall_percent: float,
                    estimated_completion: datetime | None, running: Sequence[JobRow],
                    queued: Sequence[JobRow], finished: Iterable[JobRow], history: int = 50,
                    queued_total: int | None = None) -> dict[str, Any]:
    """ROOT/status.json: running jobs, the first queued ones (`queued_more` says how many more
    wait), then the most recent finished ones, newest first."""
    finished_rows = [_readable_row(r) for r in list(finished)[:history]]
    running = [_readable_row(r) for r in running]
    queued = [_readable_row(r) for r in queued]
    more = max(0, (queued_total if queued_total is not None else len(queued)) - len(queued))
    return {
        "schema": SCHEMA, "updated_at": iso(now), "host": host, "root": root,
        "queue_status": queue_status, "share_ok": share_ok, "message": display_name(message) if message else None,
        "total_jobs": counts.total, "completed_jobs": counts.completed, "failed_jobs": counts.failed,
        "queued_jobs": counts.queued, "queued_more": more, "overall_percent": overall_percent,
        "estimated_completion": iso(estimated_completion),
        "current_jobs": [r.name for r in running],
        "jobs": [r.to_json() for r in (*running, *queued, *finished_rows)],
    }


MAX_ERROR_CHARS = 400   # an error is a sentence, never a file's contents


def brief_error(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """One line of at most `limit` characters: what a render or importer said may quote its
    input, and a report, status.json or a notification must never carry a file's contents."""
    line = " ".join(display_name(str(message)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


_ERROR_WORDS: dict[FailureKind, str] = {
    FailureKind.PROJECT: "The project could not be used: {}. Fix the file and drop it into the inbox again.",
    FailureKind.RENDER: "Rendering failed: {}.",
    FailureKind.CRASH: "The render process stopped unexpectedly ({}).",
    FailureKind.SIDECAR: "The job's sidecar could not be used: {}. Fix it and drop the job again.",
    FailureKind.BUNDLE: "The folder could not be used as a job: {}.",
    FailureKind.MEDIA: "The project names a file it may not use: {}. Name its own media only.",
    FailureKind.STALLED: "The render made no progress ({}) and was stopped.",
    FailureKind.INTERRUPTED: "{}",
    FailureKind.UNREADABLE: "{}",
}


def human_error(kind: FailureKind, message: str) -> str:
    """One or two sentences a person understands, from what the render process reported."""
    text = brief_error(message).rstrip(".")
    return _ERROR_WORDS.get(kind, "Unexpected error while rendering: {}.").format(text)
