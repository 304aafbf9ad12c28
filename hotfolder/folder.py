"""One hot folder as the daemon sees it: its share, controls, inbox queue (settle, sidecars),
cancels, leases and jobs left in work/, filing finished jobs, batch counts, and what people
read (progress sidecars, status.json).

The Daemon (hotfolder.daemon) owns the loop, the render processes and the signals; it calls
these methods each tick. Decisions are made by the pure helpers in queue.py, jobs.py and
reports.py; this module does the looking and the moving.
"""
from __future__ import annotations

import errno
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hotfolder import claims, recovery, reports
from hotfolder.atomic import dead_writer_temp, write_json_atomic
from hotfolder.claims import HOST, Places, WorkJob
from hotfolder.config import Config, HotfolderConfig
from hotfolder.batch import BatchRecord, SharedBatch, reports_in
from hotfolder.decisions import BatchAction, FinishAction, RenderOutcome, cancel_targets, decide_batch, decide_finish
from hotfolder.executor import Render
from hotfolder.inbox import Inbox, Queued, ScanChanges
from hotfolder.jobs import CANCEL_SUFFIX, JobOptions, cancel_name, progress_name
from hotfolder.names import display_name
from hotfolder.node import Node
from hotfolder.queue import Lease, Speed, lease_is_stale
from hotfolder.settings import RenderSettings
from hotfolder.history import History
from hotfolder.status_board import IDLE_STATUS_INTERVAL, FolderView, StatusBoard, now_local
from hotfolder.vocabulary import EVENT_FOR_STATE, AbortReason, FailureKind, JobState, RenderEnd
from hotfolder.watch import FolderWatcher
from hotfolder.worker import log_tail

log = logging.getLogger("hotfolder.daemon")  # one logger name for everything the daemon does

DRAIN_GRACE = 3.0         # seconds a root must stay idle before its batch is closed
CHANGED_PATHS_MAX = 500   # more changes than this at once: a full rescan is cheaper
SHARE_ALERT_SECONDS = 180.0
DISK_RETRY_BYTES = 1 << 20     # a full disk: claims resume once this much more space is free …
DISK_RETRY_SECONDS = 600.0     # … or after this long anyway (space may have been freed and used again)


def free_bytes(path: Path) -> int | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _NullNotifier:
    """Used only when hotfolder.notify cannot be imported: notifications are then off."""

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def make_notifier(config: Config, root: Path) -> Any:
    try:
        from hotfolder.notify import Notifier, parse_notify_config
    except ImportError:
        log.warning("notifications are not available in this build")
        return _NullNotifier()
    return Notifier.from_config(parse_notify_config(config.notify, "notify", base_dir=config.base_dir), root=root)


# --- per-job state ---------------------------------------------------------------------------

@dataclass
class Running:
    root: "HotFolder"
    wj: WorkJob
    key: str
    priority: int
    attempts: int
    options: JobOptions
    settings: RenderSettings
    frames: int | None
    started_at: datetime
    render: Render = None  # type: ignore[assignment]   # set by the daemon when it starts
    progress: dict[str, Any] | None = None
    progress_at: float = 0.0            # monotonic time the render last moved on (stall detection)
    outcome: tuple[str, dict[str, Any]] | None = None
    abort_reason: AbortReason | None = None
    share_lost: bool = False            # the share went away while it ran: a failure is not its fault
    sidecar: dict[str, Any] | None = None
    sidecar_at: float = -1e9

    @property
    def name(self) -> str:
        return self.wj.name


def request_abort(r: Running, reason: AbortReason) -> None:
    """Ask a render to stop. The first reason stands (a cancel is not turned into a STOP), except
    that a shutdown overrides a lost share: the job then goes back to the inbox either way."""
    if r.abort_reason is not None and reason is not AbortReason.SHUTDOWN:
        return
    if r.abort_reason is None or reason is AbortReason.SHUTDOWN and r.abort_reason is AbortReason.SHARE:
        r.abort_reason = reason
    r.render.abort(time.monotonic())


