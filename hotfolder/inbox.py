"""One hot folder's inbox as the daemon knows it: the jobs waiting there, when each is ready,
its options and what its project names, and the claim order.

`rescan` looks at the folder (jobs.scan_inbox: listing and stat only), reads small sidecars,
asks the inspector (a background thread) what each project names, and decides readiness
with decisions.decide_ready. It reports what changed as a `ScanChanges` value; the hot folder
keeps the batch. Its cost follows the folder's size in stats, never in parsing.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable

from hotfolder import reports
from hotfolder.claims import Places
from hotfolder.config import HotfolderConfig
from hotfolder.decisions import Readiness, decide_ready
from hotfolder.inspector import Inspector
from hotfolder.jobs import (PROGRESS_SUFFIX, Candidate, JobOptions, SettleTracker, SidecarError, bundle_project,
                            candidate_at, job_parts, media_signature, output_name, parse_sidecar,
                            progress_name, restat, scan_inbox)
from hotfolder.names import display_name
from hotfolder.queue import QueueEntry, is_priority_folder, order_queue, split_job_name
from hotfolder.settings import RenderSettings

log = logging.getLogger("hotfolder.daemon")

SIDECAR_MAX_BYTES = 64 * 1024   # a job sidecar is a few lines; anything bigger is refused unread
MEDIA_KEY = "\0media"           # the settle tracker's key for the media a job names


@dataclass
class Queued:
    cand: Candidate
    first_seen: float
    ready: bool = False
    readiness: Readiness = Readiness.SETTLING
    media: list[Path] = field(default_factory=list)
    last_sig: Hashable = None           # the job file signature at the previous look
    inspected: bool = False             # `media` and `frames` are read from this version of it
    missing_since: float | None = None
    options: JobOptions = field(default_factory=JobOptions)
    option_error: str | None = None
    options_for: Hashable = None
    attempts: int = 0
    last_error: str | None = None
    frames: int | None = None
    sidecar_key: Any = None             # what its sidecar said (priority, attempts, expected start)
    sidecar_pos: int | None = None      # and the place it gave
    sidecar_at: float = -1e9

    @property
    def priority(self) -> int:
        return self.options.priority if self.options.priority is not None else self.cand.folder_priority


@dataclass
class ScanChanges:
    """What a rescan found that matters beyond the inbox."""

    new: list[str] = field(default_factory=list)           # keys seen for the first time
    removed: list[str] = field(default_factory=list)       # keys gone from the inbox (deleted, taken)
    frames: dict[str, int | None] = field(default_factory=dict)   # keys whose frame count became known
    cancels: list[Path] | None = None                      # `.cancel` files seen (a full rescan only)


class Inbox:
    def __init__(self, places: Places, cfg: HotfolderConfig, *, settle_seconds: float, media_wait_seconds: float,
                 wake: Callable[[], None]) -> None:
        self.places = places
        self.cfg = cfg
        self.media_wait_seconds = media_wait_seconds
        self.queued: dict[str, Queued] = {}
        self.settle = SettleTracker(settle_seconds)
        self.inspector = Inspector(wake)
        self.order_version = 0          # bumped whenever the claim order may have changed
        self._ordered: tuple[int, list[Queued]] = (-1, [])
        self.unsettled = 0              # queued jobs being copied or waiting for media: look again soon
        self.scanned_once = False
        self.scan_cost = 0.0            # seconds the last full rescan took (rescans are paced by it)
        self.gone = False               # a job vanished between two full rescans
        self.others: dict[str, tuple[Path, float]] = {}   # files that are no job: (path, first seen)
        self._unused: tuple[float, list[str]] = (-1e9, [])

    def configure(self, cfg: HotfolderConfig, settle_seconds: float, media_wait_seconds: float) -> None:
        self.cfg = cfg
        self.settle.settle_seconds = settle_seconds
        self.media_wait_seconds = media_wait_seconds

    def folders(self) -> list[Path]:
        """The inbox and its priority subfolders: where queued jobs and their sidecars live."""
        folders = [self.places.inbox]
        try:
            with os.scandir(self.places.inbox) as it:   # names first: no stat of 10,000 queued files
                folders += [Path(e.path) for e in it
                            if is_priority_folder(e.name, self.cfg.priorities) and e.is_dir(follow_symlinks=False)]
        except OSError:
            pass
        return folders

    # -- looking

    def rescan(self, now: float, settings_for: Callable[[JobOptions], RenderSettings]) -> ScanChanges | None:
        """Look at the whole inbox; None when it cannot be listed (the share went away)."""
        started = time.monotonic()
        self.gone = False
        others: list[tuple[str, Path]] = []
        try:
            found, cancels = scan_inbox(self.places.inbox, self.cfg.priorities, self.cfg.default_priority,
                                        {k: q.cand for k, q in self.queued.items()}, others)
        except OSError as exc:
            log.warning("%s: cannot list the inbox: %s", self.places.root, exc)
            return None
        try:
            cancels += [p for p in self.places.root.iterdir() if p.name.endswith(".cancel") and p.is_file()]
        except OSError:
            pass
        changes = ScanChanges(cancels=cancels)
        self.scanned_once = True
        seen = set()
        for cand in found:
            seen.add(cand.key)
            q = self.queued.get(cand.key)
            if q is not None and q.cand is cand and q.ready and not q.media:
                continue   # nothing changed and it names no media: nothing to decide again
            self._saw(cand, now, settings_for, changes)
        for key in list(self.queued):
            if key not in seen:
                self._gone(key, changes)
        self.others = {key: (path, self.others.get(key, (path, now))[1]) for key, path in others}
        self._count_unsettled()
        self.settle.forget_except([*seen, *(k + MEDIA_KEY for k in seen)])
        self.inspector.forget_except(seen)
        self._clean_orphan_sidecars()
        self.scan_cost = time.monotonic() - started
        return changes

    def relook(self, now: float, settings_for: Callable[[JobOptions], RenderSettings]) -> ScanChanges:
        """Look again at the jobs that are not ready (being copied, waiting for media) and at
        those whose project was just read: a stat each, not a scan of the whole inbox, so a file
        being copied next to 10,000 queued ones costs next to nothing."""
        changes = ScanChanges()
        keys = set(self.inspector.take_fresh())
        keys.update(k for k, q in self.queued.items() if q.readiness in (Readiness.SETTLING, Readiness.WAITING_MEDIA))
        for key in sorted(keys):
            q = self.queued.get(key)
            if q is None:
                continue
            cand = restat(q.cand)
            if cand is None:
                self.gone = True   # a full rescan tells what happened to it
                continue
            self._saw(cand, now, settings_for, changes)
        self._count_unsettled()
        return changes

    def look_at(self, paths: Iterable[Path], now: float,
                settings_for: Callable[[JobOptions], RenderSettings]) -> ScanChanges:
        """The jobs the watcher named (a drop, a rename, a deletion), each looked at alone: a
        new drop shows in status.json in about a second however long the queue is."""
        changes = ScanChanges()
        keys = {parts for p in paths
                if (parts := job_parts(self.places.inbox, p, self.cfg.priorities)) is not None}
        for parts in sorted(keys):
            cand = candidate_at(self.places.inbox, parts, self.cfg.priorities, self.cfg.default_priority)
            if cand is None:
                self._gone("/".join(parts), changes)
            else:
                self._saw(cand, now, settings_for, changes)
        self._count_unsettled()
        return changes

    def _saw(self, cand: Candidate, now: float, settings_for: Callable[[JobOptions], RenderSettings],
             changes: ScanChanges) -> None:
        """A job as it looks now: new to the queue, or looked at again."""
        q = self.queued.get(cand.key)
        if q is None:
            q = self.queued[cand.key] = Queued(cand, first_seen=now)
            self._read_progress_sidecar(q)
            changes.new.append(cand.key)
        elif cand.signature != q.cand.signature or cand.mtime != q.cand.mtime:
            self.order_version += 1
        q.cand = cand
        self._update(q, now, settings_for)

    def _gone(self, key: str, changes: ScanChanges) -> None:
        if self.queued.pop(key, None) is not None:
            self.order_version += 1
            changes.removed.append(key)

    def _count_unsettled(self) -> None:
        # jobs being read need no look until the inspector says it is done (take_fresh)
        self.unsettled = sum(1 for q in self.queued.values()
                             if q.readiness in (Readiness.SETTLING, Readiness.WAITING_MEDIA))

    def needs_look(self) -> bool:
        return bool(self.unsettled) or self.inspector.has_fresh()

    @staticmethod
    def _read_progress_sidecar(q: Queued) -> None:
        """Attempts counted so far live in the queued job's progress sidecar."""
        try:
            with open(q.cand.path.parent / progress_name(q.cand.name), "rb") as fh:
                d = json.loads(fh.read(SIDECAR_MAX_BYTES))
            q.attempts = int(d.get("attempts") or 0)
            q.last_error = reports.brief_error(d["last_error"]) if d.get("last_error") else None
        except (OSError, ValueError, TypeError, AttributeError):
            pass

    def _update(self, q: Queued, now: float, settings_for: Callable[[JobOptions], RenderSettings]) -> None:
        """Look at a queued job again: settle, sidecar, what its project names (read on the
        inspector's thread, never here), then decisions.decide_ready."""
        cand = q.cand
        # the sidecar is read once the job looks the same twice (not while it is being copied)
        if cand.signature == q.last_sig and q.options_for != cand.signature:
            q.options_for = cand.signature
            q.options, q.option_error = read_options(cand)
            self.order_version += 1   # its priority may come from the sidecar
        q.last_sig = cand.signature
        info = None
        if q.options_for == cand.signature:
            version = (cand.signature, q.options.render.get("fps"), q.options.render.get("tail_ms"))
            info = self.inspector.get(cand.key, version, partial(_project_of, cand), settings_for(q.options),
                                      rank=(q.priority, cand.mtime, cand.key))   # the front of the queue first
        q.inspected = info is not None
        if info is not None:
            q.media = list(info.media) if not cand.bundle else []
            q.frames = info.frames
        # the job (with its sidecar) settles on its own; media it names once they are known
        settled = self.settle.observe(cand.key, cand.signature, now)
        media_sig = media_signature(q.media)
        if info is not None and q.media:
            settled = self.settle.observe(cand.key + MEDIA_KEY, media_sig, now) and settled
        missing = [m for m, (_, sig) in zip(q.media, media_sig) if sig is None] if settled else []
        if settled and missing:
            q.missing_since = q.missing_since if q.missing_since is not None else now
            if q.missing_since == now:
                log.info("%s: waiting up to %.0f s for %s", display_name(cand.key), self.media_wait_seconds,
                         ", ".join(display_name(m.name) for m in missing))
        else:
            q.missing_since = None
        readiness = decide_ready(settled=settled, media_known=info is not None, missing_media=bool(missing),
                                 missing_for=now - q.missing_since if q.missing_since is not None else 0.0,
                                 media_wait_seconds=self.media_wait_seconds,
                                 not_a_project=info is not None and info.not_a_project)
        ready = readiness is Readiness.READY
        if readiness is Readiness.IGNORED and q.readiness is not Readiness.IGNORED:
            log.info("%s: not a project (%s); ignored", display_name(cand.key), info.error if info else "")
        q.readiness = readiness
        if ready and not q.ready:
            log.info("%s: queued (priority %d)", display_name(cand.key), q.priority)
        if ready != q.ready:
            self.order_version += 1
        q.ready = ready

    def _clean_orphan_sidecars(self) -> None:
        """Progress sidecars in the inbox whose job was deleted or taken."""
        for folder in self.folders():
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            jobs = {progress_name(n) for n in names if not n.endswith(PROGRESS_SUFFIX)}
            for n in names:
                if n.endswith(PROGRESS_SUFFIX) and not n.startswith(".") and n not in jobs:
                    try:
                        (folder / n).unlink()
                    except OSError:
                        pass

    # -- the queue

    def ordered(self) -> list[Queued]:
        """The ready jobs in claim order (queue.order_queue), sorted again only when something
        that decides the order changed: with 10,000 queued jobs a sort per tick would show."""
        version, cached = self._ordered
        if version == self.order_version:
            return list(cached)
        ready = {q.cand.key: q for q in self.queued.values() if q.ready}
        entries = [QueueEntry(k, q.cand.name, q.priority, q.cand.mtime) for k, q in ready.items()]
        result = [ready[e.key] for e in order_queue(entries)]
        self._ordered = (self.order_version, result)
        return list(result)

    def pending(self) -> int:
        """Jobs waiting in the inbox, ready or not (files found to be no project do not count)."""
        return sum(1 for q in self.queued.values() if q.readiness is not Readiness.IGNORED)

    def ignored(self) -> list[Queued]:
        return sorted((q for q in self.queued.values() if q.readiness is Readiness.IGNORED), key=lambda q: q.cand.key)

    def has_ready(self) -> bool:
        return bool(self.ordered())

    def arriving(self) -> list[Queued]:
        """Jobs seen but not ready yet (being copied, being read, waiting for media), oldest first."""
        return sorted((q for q in self.queued.values() if not q.ready and q.readiness is not Readiness.IGNORED),
                      key=lambda q: (q.first_seen, q.cand.key))

    def forget(self, key: str) -> None:
        """A job left the inbox through us (claimed, cancelled)."""
        if self.queued.pop(key, None) is not None:
            self.order_version += 1

    def unused(self, now: float, after: float, also_named: Iterable[Path] = ()) -> list[str]:
        """Files in the inbox that no queued project names, seen for `after` seconds or more:
        listed for people (never deleted). Worked out at most every half minute, and only
        when every queued project has been read."""
        at, cached = self._unused
        if now - at < min(30.0, after):
            return cached
        if any(not q.inspected for q in self.queued.values() if not q.cand.bundle):
            return cached
        named = {m for q in self.queued.values() for m in q.media} | set(also_named)
        unused = []
        for key, (path, seen) in sorted(self.others.items()):
            if now - seen < after:
                continue
            try:
                if path.resolve() in named:
                    continue
            except (OSError, RuntimeError):
                continue
            unused.append(key)
        self._unused = (now, unused)
        return unused

    def media_in_use(self, target: Path) -> bool:
        """Whether a queued job names this file: from what the inspector read of each project,
        so finishing a job never reads the other 10,000 queued projects; a project not read yet
        is searched for the file's name."""
        try:
            real = target.resolve()
        except (OSError, RuntimeError):
            return True
        needle = os.fsencode(target.name)
        for q in self.queued.values():
            if q.cand.bundle:
                continue
            if q.inspected:
                if real in q.media:
                    return True
            elif q.cand.path.parent == target.parent and _mentions(q.cand.path, needle):
                return True
        return False

    def close(self) -> None:
        self.inspector.close()


def read_options(cand: Candidate) -> tuple[JobOptions, str | None]:
    """A job's sidecar, read bounded: (options, None) or (defaults, why it cannot be used)."""
    sidecar = cand.options_file()
    if sidecar is None:
        return JobOptions(), None
    try:
        with open(sidecar, "rb") as fh:
            data = fh.read(SIDECAR_MAX_BYTES + 1)
        if len(data) > SIDECAR_MAX_BYTES:
            return JobOptions(), f"{display_name(sidecar.name)}: larger than {SIDECAR_MAX_BYTES // 1024} KB"
        options = parse_sidecar(data.decode("utf-8", "replace"), display_name(sidecar.name))
        output_name(options.output, split_job_name(cand.name)[0])
        return options, None
    except (SidecarError, ValueError, OSError) as exc:
        return JobOptions(), reports.brief_error(str(exc))


def _mentions(path: Path, needle: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return needle in fh.read(2_000_000)
    except OSError:
        return False


def _project_of(cand: Candidate) -> Path | None:
    return bundle_project(cand.path) if cand.bundle else cand.path
