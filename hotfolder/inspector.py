"""Reading queued projects off the control loop: which media each names and how many frames it
will have, parsed once per version of the file (path, size, mtime).

The control loop asks `get(key, signature, …)` and gets the answer when it is ready (None until
then). A background thread hands each project to a reader process of its own (spawned, memory
capped, killed when it takes too long, replaced when it dies): a 10 MB project costs the daemon
no CPU, no memory and no GIL, so leases, claims and status.json never wait, and an importer that
crashes or runs away on hostile input takes only its reader down.
"""
from __future__ import annotations

import heapq
import logging
import multiprocessing
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable

from hotfolder.settings import RenderSettings

log = logging.getLogger("hotfolder.daemon")


@dataclass(frozen=True)
class Inspection:
    media: tuple[Path, ...]        # what the project names (audio, background, video, fonts folder)
    frames: int | None             # None: it does not load, or its length is unknown
    error: str | None = None       # why it does not load (the render will say it again, in its report)
    not_a_project: bool = False    # a .txt that is no UltraStar song (notes.txt): no job at all


def inspect_project(project: Path | None, settings: RenderSettings) -> Inspection:
    """Load a project once: its media and its frame count. Never raises."""
    if project is None:
        return Inspection((), None, "no project file")
    from hotfolder.errors import ProjectError
    from hotfolder.export import frames_of
    from hotfolder.project import detect_format, load_project

    try:
        detect_format(project)
    except ProjectError as exc:   # notes beside the songs: never a job, never a failure
        return Inspection((), None, str(exc), not_a_project=True)
    try:
        p = load_project(project)
    except ProjectError as exc:
        return Inspection((), None, str(exc))
    except Exception as exc:  # an importer bug must not take the daemon down; the render reports it
        log.exception("loading %s failed", project)
        return Inspection((), None, f"{type(exc).__name__}")
    m = p.media
    media = tuple(Path(x) for x in (m.audio, m.background, m.video, m.fonts_dir) if x is not None)
    try:
        frames: int | None = frames_of(p, settings)
    except Exception as exc:  # a missing audio file, say: the render will say why
        log.debug("%s: cannot plan frames: %s", project, exc)
        frames = None
    return Inspection(media, frames)


READ_TIMEOUT = 120.0          # seconds one project may take to read before its reader is killed
READER_MEMORY = 4 << 30       # bytes of address space a reader may use (a YAML bomb stops here)


def _reader_main(conn: Any, parent: int) -> None:
    """The reader process: inspect what it is sent, until the pipe closes."""
    from hotfolder.worker import _die_with_parent

    _die_with_parent()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (READER_MEMORY, READER_MEMORY))
    except (ImportError, ValueError, OSError):
        pass
    logging.basicConfig(level=logging.WARNING)
    while os.getppid() == parent:
        try:
            project, settings = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = inspect_project(project, settings)
        except MemoryError:
            result = Inspection((), None, "too large to read")
        conn.send(result)


class _Reader:
    """One reader process, started when first needed and again after it died."""

    def __init__(self) -> None:
        self._mp = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Any = None

    def read(self, project: Path | None, settings: RenderSettings) -> Inspection:
        if self._proc is None or not self._proc.is_alive():
            self._start()
        try:
            self._conn.send((project, settings))
            if self._conn.poll(READ_TIMEOUT):
                return self._conn.recv()
            why = f"reading it took more than {READ_TIMEOUT:.0f} s"
        except (EOFError, OSError, BrokenPipeError):
            why = "its reader stopped (out of memory, or a crash)"
        log.warning("%s: %s", project, why)
        self.close()
        return Inspection((), None, why)

    def _start(self) -> None:
        self.close()
        here, there = self._mp.Pipe()
        self._proc = self._mp.Process(target=_reader_main, args=(there, os.getpid()), name="hotfolder reader",
                                      daemon=True)
        self._proc.start()
        there.close()
        self._conn = here

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
        if self._proc is not None:
            self._proc.join(1.0)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None


class Inspector:
    """A cache of inspections by (key, signature), filled by one background thread that reads
    the jobs nearest the front of the queue first (`rank`), so a long queue being read never
    delays the next claim. The thread is a daemon thread: a shutdown never waits for a parse.
    `in_process` reads in this process (tests, tools), not through a reader process."""

    def __init__(self, wake: Callable[[], None], *, in_process: bool = False) -> None:
        self._reader = None if in_process else _Reader()
        self._wake = wake
        self._cond = threading.Condition()
        self._done: dict[str, tuple[Hashable, Inspection]] = {}
        self._pending: dict[str, Hashable] = {}
        self._heap: list[tuple[Any, int, str, Hashable, Callable[[], Path | None], RenderSettings]] = []
        self._seq = 0
        self._fresh: set[str] = set()   # keys inspected since the loop last asked
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="inspect", daemon=True)
        self._thread.start()

    def get(self, key: str, signature: Hashable, project: Callable[[], Path | None],
            settings: RenderSettings, rank: Any = 0) -> Inspection | None:
        """The inspection of this version of the job, or None while it is being made."""
        with self._cond:
            done = self._done.get(key)
            if done is not None and done[0] == signature:
                return done[1]
            if self._pending.get(key) == signature:
                return None
            self._pending[key] = signature
            self._seq += 1
            heapq.heappush(self._heap, (rank, self._seq, key, signature, project, settings))
            self._cond.notify()
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                _, _, key, signature, project, settings = heapq.heappop(self._heap)
                if self._pending.get(key) != signature:
                    continue   # forgotten, or a newer version was asked for meanwhile
            try:
                path = project()
                result = self._reader.read(path, settings) if self._reader else inspect_project(path, settings)
            except Exception:  # never lose the loop's answer
                log.exception("inspecting %s failed", key)
                result = Inspection((), None, "cannot be inspected")
            with self._cond:
                if self._pending.get(key) == signature:
                    del self._pending[key]
                    self._done[key] = (signature, result)
                    self._fresh.add(key)
            self._wake()

    def take_fresh(self) -> list[str]:
        """Keys whose inspection finished since the last call."""
        with self._cond:
            fresh, self._fresh = list(self._fresh), set()
        return fresh

    def has_fresh(self) -> bool:
        with self._cond:
            return bool(self._fresh)

    def forget_except(self, keys: Iterable[str]) -> None:
        keep = set(keys)
        with self._cond:
            for d in (self._done, self._pending):
                for k in [k for k in d if k not in keep]:
                    del d[k]
            if len(self._heap) > 2 * len(self._pending) + 64:   # drop what nobody waits for any more
                self._heap = [e for e in self._heap if self._pending.get(e[2]) == e[3]]
                heapq.heapify(self._heap)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._reader is not None:
            self._reader.close()