# --- one hot folder --------------------------------------------------------------------------

class HotFolder:
    def __init__(self, node: Node, cfg: HotfolderConfig) -> None:
        self.node = node
        self.cfg = cfg
        self.places = Places(cfg.root)
        self.share_ok = False
        self.share_lost_at: float | None = None
        self.share_alerted = False
        self.started_ok = False
        self.inbox = Inbox(self.places, cfg, settle_seconds=node.config.settle_seconds,
                           media_wait_seconds=node.config.media_wait_seconds, wake=node.wake)
        self.cancels: dict[Path, float] = {}
        self.paused = False
        self.stopped = False
        self.dirty = True
        self.last_scan = -1e9
        self.last_look = -1e9
        self._changed: set[Path] = set()     # paths the watcher named since the last look
        self._changed_lock = threading.Lock()
        self.last_work_check = -1e9
        self.last_history_merge = -1e9
        self.lease_seen: dict[str, tuple[float, float]] = {}
        self.batch = SharedBatch(self.places.marker)
        self.batch_record: BatchRecord | None = None   # the root's batch as last read
        self.idle_since: float | None = None           # when this node last saw the root go idle
        self.last_batch_look = -1e9
        self.history = History(self.places.marker, node.config.history)
        self.speed = Speed()
        self.board = StatusBoard(self.places, node.node_id, node.gpu)
        self.notifier = make_notifier(node.config, cfg.root)
        self.watcher: FolderWatcher | None = None
        self.message: str | None = None
        self.disk_hold: tuple[int | None, float] | None = None   # (free bytes, when): the disk was full

    # -- helpers

    @property
    def config(self) -> Config:
        return self.node.config

    @property
    def running(self) -> list[Running]:
        return [r for r in self.node.running if r.root is self]

    def _mark_dirty(self, paths: list[Path] | None = None) -> None:
        """Something changed in the folder. With the paths a watcher names, only those jobs are
        looked at; without (or with too many at once) the whole inbox is rescanned. Called from
        the watcher's thread."""
        with self._changed_lock:
            if paths is None or len(self._changed) > CHANGED_PATHS_MAX:
                self.dirty = True
            else:
                self._changed.update(paths)
        self.node.wake()

    def has_changes(self) -> bool:
        with self._changed_lock:
            return bool(self._changed)

    def look_at_changes(self, now: float) -> None:
        with self._changed_lock:
            paths, self._changed = self._changed, set()
        for p in paths:
            if p.name.endswith(".cancel"):
                if p.is_file() and not p.is_symlink():
                    self.cancels.setdefault(p, now)
                else:
                    self.cancels.pop(p, None)
        self._take(self.inbox.look_at(paths, now, self.settings_for), now)

    def trouble(self, message: str) -> None:
        """A daemon_error notification (at most hourly per kind)."""
        self.node.alert(self.notifier.daemon_error, message)

    def _load_state(self) -> None:
        """History and this node's measured speed, kept in .hotfolder/ across restarts."""
        self.history.load()
        self.speed = self.board.load_speed() or self.speed

    def heartbeat(self, now: float) -> None:
        self.board.heartbeat(now, [r.name for r in self.running], self.speed)

    # -- the share

    def check_share(self, now: float) -> bool:
        ok = self.places.marker.is_dir()
        if ok and not self.share_ok:
            if self.share_lost_at is not None:
                log.warning("%s: the share is back", self.cfg.root)
            self.share_ok, self.share_lost_at, self.share_alerted, self.message = True, None, False, None
            self.dirty = True
            self._on_share_back()
        elif not ok and (self.share_ok or self.share_lost_at is None):
            self.share_ok = False
            self.share_lost_at = now
            self.message = f"{self.places.marker} is missing: the share is not mounted; waiting, touching nothing"
            log.error("%s", self.message)
        if not ok and not self.share_alerted and self.share_lost_at is not None and now - self.share_lost_at > SHARE_ALERT_SECONDS:
            self.share_alerted = True
            self.notifier.daemon_error(f"{self.cfg.root}: the share has been missing for more than "
                                       f"{int(SHARE_ALERT_SECONDS // 60)} minutes")
        return ok

    def _on_share_back(self) -> None:
        if not self.started_ok:
            self.started_ok = True
            self._load_state()
        for p in (self.places.inbox, self.places.work, self.places.done, self.places.failed):
            try:
                p.mkdir(exist_ok=True)
            except OSError as exc:
                log.warning("%s: cannot create %s: %s", self.cfg.root, p.name, exc)
        self._sweep_temp_files()
        if self.watcher is None:
            self.watcher = FolderWatcher(self.cfg.root, self.config.watch, self.config.poll_interval, self._mark_dirty)
            self.watcher.start()
        elif not self.watcher.alive():
            self.watcher.start()

    def _sweep_temp_files(self) -> None:
        """Temp files of atomic writes whose writer on this host died halfway (kill -9)."""
        folders = [self.cfg.root, self.places.marker, self.places.marker / "nodes", self.places.done,
                   self.places.failed, *self.inbox.folders()]
        for folder in folders:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for n in names:
                if dead_writer_temp(n, pid_alive):
                    try:
                        (folder / n).unlink()
                        log.info("%s: removed %s, left by a writer that died", self.cfg.root, folder / n)
                    except OSError:
                        pass

    def check_watcher(self) -> None:
        if self.watcher is not None and not self.watcher.alive():
            log.warning("%s: the folder watcher stopped; restarting it", self.cfg.root)
            if not self.watcher.start() and self.watcher.failures == 5:
                self.notifier.daemon_error(f"{self.cfg.root}: the folder watcher died and cannot be restarted; "
                                           "rescanning every few seconds instead")

    # -- a full disk

    def disk_full(self, what: str) -> None:
        """No space left on the hot folder's disk: hold the queue (nothing can be written, and
        every job would fail the same way) until space is freed; tell people once."""
        if self.disk_hold is None:
            log.error("%s: the disk is full (%s); no job starts until space is freed", self.cfg.root, what)
        self.disk_hold = (free_bytes(self.cfg.root), time.monotonic())
        self.board.show_now()
        self.trouble(f"{self.cfg.root}: the disk is full; {what}; jobs wait in the queue "
                                  "until space is freed")

    def disk_ok(self, now: float) -> bool:
        if self.disk_hold is None:
            return True
        was, since = self.disk_hold
        free = free_bytes(self.cfg.root)
        grew = free is not None and (was is None or free >= was + DISK_RETRY_BYTES)
        if grew or now - since >= DISK_RETRY_SECONDS:
            log.info("%s: %s; the queue goes on", self.cfg.root,
                     f"{free // 1024} KiB free now" if grew else "trying again after a full disk")
            self.disk_hold = None
            self.board.show_now()
            return True
        return False

    def disk_message(self) -> str | None:
        if self.disk_hold is None:
            return None
        return ("The disk is full: no job starts until space is freed on the hot folder's disk; "
                "jobs wait in the queue.")

    # -- controls

    def read_controls(self) -> None:
        def exists(name: str) -> bool:
            return (self.cfg.root / name).exists() or (self.places.inbox / name).exists()

        paused, stopped = exists("PAUSE"), exists("STOP")
        if paused != self.paused:
            log.info("%s: %s", self.cfg.root, "PAUSE: no new jobs, running jobs hold" if paused else "resumed")
        if stopped != self.stopped:
            log.info("%s: %s", self.cfg.root, "STOP: running jobs go back to the inbox" if stopped else "STOP removed")
        self.paused, self.stopped = paused, stopped

    # -- the inbox

    def rescan(self, now: float) -> None:
        self.dirty = False
        with self._changed_lock:
            self._changed.clear()   # a full rescan sees them all
        self.last_scan = self.last_look = now
        self._take(self.inbox.rescan(now, self.settings_for), now)

    def relook(self, now: float) -> None:
        self.last_look = now
        self._take(self.inbox.relook(now, self.settings_for), now)

    def _take(self, changes: ScanChanges | None, now: float) -> None:
        """The batch and the cancels follow what the inbox saw."""
        if changes is None:
            return
        if changes.new:   # part of the root's batch from the moment it is seen, even while arriving
            self.batch_record = self.batch.ensure_open(now_local())
        if changes.cancels is None:
            return   # a look at a few jobs, not at the cancel files
        for p in changes.cancels:
            self.cancels.setdefault(p, now)
        for p in list(self.cancels):
            if p not in changes.cancels:
                del self.cancels[p]

    def settings_for(self, options: JobOptions) -> RenderSettings:
        base = self.node.base_settings()
        return base.updated(dict(options.render)) if options.render else base

    def claimable(self) -> bool:
        return not self.paused and not self.stopped and self.inbox.has_ready()

    # -- cancels

    def handle_cancels(self, now: float) -> None:
        """Each `.cancel` file ends the one job it names, queued or running now; one that names
        no job, or several, is removed at once (and logged), so it never cancels a later drop."""
        if not self.cancels:
            return
        running = {r.key: r for r in self.running}
        queued = {k: q for k, q in self.inbox.queued.items()}
        keys = [*running, *queued]
        for path in list(self.cancels):
            self.cancels.pop(path, None)
            if path.parent == self.cfg.root:   # ROOT/<name>.cancel: a bare name
                targets = cancel_targets(path.name[: -len(CANCEL_SUFFIX)], keys)
            else:                              # beside the job in the inbox (a long name's is shortened)
                targets = [k for k in keys if (self.places.inbox / k).parent == path.parent
                           and cancel_name(k.rsplit("/", 1)[-1]) == path.name]
            shown = display_name(str(path.relative_to(self.cfg.root)) if path.is_relative_to(self.cfg.root) else path.name)
            if len(targets) == 1 and targets[0] in running and running[targets[0]].abort_reason is None:
                log.info("%s: cancel requested (%s)", display_name(targets[0]), shown)
                request_abort(running[targets[0]], AbortReason.CANCEL)
            elif len(targets) == 1 and targets[0] in queued:
                self._cancel_queued(queued[targets[0]], f"Cancelled by {shown} before it started.")
            elif not targets:
                log.warning("%s names no queued or running job; removed", shown)
            else:
                log.warning("%s names several jobs (%s); removed, nothing cancelled: name one as "
                            "inbox/<folder>/<name>.cancel", shown, ", ".join(display_name(t) for t in targets))
            try:
                path.unlink()
            except OSError:
                pass

    def _cancel_queued(self, q: Queued, why: str) -> None:
        now = now_local()
        report = reports.final_report(name=q.cand.name, status=JobState.CANCELLED, priority=q.priority, started_at=None,
                                      finished_at=now, host=self.node.node_id, attempts=q.attempts, error=why)
        if claims.fail_from_inbox(self.places, q.cand, report, q.media) is not None:
            log.info("%s: cancelled", q.cand.key)
            self.inbox.forget(q.cand.key)
            self._finished(report, q.options.notify)

    # -- finishing

    def _finished(self, report: dict[str, Any], extra_urls: tuple[str, ...] | list[str]) -> None:
        """A job got its one report: history (which the root's batch counts), notification (the
        event follows its state)."""
        event = EVENT_FOR_STATE[JobState(report["status"])]
        self.history.add(report)
        getattr(self.notifier, event.value)(report, list(extra_urls))
        self.board.show_now()

    def check_drained(self, now: float) -> None:
        """The root's batch: open while any node has work here, closed (one batch_done, sent by
        whichever node wins the close) once the root stayed idle for DRAIN_GRACE seconds, so a
        report another node is writing this moment is counted."""
        if not self.share_ok or now - self.last_batch_look < 1.0:
            return   # batch.json is on the share: read once a second, not every tick
        self.last_batch_look = now
        try:
            in_work = any(not n.startswith(".") or n.startswith(recovery.RECOVER_PREFIX)
                          for n in os.listdir(self.places.work))
        except OSError:
            return
        record = self.batch.read()
        self.batch_record = record
        busy = self.inbox.pending() > 0 or in_work or bool(self.running)
        if busy:
            self.idle_since = None
        elif self.idle_since is None:
            self.idle_since = now
        action = decide_batch(busy=busy, batch_open=record is not None and record.open,
                              idle_for=now - self.idle_since if self.idle_since is not None else 0.0,
                              grace=DRAIN_GRACE)
        if action is BatchAction.OPEN:
            self.batch_record = self.batch.ensure_open(now_local())
        elif action is BatchAction.CLOSE and record is not None:
            wall = now_local()
            if not self.batch.try_close(record, wall):
                return   # another node closed it (and told people)
            self.history.merge()
            reports = reports_in(BatchRecord(record.id, record.started_at, wall), self.history)
            self.batch_record = self.batch.read()
            if reports:
                total = (wall - record.started_at).total_seconds()
                done = sum(1 for r in reports if r["status"] == JobState.DONE)
                log.info("%s: batch finished: %d done, %d not, in %.0f s", self.cfg.root, done, len(reports) - done,
                         total)
                self.notifier.batch_done(list(reports), total)
            self.board.show_now()

    # -- leases and jobs left in work/

    def check_work(self, now: float, force: bool = False) -> None:
        """Take back jobs whose lease went stale (a node or daemon that died)."""
        if not force and now - self.last_work_check < min(5.0, self.config.lease_seconds / 3):
            return
        self.last_work_check = now
        ours = {r.wj.dir.name for r in self.node.running}
        try:
            dirs = [p for p in self.places.work.iterdir() if p.is_dir() and p.name not in ours]
        except OSError:
            return
        present = set()
        for d in dirs:
            present.add(d.name)
            lease = claims.read_lease(d)
            try:
                mtime = (d / claims.LEASE).stat().st_mtime
            except OSError:
                try:
                    mtime = d.stat().st_mtime
                except OSError:
                    continue
            if lease is not None and lease.token == self.node.token:
                # ours, yet none of our renders runs it (filing it failed, or its start did)
                if self.disk_ok(now):
                    self._take_back(d, lease)
                continue
            prev = self.lease_seen.get(d.name)
            if prev is None or prev[0] != mtime:
                self.lease_seen[d.name] = (mtime, now)
                age = 0.0
            else:
                age = now - prev[1]
            if lease_is_stale(lease, age, self.config.lease_seconds, this_host=HOST, this_pid=os.getpid(),
                              this_token=self.node.token, pid_alive=pid_alive):
                self._take_back(d, lease)
        for name in list(self.lease_seen):
            if name not in present:
                del self.lease_seen[name]

    def _take_back(self, d: Path, lease: Lease | None) -> None:
        try:
            got = recovery.recover(self.places, d, lease, our_lease=self.node.lease, now=now_local(),
                                   max_attempts=self.config.max_attempts, log_lines=self.config.log_tail_lines, host=self.node.node_id,
                                   in_use=self.inbox.media_in_use)
        except OSError as exc:  # tried again at the next look at work/
            log.error("%s: cannot take back %s: %s", self.cfg.root, display_name(d.name), exc)
            if exc.errno == errno.ENOSPC:
                self.disk_full(f"{display_name(d.name)} could not be filed")
            return
        if got.returned is not None:
            path, attempts, why = got.returned
            self._queued_back(path, attempts, why, None)
        elif got.report is not None and got.already_recorded:
            self.history.add(got.report)  # the same report twice counts once
        elif got.report is not None:
            self._finished(got.report, [])

    def _return(self, wj: WorkJob, attempts: int, why: str | None) -> None:
        back = claims.return_to_inbox(self.places, wj)
        if back is not None:
            self._queued_back(back[1], attempts, why, wj.meta.get("priority"))

    def _queued_back(self, path: Path, attempts: int, why: str | None, priority: int | None) -> None:
        """A job put back in the inbox: its sidecar keeps the attempts counted so far."""
        try:
            write_json_atomic(path.parent / progress_name(path.name), reports.queued_sidecar(
                name=path.name, priority=priority or self.cfg.default_priority, position=0,
                expected_start=None, attempts=attempts, now=now_local(), last_error=why))
        except OSError:
            pass
        log.info("%s: back in the inbox (%s)", display_name(self.places.rel(path)), why or "returned")
        self._mark_dirty()

    # -- running jobs

    def finish(self, r: Running) -> None:
        """Act on a render process's outcome (called once it has ended); decisions.decide_finish
        says what it means."""
        end, data = r.outcome or (RenderEnd.CRASHED, {})
        failure = _failure_kind(data.get("kind")) if end == RenderEnd.FAILED else None
        decision = decide_finish(RenderOutcome(end=RenderEnd(end), failure=failure, abort=r.abort_reason,
                                               share_lost=r.share_lost, attempts=r.attempts,
                                               max_attempts=self.config.max_attempts))
        now = now_local()
        logs = log_tail(r.wj.log_path, self.config.log_tail_lines)
        common = dict(name=r.name, priority=r.priority, started_at=r.started_at, finished_at=now, host=self.node.node_id,
                      attempts=r.attempts, settings=_settings_json(r.settings))
        renderer = (r.progress or {}).get("renderer") or None
        action = decision.action
        if action is FinishAction.DELIVER:
            output = Path(data["output"])
            poster = Path(data["poster"]) if data.get("poster") else None
            stem, video, poster_dst = claims.deliver_done(self.places, r.wj, output, poster)
            report = reports.final_report(
                **common, status=JobState.DONE, frames=data.get("frames"), output=self.places.rel(video),
                poster=self.places.rel(poster_dst) if poster_dst else None, renderer=data.get("renderer") or None,
                encoder=data.get("encoder"), video_duration=data.get("duration"), log=logs,
                warnings=data.get("warnings") or ())
            # job.json says "delivered" by now: a crash from here on files it, never renders again
            claims.file_done(self.places, r.wj, stem, report, self.inbox.media_in_use)
            log.info("%s: done → %s", r.name, report["output"])
            w, h = r.settings.width, r.settings.height
            if data.get("frames") and data.get("elapsed"):
                self.speed = self.speed.updated(int(data["frames"]), w, h, (now - r.started_at).total_seconds())
            self._finished(report, r.options.notify)
            return
        if action in (FinishAction.REQUEUE, FinishAction.RETRY):
            why = None
            if decision.disk_full:
                why = "the disk is full: its video could not be written; it runs again once space is freed"
                self.disk_full(f"{r.name} could not write its video and went back to the queue")
            elif decision.node_trouble:
                said = reports.brief_error(str(data.get("error") or "the renderer cannot start"))
                why = f"this machine ({self.node.node_id}) cannot render now: {said}; it runs again later"
                self.node.hold_claims(said)
                self.trouble(f"{self.node.node_id}: cannot render, no job starts here for now; {said}")
            elif r.share_lost and r.abort_reason is None:
                why = "the share went away while it rendered"
            elif action is FinishAction.RETRY:
                why = f"render process ended unexpectedly ({_exit_words(r)})"
                log.error("%s: the render process ended unexpectedly (%s); trying again", r.name, _exit_words(r))
            if why and action is FinishAction.REQUEUE:
                log.warning("%s: %s; back in the queue", r.name, why)
            self._return(r.wj, r.attempts - (1 if action is FinishAction.REQUEUE else 0), why)
            return
        if action is FinishAction.CANCEL:
            report = reports.final_report(**common, status=JobState.CANCELLED, error="Cancelled while rendering.",
                                          log=logs, renderer=renderer)
            claims.file_failed(self.places, r.wj, report, self.inbox.media_in_use)
            log.info("%s: cancelled", r.name)
            self._finished(report, r.options.notify)
            return
        kind = decision.failure or FailureKind.BUG
        if kind is FailureKind.CRASH:
            error = reports.human_error(kind, f"{_exit_words(r)}, {r.attempts} attempts")
        elif kind is FailureKind.STALLED:
            error = reports.human_error(kind, f"no progress for {self.config.stall_seconds:.0f} s")
        else:
            # name files as the person dropped them, not by their place in work/
            said = str(data.get("error", "unknown error")).replace(str(r.wj.dir) + os.sep, "")
            error = reports.human_error(kind, said)
            if kind is FailureKind.RENDER and said.startswith("cannot start the renderer"):
                self.trouble(f"{HOST}: the renderer is unavailable; {said}")
        report = reports.final_report(**common, status=JobState.FAILED, error=error, log=logs, renderer=renderer)
        claims.file_failed(self.places, r.wj, report, self.inbox.media_in_use)
        log.error("%s: failed: %s", r.name, error)
        self._finished(report, r.options.notify)

    def fail_before_start(self, wj: WorkJob, q: Queued, error: str) -> None:
        report = reports.final_report(name=wj.name, status=JobState.FAILED, priority=q.priority, started_at=now_local(),
                                      finished_at=now_local(), host=self.node.node_id, attempts=q.attempts + 1, error=error)
        claims.file_failed(self.places, wj, report, self.inbox.media_in_use)
        log.error("%s: failed: %s", wj.name, error)
        self._finished(report, q.options.notify)

    # -- what people see

    def _running_media(self) -> list[Path]:
        """Media in the inbox that running jobs took along (left there until they are filed)."""
        out = []
        for r in self.running:
            origin = (self.places.inbox / str(r.wj.meta.get("key") or r.name)).parent
            for rel in r.wj.meta.get("media", []):
                try:
                    out.append((origin / rel).resolve())
                except (OSError, RuntimeError):
                    continue
        return out

    def write_sidecars(self, now: float, force: bool = False) -> None:
        self.board.write_running_sidecars(self.running, now, self.config.status_interval, force)

    def write_status(self, now: float, force: bool = False) -> None:
        c = self.config
        version = (self.inbox.order_version, len(self.inbox.queued), self.paused, self.stopped)
        if not force and not self.board.due(now, version, bool(self.running), c.status_interval):
            return
        if now - self.last_history_merge >= IDLE_STATUS_INTERVAL:
            self.last_history_merge = now
            self.history.merge(only_if_changed=True)   # what another node's write may have dropped
        view = FolderView(
            running=self.running, ordered=self.inbox.ordered(), arriving=self.inbox.arriving(),
            version=version,
            finished=reports_in(self.batch_record, self.history) if self.batch_record else [], speed=self.speed, paused=self.paused, stopped=self.stopped,
            stopped_for_good=self.node.stopped_for_good, share_ok=self.share_ok,
            message=self.message or self.disk_message() or self.node.hold_message(), history=list(self.history),
            settings_for=self.settings_for,
            workers=c.workers, rows=c.status_queue_rows, history_rows=c.history, status_interval=c.status_interval,
            ignored=[q.cand.key for q in self.inbox.ignored()], unused=self.inbox.unused(now, c.unused_after_seconds, self._running_media()))
        self.board.write_status(view, now, {r.wj.dir.name for r in self.node.running})

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.inbox.close()
        self.board.close()


def _failure_kind(value: Any) -> FailureKind:
    try:
        return FailureKind(value)
    except ValueError:
        return FailureKind.BUG


def _exit_words(r: Running) -> str:
    return r.render.exit_words() if r.render is not None else "never started"


def _settings_json(s: RenderSettings) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(s).items() if v is not None}
