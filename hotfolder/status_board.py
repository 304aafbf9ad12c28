"""What people read of one hot folder: running jobs' progress sidecars, queued jobs' sidecars,
status.json and status.html, and this node's heartbeat in .hotfolder/nodes/.

The hot folder hands the board a `FolderView` (the facts as they are now); the board decides
what to write and when, and writes it. It never changes the queue or the batch.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from hotfolder import claims, reports
from hotfolder.atomic import write_json_atomic
from hotfolder.claims import HOST, Places
from hotfolder.decisions import batch_counts, queued_sidecar_due
from hotfolder.jobs import JobOptions, progress_name
from hotfolder.names import display_name
from hotfolder.queue import BatchJob, Speed, overall_percent, queue_status, schedule
from hotfolder.settings import RenderSettings
from hotfolder.sidecar_writer import SidecarWriter
from hotfolder.status_page import write_status_html
from hotfolder.vocabulary import JobState

log = logging.getLogger("hotfolder.daemon")

IDLE_STATUS_INTERVAL = 5.0   # status.json while nothing runs and nothing changed
HEARTBEAT_SECONDS = 10.0
LISTED_FILES = 50            # ignored and unused files listed in status.json


def now_local() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class FolderView:
    """One hot folder's facts at one moment, for the board."""

    running: Sequence[Any]               # folder.Running of this folder
    ordered: Sequence[Any]               # inbox.Queued ready to run, in claim order
    arriving: Sequence[Any]              # inbox.Queued seen but not ready yet
    version: tuple                       # changes whenever the queue or the controls change
    finished: Sequence[Mapping[str, Any]]   # reports of the root's current (or last) batch, all nodes
    speed: Speed
    paused: bool
    stopped: bool
    stopped_for_good: bool
    share_ok: bool
    message: str | None
    history: Iterable[Mapping[str, Any]]
    settings_for: Callable[[JobOptions], RenderSettings]
    workers: int
    rows: int                            # queued jobs listed one by one
    history_rows: int
    status_interval: float
    ignored: Sequence[str] = ()          # files in the inbox found to be no project (notes.txt)
    unused: Sequence[str] = ()           # files no queued project names, for a while now


def running_state(r: Any) -> JobState:
    """Paused exactly while we hold the render. The render also says "paused" when a frame
    checkpoint took a moment (a busy machine), and still does just after a resume: neither is a
    pause anyone asked for."""
    if r.render is not None and r.render.held:
        return JobState.PAUSED
    state = (r.progress or {}).get("status") or JobState.STARTING
    live = (JobState.STARTING, JobState.RENDERING, JobState.VERIFYING)
    return JobState(state) if state in live else JobState.RENDERING


def running_sidecar(r: Any, state: JobState, node: str = HOST) -> dict[str, Any]:
    """`node`: this machine, and its GPU instance (host-gpuN) where there are several."""
    return reports.running_sidecar(name=r.name, priority=r.priority, state=state, progress=r.progress,
                                   total_frames=r.frames, host=node, started_at=r.started_at,
                                   attempts=r.attempts, now=now_local())


def batch_jobs(view: FolderView, foreign: Sequence[BatchJob]) -> list[BatchJob]:
    """Every job of the root's batch as the batch counts it: finished on any node, running on
    any node, waiting in the inbox. Every node sees the same share, so every node counts the same."""
    jobs = [BatchJob(str(r.get("status")), 0, r.get("frames")) for r in view.finished]
    for r in view.running:
        p = r.progress or {}
        jobs.append(BatchJob(JobState.RUNNING, int(p.get("current_frame") or 0), p.get("total_frames") or r.frames))
    jobs += foreign
    jobs += [BatchJob(JobState.QUEUED, 0, q.frames) for q in (*view.ordered, *view.arriving)]
    return jobs


