"""Taking back a work folder whose lease went stale (a node or daemon died), the way rq's
`StartedJobRegistry.cleanup` does for its jobs: gather the facts, ask
`decisions.decide_recovery`, carry out the answer, and tell the caller what came of it.

Nothing here calls back into the daemon: `recover` returns a `Recovered` value (a job filed
with its report, or a job put back in the inbox) and the hot folder acts on it (history,
batch, notification, sidecar).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hotfolder import claims, reports
from hotfolder.claims import HOST, Places
from hotfolder.decisions import RecoveryAction, WorkFolderFacts, decide_recovery
from hotfolder.names import display_name, fit_name
from hotfolder.queue import Lease, split_job_name
from hotfolder.vocabulary import FailureKind, JobState
from hotfolder.worker import log_tail

log = logging.getLogger("hotfolder.daemon")

RECOVER_PREFIX = ".recover-"


@dataclass(frozen=True)
class Recovered:
    """What became of a work folder: `report` when it was filed (done/ or failed/), `returned`
    (path, attempts, why) when it went back to the inbox; both None when there was nothing to
    keep."""

    report: dict[str, Any] | None = None
    returned: tuple[Path, int, str] | None = None
    already_recorded: bool = False    # its report was written by the daemon that died


def probe_video(path: Path) -> tuple[int | None, float | None]:
    """Frames and seconds of a finished video (for a job filed by recovery, whose render
    could not report them)."""
    try:
        import av

        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            frames, end = 0, 0.0
            for pkt in c.demux(stream):
                if pkt.pts is None or pkt.size == 0:
                    continue
                frames += 1
                end = max(end, float((pkt.pts + (pkt.duration or 0)) * pkt.time_base))
        return frames, end
    except Exception:
        return None, None


def _done_report(places: Places, stem: str, name: str) -> dict[str, Any] | None:
    try:
        report = json.loads((places.done / f"{stem}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(report, dict) and report.get("name") == display_name(name)
    return report if ok else None


def _only_lease(folder: Path) -> bool:
    try:
        return all(n == claims.LEASE or n.startswith("." + claims.LEASE + ".") for n in os.listdir(folder))
    except OSError:
        return False


def recover(places: Places, d: Path, lease: Lease | None, *, our_lease: Lease, now: datetime,
            max_attempts: int, log_lines: int, in_use: claims.InUse | None = None, host: str = HOST) -> Recovered:
    """Take one stale work folder back. Raises OSError when the share fails halfway (the next
    look at work/ tries again: every step is safe to repeat)."""
    # take it over with one rename, so two nodes noticing at once do not both act; a folder we
    # took over earlier (this run or a dead one) keeps its name
    if d.name.startswith(RECOVER_PREFIX):
        mine = d
    else:
        mine = places.work / fit_name(f"{RECOVER_PREFIX}{our_lease.token}-{d.name.lstrip('.')}")
        try:
            os.rename(d, mine)
        except OSError:
            return Recovered()
    claims.write_lease(mine, our_lease)
    wj = claims.load_work_job(mine)
    who = f"{lease.host} pid {lease.pid}" if lease else "unknown"
    if wj is None:
        action = decide_recovery(WorkFolderFacts(has_meta=False, only_lease=_only_lease(mine)))
        if action is RecoveryAction.REMOVE_EMPTY:
            shutil.rmtree(mine, ignore_errors=True)
            return Recovered()
        return quarantine(places, mine, d.name, now, host)
    wj.meta["key"] = wj.meta.get("key") or wj.name
    attempts = int(wj.meta.get("attempts") or 1)
    out_name = wj.meta.get("output")
    verified = wj.out_dir / out_name if out_name else None
    delivered = wj.meta.get("delivered")
    publishing = wj.meta.get("publishing")
    verified_ok = verified is not None and verified.is_file()
    landed = bool(not delivered and publishing and not verified_ok and (places.root / publishing["video"]).is_file())
    if landed:  # renamed into done/ (no hard links) just before the daemon died: it is this job's
        delivered = publishing
    done_report = _done_report(places, delivered["stem"], wj.name) if delivered else None
    action = decide_recovery(WorkFolderFacts(
        has_meta=True, only_lease=False, filing=bool(wj.meta.get(claims.FILING)), delivered=bool(delivered),
        publishing_landed=landed, report_in_done=done_report is not None,
        verified_output=verified_ok, job_file=os.path.lexists(wj.job_path), attempts=attempts,
        max_attempts=max_attempts))
    log.warning("%s: %s was left by %s; taking it back (%s)", places.root, display_name(wj.name), who, action)
    if action is RecoveryAction.FINISH_FILING:
        report = claims.finish_filing(places, wj, in_use)
        return Recovered(report=report)
    if action is RecoveryAction.CLEAR_FILED:
        # its daemon stopped after writing the report but before clearing work/: filing it again
        # would overwrite that report, move its sources twice and notify twice
        claims.release_media(places, wj, in_use)
        shutil.rmtree(mine, ignore_errors=True)
        return Recovered(report=done_report, already_recorded=True)
    if action is RecoveryAction.FILE_DONE:
        if delivered:
            stem, video, poster = delivered["stem"], delivered["video"], delivered.get("poster")
        else:
            poster_src = wj.out_dir / (split_job_name(out_name)[0] + ".jpg")
            stem, video_p, poster_p = claims.deliver_done(places, wj, verified,
                                                          poster_src if poster_src.exists() else None)
            video, poster = places.rel(video_p), places.rel(poster_p) if poster_p else None
        frames, seconds = probe_video(places.root / video)
        report = reports.final_report(name=wj.name, status=JobState.DONE, priority=wj.meta.get("priority"),
                                      started_at=reports.parse_iso(wj.meta.get("started_at")), finished_at=now,
                                      host=host, attempts=attempts, output=video, poster=poster, frames=frames,
                                      video_duration=seconds, log=log_tail(wj.log_path, log_lines))
        claims.file_done(places, wj, stem, report, in_use)
        return Recovered(report=report)
    if action is RecoveryAction.FAIL_INTERRUPTED:
        error = (f"The render was interrupted {attempts} times (its process or machine stopped, last on "
                 f"{who}); it was not tried again.")
        report = reports.final_report(name=wj.name, status=JobState.FAILED, priority=wj.meta.get("priority"),
                                      started_at=None, finished_at=now, host=host, attempts=attempts,
                                      error=reports.human_error(FailureKind.INTERRUPTED, error),
                                      log=log_tail(wj.log_path, log_lines))
        claims.file_failed(places, wj, report, in_use)
        return Recovered(report=report)
    if action is RecoveryAction.DROP:
        shutil.rmtree(mine, ignore_errors=True)
        return Recovered()
    back = claims.return_to_inbox(places, wj)
    if back is None:
        return Recovered()
    return Recovered(returned=(back[1], attempts, f"interrupted on {who}"))


def quarantine(places: Places, folder: Path, original: str, now: datetime, host: str = HOST) -> Recovered:
    """A work folder that cannot be understood (no readable job.json, yet files in it): moved
    once to failed/ as it is, with a report, so nothing is lost and nothing loops."""
    name = original.lstrip(".") or "work-folder"
    if name.startswith(RECOVER_PREFIX.lstrip(".")):
        name = name.split("-", 2)[-1] or "work-folder"
    report = reports.final_report(
        name=name, status=JobState.FAILED, priority=None, started_at=None, finished_at=now, host=host, attempts=0,
        error=reports.human_error(FailureKind.UNREADABLE, "A folder in work/ had no readable job record; "
                                  "its files are kept as they were found."))
    stem = claims.file_unreadable(places, folder, name, report)
    log.error("%s: work/%s could not be understood; moved to failed/%s", places.root, display_name(original),
              display_name(stem))
    return Recovered(report=report)
