"""The daemon: wires watch → queue → workers for every hot folder; signals, systemd notify,
status.json, notifications.

One main thread runs a loop of short ticks. Each tick, for each hot folder: check the share
is there (ROOT/.hotfolder), read PAUSE/STOP, rescan the inbox when a watch event or the
rescan timer says so, act on cancels, collect what the render processes reported, keep
leases fresh, take over jobs whose lease went stale; then claim jobs for free workers and
write sidecars and status.json. Watchdog observers only wake the loop early.
"""
from __future__ import annotations

import errno
import faulthandler
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from hotfolder import claims, reports
from hotfolder.claims import HOST
from hotfolder.config import Config, check_node, load_config
from hotfolder.decisions import stalled
from hotfolder.folder import HotFolder, Queued, Running, make_notifier, now_local, request_abort
from hotfolder.node import Node
from hotfolder.leasekeeper import LeaseKeeper
from hotfolder.jobs import media_problems, output_name
from hotfolder.queue import may_claim, split_job_name
from hotfolder.names import display_name
from hotfolder.vocabulary import AbortReason, FailureKind
from hotfolder.watch import FolderWatcher
from hotfolder.executor import Executor, RenderRequest
from hotfolder.local_executor import LocalExecutor

log = logging.getLogger(__name__)

TICK = 0.2                 # seconds between loop turns while something is going on
SHUTDOWN_SECONDS = 8.0     # SIGTERM: everything back in the inbox well within 10 s


# --- the daemon ------------------------------------------------------------------------------