def plan(view: FolderView) -> tuple[list[float], float]:
    """When each ready job starts (seconds from now) and when all are done (queue.schedule)."""
    running_left = []
    for r in view.running:
        left = (r.progress or {}).get("estimated_remaining")
        if left is None:
            est = view.speed.estimate(r.frames or 0, r.settings.width, r.settings.height)
            left = max(1.0, est - (now_local() - r.started_at).total_seconds())
        running_left.append(float(left))
    known = [q.frames for q in view.ordered if q.frames]
    avg = sum(known) / len(known) if known else 0
    durations = []
    for q in view.ordered:
        s = view.settings_for(q.options)
        durations.append(view.speed.estimate(q.frames or int(avg), s.width, s.height))
    return schedule(running_left, durations, view.workers)


class StatusBoard:
    def __init__(self, places: Places, node_id: str, gpu: int | None) -> None:
        self.places = places
        self.node_id, self.gpu = node_id, gpu
        self.sidecars = SidecarWriter()
        self.last_status = -1e9
        self.last_heartbeat = -1e9
        self._seen: tuple | None = None

    def show_now(self) -> None:
        """The next write_status writes, whatever its interval says (a job finished)."""
        self.last_status = -1e9

    # -- running jobs

    def write_running_sidecars(self, running: Iterable[Any], now: float, interval: float, force: bool = False) -> None:
        for r in running:
            state = running_state(r)
            changed = r.sidecar is None or r.sidecar["status"] != state  # a new state shows at once
            if not force and not changed and now - r.sidecar_at < interval:
                continue
            r.sidecar = running_sidecar(r, state, self.node_id)
            r.sidecar_at = now
            try:
                write_json_atomic(r.wj.progress_path, r.sidecar)
            except OSError as exc:
                log.debug("%s: cannot write its sidecar: %s", r.name, exc)

    def _foreign_running(self, ours: set[str]) -> list[tuple[reports.JobRow, BatchJob]]:
        """Jobs other nodes (or other GPU instances) run on this share, from their sidecars."""
        out: list[tuple[reports.JobRow, BatchJob]] = []
        try:
            dirs = [d for d in self.places.work.iterdir() if d.is_dir() and d.name not in ours]
        except OSError:
            return out
        for d in dirs:
            meta = claims.load_work_job(d)
            if meta is None:
                continue
            try:
                side = json.loads(meta.progress_path.read_text(encoding="utf-8"))
                row = reports.row_from_sidecar(side)
                row.key = display_name(str(meta.meta.get("key") or meta.name))
                out.append((row,
                            BatchJob(JobState.RUNNING, int(side.get("current_frame") or 0), side.get("total_frames"))))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return out

    # -- the whole folder

    def due(self, now: float, version: tuple, running: bool, status_interval: float) -> bool:
        """Whether status is written now. While nothing runs and nothing changed it is refreshed
        only every IDLE_STATUS_INTERVAL: a paused queue of 10,000 jobs costs next to nothing.
        Asked before the hot folder gathers its view, which costs as much as the queue is long."""
        interval = status_interval if running or version != self._seen else IDLE_STATUS_INTERVAL
        return now - self.last_status >= interval

    def write_status(self, view: FolderView, now: float, ours: set[str]) -> None:
        """status.json and status.html, and the queued jobs' sidecars."""
        self.last_status = now
        self._seen = view.version
        wall = now_local()
        starts, end = plan(view)
        held = view.paused or view.stopped
        queued_rows = []
        for pos, (q, start) in enumerate(zip(view.ordered, starts), 1):
            expected_dt = None if held else datetime.fromtimestamp(wall.timestamp() + start).astimezone()
            if pos <= view.rows:   # status.json stays small: counts for the rest
                queued_rows.append(reports.JobRow(name=display_name(q.cand.name), state=JobState.QUEUED,
                                                  key=display_name(q.cand.key), priority=q.priority, position=pos,
                                                  expected_start=reports.iso(expected_dt), attempts=q.attempts,
                                                  error=q.option_error))
            self._queued_sidecar(q, pos, expected_dt, wall, now)
        for q in view.arriving[: max(0, view.rows - len(queued_rows))]:
            # seen but not ready (being copied, read, or waiting for its media): shown, without a place
            queued_rows.append(reports.JobRow(name=display_name(q.cand.name), state=JobState.WAITING,
                                              key=display_name(q.cand.key), priority=q.priority,
                                              attempts=q.attempts, error=q.option_error, waiting=q.readiness))
        # from what the render reported last, not from the sidecar written up to an interval ago:
        # status.json would otherwise lag the renders by up to two intervals
        running_rows = [replace(reports.row_from_sidecar(running_sidecar(r, running_state(r), self.node_id)),
                                key=display_name(r.key)) for r in view.running]
        foreign = self._foreign_running(ours)
        running_rows += [row for row, _ in foreign]
        batch = batch_jobs(view, [job for _, job in foreign])
        status = queue_status(view.paused, view.stopped, len(view.running), shut_down=view.stopped_for_good)
        completion = None
        if not held and (view.ordered or view.running):
            completion = datetime.fromtimestamp(wall.timestamp() + end).astimezone()
        doc = reports.status_document(
            now=wall, host=self.node_id, root=str(self.places.root), queue_status=status, share_ok=view.share_ok,
            message=view.message, counts=batch_counts(j.state for j in batch),
            overall_percent=overall_percent(batch), estimated_completion=completion,
            running=running_rows, queued=queued_rows, finished=[reports.row_from_report(r) for r in view.history],
            history=view.history_rows, queued_total=len(view.ordered) + len(view.arriving))
        # people see what the inbox holds that will never run (never deleted: theirs to tidy)
        doc["ignored"] = [display_name(k) for k in view.ignored[:LISTED_FILES]]
        doc["unused"] = [display_name(k) for k in view.unused[:LISTED_FILES]]
        self._publish(doc)

    def _queued_sidecar(self, q: Any, pos: int, expected: datetime | None, wall: datetime, now: float) -> None:
        """A queued job's sidecar, rewritten only when what it says changed (decisions)."""
        shown = (q.priority, q.attempts, reports.iso(expected)[:16] if expected else None)
        if not queued_sidecar_due(position=pos, written_position=q.sidecar_pos, expected_changed=shown != q.sidecar_key,
                                  age=now - q.sidecar_at):
            return
        self.sidecars.submit(q.cand.path.parent / progress_name(q.cand.name), reports.queued_sidecar(
            name=display_name(q.cand.name), priority=q.priority, position=pos, expected_start=expected,
            attempts=q.attempts, now=wall, last_error=q.last_error))
        q.sidecar_key, q.sidecar_pos, q.sidecar_at = shown, pos, now

    def _publish(self, doc: dict[str, Any]) -> None:
        root = self.places.root
        if not self.places.marker.is_dir():
            return  # the share went away just now: never write into the bare mount point
        try:
            write_json_atomic(root / "status.json", doc)
        except OSError as exc:
            log.warning("%s: cannot write status.json: %s", root, exc)
            return
        try:
            write_status_html(root, doc)
        except OSError as exc:  # the share went away, the disk is full: not a bug
            log.warning("%s: cannot write status.html: %s", root, exc)
        except Exception:
            log.exception("%s: cannot write status.html", root)
        if not self.places.marker.is_dir():
            # the share went away while we wrote: what landed in the bare mount point goes again
            for name in ("status.json", "status.html"):
                try:
                    (root / name).unlink()
                except OSError:
                    pass

    # -- this node

    def node_file(self) -> Path:
        return self.places.marker / "nodes" / f"{self.node_id}.json"

    def load_speed(self) -> Speed | None:
        """This node's measured speed, kept across restarts."""
        try:
            return Speed(**json.loads(self.node_file().read_text(encoding="utf-8"))["speed"])
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def heartbeat(self, now: float, running: Iterable[str], speed: Speed) -> None:
        if now - self.last_heartbeat < HEARTBEAT_SECONDS:
            return
        self.last_heartbeat = now
        try:
            self.node_file().parent.mkdir(exist_ok=True)
            write_json_atomic(self.node_file(), {
                "host": HOST, "gpu": self.gpu, "pid": os.getpid(), "updated_at": reports.iso(now_local()),
                "running": [display_name(n) for n in running], "speed": asdict(speed)})
        except OSError:
            pass

    def close(self) -> None:
        self.sidecars.close()