class Daemon:
    def __init__(self, config: Config, *, config_path: Path | None = None, once: bool = False,
                 gpu: int | None = None, log_format: str = "text", verbose: bool = False) -> None:
        self.config = config
        self.config_path = config_path
        self.once = once
        self.gpu = gpu
        self.log_format, self.verbose = log_format, verbose
        self.node = Node(config, gpu)
        self.wake = self.node.wake_event
        self.lease = self.node.lease
        self.running: list[Running] = self.node.running
        self.roots = [HotFolder(self.node, h) for h in config.hotfolders]
        self.shutdown_at: float | None = None
        self.reload_requested = False
        self.executor: Executor = LocalExecutor(config.abort_grace_seconds)
        self.systemd = _systemd()
        self.last_watchdog = -1e9
        self.last_sd_status = ""
        self.leases = LeaseKeeper()

    # -- signals

    def install_signals(self) -> None:
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1` prints where every thread is
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _on_term(self, signum: int, frame: Any) -> None:
        if self.shutdown_at is None:
            self.shutdown_at = time.monotonic()
        self.wake.set()

    def _on_hup(self, signum: int, frame: Any) -> None:
        self.reload_requested = True
        self.wake.set()

    def reload(self) -> None:
        self.reload_requested = False
        if self.config_path is None:
            log.info("SIGHUP: no config file to reload")
            return
        try:
            new = load_config(self.config_path)
        except ValueError as exc:
            log.error("SIGHUP: config not reloaded: %s", exc)
            return
        problems = check_node(new, self.gpu, roots_may_wait=True)   # an encoder that does not open here…
        if problems:
            log.error("SIGHUP: config not reloaded: %s", "; ".join(problems))
            return
        self.node.held = None   # a reload (a fixed driver, a new config) tries rendering again at once
        self._notify_sd("RELOADING=1")
        old = self.config
        self.config = self.node.config = new
        kept: list[HotFolder] = []
        for h in new.hotfolders:
            existing = next((r for r in self.roots if r.cfg.root == h.root), None)
            if existing is None:
                kept.append(HotFolder(self.node, h))
                continue
            existing.cfg = h
            existing.inbox.configure(h, new.settle_seconds, new.media_wait_seconds)
            existing.notifier.close(1.0)
            existing.notifier = make_notifier(new, h.root)
            if existing.watcher is not None and (new.watch, new.poll_interval) != (old.watch, old.poll_interval):
                existing.watcher.stop()
                existing.watcher = FolderWatcher(h.root, new.watch, new.poll_interval, existing._mark_dirty)
                existing.watcher.start()
            existing.dirty = True
            kept.append(existing)
        for r in self.roots:
            if r not in kept and not r.running:
                r.close()
        self.roots = kept
        log.info("configuration reloaded from %s", self.config_path)
        self._notify_sd("READY=1")

    # -- systemd

    def _notify_sd(self, text: str) -> None:
        if self.systemd is not None:
            try:
                self.systemd.notify(text)
            except Exception:
                pass

    def _systemd_tick(self, now: float) -> None:
        if self.systemd is None:
            return
        if now - self.last_watchdog >= 2.0:
            self.last_watchdog = now
            self._notify_sd("WATCHDOG=1")
            running = len(self.running)
            queued = sum(len(r.inbox.ordered()) for r in self.roots)
            text = f"STATUS={running} running, {queued} queued"
            if any(not r.share_ok for r in self.roots):
                text += "; a share is missing"
            if text != self.last_sd_status:
                self.last_sd_status = text
                self._notify_sd(text)

    # -- jobs

    def start(self, root: HotFolder, q: Queued) -> bool:
        attempts = q.attempts + 1
        problems = media_problems(q.cand, q.media, root.places.inbox, root.cfg.priorities)
        wj = claims.claim(root.places, q.cand, lease=self.lease, priority=q.priority, attempts=attempts,
                          media=[] if problems else q.media)
        root.inbox.forget(q.cand.key)
        if wj is None:
            return False
        stem = display_name(split_job_name(q.cand.name)[0])   # what is derived from a name is valid text
        if problems:   # nothing of another job's is taken along, moved or removed
            root.fail_before_start(wj, q, reports.human_error(FailureKind.MEDIA, "; ".join(problems)))
            return True
        if q.option_error:
            root.fail_before_start(wj, q, reports.human_error(FailureKind.SIDECAR, q.option_error))
            return True
        out_name = output_name(q.options.output, stem)
        wj.meta["output"] = out_name
        wj.save()
        project = wj.project
        if project is None:
            root.fail_before_start(wj, q, reports.human_error(
                FailureKind.BUNDLE, "it must hold exactly one project file (.kproj, .ass, .ssa, .lrc or UltraStar .txt) at its top"))
            return True
        wj.out_dir.mkdir(exist_ok=True)
        settings = root.settings_for(q.options)
        request = RenderRequest(name=wj.name, project=project, output=wj.out_dir / out_name,
                                poster=wj.out_dir / (split_job_name(out_name)[0] + ".jpg"), settings=settings,
                                log_path=wj.log_path, log_format=self.log_format, verbose=self.verbose)
        render = self.executor.start(request)
        r = Running(root=root, wj=wj, key=q.cand.key, priority=q.priority, attempts=attempts, options=q.options,
                    settings=settings, frames=q.frames, started_at=now_local(), render=render,
                    progress_at=time.monotonic())
        render.hold(root.paused)
        self.running.append(r)  # from here the loop owns it, whatever fails next
        self.leases.hold(wj.dir)
        wj.meta["worker"] = render.ident
        wj.meta["worker_pid"] = getattr(render, "pid", None)   # a local render's process (tests, people)
        wj.meta["started_at"] = reports.iso(r.started_at)
        try:
            wj.save()
        except OSError as exc:  # e.g. the share went away this moment: the render is tracked anyway
            log.warning("%s: cannot update job.json: %s", wj.name, exc)
        log.info("%s: started (priority %d, attempt %d, %s)", display_name(wj.name), q.priority, attempts, render.ident)
        root.write_sidecars(time.monotonic(), force=True)
        return True

    def poll(self, r: Running, now: float) -> bool:
        """Take what the render said; True once it has ended (its outcome in r.outcome)."""
        got = r.render.poll(now)
        if got.progress is not None:
            if _advanced(r.progress, got.progress):
                r.progress_at = now
            r.progress = got.progress
        if r.render.held:
            r.progress_at = now   # held by PAUSE (or a lost share): not stuck
        if r.abort_reason is None and stalled(progress_age=now - r.progress_at, paused=r.render.held,
                                              stall_seconds=self.config.stall_seconds):
            log.error("%s: no progress for %.0f s; stopping it", display_name(r.name), now - r.progress_at)
            request_abort(r, AbortReason.STALLED)
        if got.ended is not None:
            r.outcome = (got.ended, got.result)
        # once ended it stays ended: a finish put off (the share was away) is done on a later tick
        return r.outcome is not None

    # -- the loop

    def tick(self) -> None:
        now = time.monotonic()
        if self.reload_requested:
            self.reload()
        shutting = self.shutdown_at is not None
        for root in self.roots:
            ok = root.check_share(now)
            if not ok:
                for r in root.running:
                    r.render.hold(True)  # nothing can be written there: hold (and abort only at shutdown)
                    r.share_lost = True
                continue
            root.check_watcher()
            root.read_controls()
            # full rescans are paced by what they cost (a tenth of the time at most); jobs being
            # copied or just read are looked at on their own, a stat each
            since = now - root.last_scan
            if (root.dirty or root.inbox.gone) and since >= max(0.1, 10 * root.inbox.scan_cost) or \
                    since >= max(self.config.rescan_interval, 20 * root.inbox.scan_cost):
                root.rescan(now)
            else:
                if root.has_changes():
                    root.look_at_changes(now)
                if root.inbox.needs_look() and now - root.last_look >= 0.25:
                    root.relook(now)
            root.handle_cancels(now)
            for r in root.running:
                if root.stopped and r.abort_reason is None:
                    log.info("%s: STOP: aborting the render", r.name)
                    request_abort(r, AbortReason.STOP)
                r.render.hold(root.paused)
            if not shutting:
                root.check_work(now)
            root.heartbeat(now)
        if shutting:
            for r in self.running:
                request_abort(r, AbortReason.SHUTDOWN)
        for r in list(self.running):
            if self.poll(r, now):
                if not shutting and not r.root.check_share(now):
                    r.share_lost = True
                    continue  # act once the share is back
                self.running.remove(r)
                self.leases.release(r.wj.dir)
                try:
                    r.root.finish(r)
                except OSError as exc:
                    log.error("%s: could not file the result: %s; it will be taken back from work/", r.name, exc)
                    if exc.errno == errno.ENOSPC:
                        r.root.disk_full(f"{r.name} could not be filed")
                except Exception:  # a bug filing one job must not end the service
                    log.exception("%s: could not file the result; it will be taken back from work/", r.name)
        if not shutting:
            self.claim_free_workers()
        for root in self.roots:
            if root.share_ok:
                root.write_sidecars(now)
                root.write_status(now)
                root.check_drained(now)
        self._systemd_tick(now)

    def claim_free_workers(self) -> None:
        if not self.node.may_claim(time.monotonic()):
            return   # this machine cannot render now: the queue waits (status says why)
        while len(self.running) < self.config.workers:
            best: tuple[Any, HotFolder, Queued] | None = None
            for root in self.roots:
                if not may_claim(root.paused, root.stopped, root.share_ok, len(self.running), self.config.workers) \
                        or not root.disk_ok(time.monotonic()):
                    continue
                ordered = root.inbox.ordered()
                if ordered:
                    q = ordered[0]
                    rank = (q.priority, q.cand.mtime)
                    if best is None or rank < best[0]:
                        best = (rank, root, q)
            if best is None:
                return
            _, root, q = best
            try:
                self.start(root, q)
            except OSError as exc:
                log.error("%s: cannot start: %s", q.cand.key, exc)
                if exc.errno == errno.ENOSPC:
                    root.disk_full("no job can start")
                root.inbox.forget(q.cand.key)
                root.dirty = True
                return

    def idle_for_once(self) -> bool:
        if self.running:
            return False
        for root in self.roots:
            if not root.share_ok or not root.inbox.scanned_once:
                return False
            if root.inbox.pending() and not root.stopped:
                return False
            if root.batch_record is not None and root.batch_record.open and not root.stopped:
                return False   # the batch is closed (and told) before a one-off run ends
        return True

    def run(self) -> int:
        logging.getLogger("watchdog").setLevel(max(logging.INFO, logging.getLogger().level))  # its debug is per event
        for root in self.roots:
            root.check_share(time.monotonic())
            if root.share_ok:
                root.check_work(time.monotonic(), force=True)
            elif self.once:  # a one-off run cannot wait for a share: say what to do instead
                log.error("%s is not a hot folder (or its share is not mounted); create it with "
                          "`hotfolder init %s`", root.cfg.root, root.cfg.root)
                return 1
        self.install_signals()
        self._notify_sd("READY=1")
        log.info("hotfolder daemon on %s: %s (%d worker%s)", HOST, ", ".join(str(r.cfg.root) for r in self.roots),
                 self.config.workers, "" if self.config.workers == 1 else "s")
        try:
            failures = 0
            while True:
                try:
                    self.tick()
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("the main loop failed (%d in a row); going on", failures)
                    if failures == 3:
                        for root in self.roots:
                            root.notifier.daemon_error("the hotfolder main loop keeps failing; see the log")
                    time.sleep(min(5.0, failures))
                if self.shutdown_at is not None:
                    if not self.running:
                        break
                    if time.monotonic() - self.shutdown_at > SHUTDOWN_SECONDS:
                        for r in self.running:
                            r.render.kill()
                if self.once and self.idle_for_once():
                    log.info("--once: nothing queued or running; exiting")
                    break
                busy = self.running or any(root.inbox.needs_look() or root.dirty or root.has_changes() or root.claimable()
                                           for root in self.roots)
                self.wake.wait(TICK if busy or self.shutdown_at is not None else 1.0)
                self.wake.clear()
        finally:
            self.leases.close()
            self._notify_sd("STOPPING=1")
            self.node.stopped_for_good = self.shutdown_at is not None
            for root in self.roots:
                if root.share_ok:
                    root.history.merge(only_if_changed=True)  # what another node's write may have dropped
                    root.message = "the daemon is not running (it was shut down)" if self.shutdown_at is not None else None
                    root.write_status(time.monotonic(), force=True)
                root.close()
                root.notifier.close(2.0)
        return 0


def _advanced(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether a render's progress report says it moved on (a frame, or a new step)."""
    if before is None:
        return True
    return any(before.get(k) != after.get(k) for k in ("current_frame", "current_operation", "status"))


def _systemd() -> Any:
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    try:
        from sdnotify import SystemdNotifier
    except ImportError:
        return None
    return SystemdNotifier()
