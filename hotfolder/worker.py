"""One job in a child process: the GL context lives here, so a crash or a kill of the render
cannot take the daemon down, and STOP/cancel can always end it.

The local executor (local_executor.py) starts `child_main` with the multiprocessing "spawn" context and talks to it
through a one-way pipe (child → daemon: progress and the outcome) and two events
(daemon → child: pause, abort). The outcome is one message:
    (RenderEnd.DONE, {...ExportResult...}) | (RenderEnd.FAILED, {"kind": FailureKind, "error"}) | (RenderEnd.ABORTED, {"reason"})
"""
from __future__ import annotations

import ctypes
import errno
import logging
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from hotfolder import failpoints
from hotfolder.settings import RenderSettings
from hotfolder.vocabulary import FailureKind, RenderEnd

log = logging.getLogger("hotfolder.worker")

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerJob:
    name: str
    project: Path
    output: Path
    poster: Path | None
    settings: RenderSettings
    log_path: Path
    log_format: str = "text"
    verbose: bool = False
    media_roots: tuple[Path, ...] = field(default_factory=tuple)


class Control:
    """ExportControl over the daemon's events; also aborts when the daemon is gone."""

    def __init__(self, pause: Any, abort: Any, parent_pid: int) -> None:
        self.pause, self.abort, self.parent_pid = pause, abort, parent_pid

    def _check(self) -> None:
        from hotfolder.errors import ExportAborted

        if self.abort.is_set():
            raise ExportAborted("aborted by the daemon")
        if os.getppid() != self.parent_pid:
            raise ExportAborted("the daemon is gone")

    def checkpoint(self) -> None:
        self._check()
        while self.pause.is_set():
            time.sleep(0.05)
            self._check()


def _die_with_parent() -> None:
    """Ask Linux to kill us when the daemon dies (kill -9 included), so no orphan keeps
    rendering a job that the next daemon will take again."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _setup_logging(job: WorkerJob) -> None:
    from hotfolder.logs import configure

    configure(logging.DEBUG if job.verbose else logging.INFO, job.log_format)
    handler = logging.FileHandler(job.log_path, encoding="utf-8", errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logging.getLogger().addHandler(handler)


def child_main(job: WorkerJob, conn: Any, pause: Any, abort: Any, parent_pid: int) -> None:
    _die_with_parent()
    if os.getppid() != parent_pid:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the daemon's to handle
    outcome: tuple[RenderEnd, dict[str, Any]]
    try:
        _setup_logging(job)
    except OSError as exc:  # its work folder vanished (the share went away) or cannot be written
        outcome = (RenderEnd.FAILED, {"kind": FailureKind.DISK_FULL if _disk_full(exc) else FailureKind.RENDER,
                              "error": f"cannot write the job's log: {exc}"})
        log.error("%s", outcome[1]["error"])
    else:
        try:
            outcome = (RenderEnd.DONE, _run(job, conn, Control(pause, abort, parent_pid)))
        except BaseException as exc:  # every way out is reported; the daemon decides what it means
            outcome = _classify(exc)
            if outcome[0] == RenderEnd.FAILED:
                log.error("%s", outcome[1]["error"])
                if outcome[1]["kind"] == FailureKind.BUG:
                    log.error("%s", "".join(traceback.format_exception(exc)).rstrip())
            else:
                log.info("render aborted")
    try:
        conn.send(outcome)
        conn.close()
    except (OSError, ValueError):
        pass
    logging.shutdown()


def _run(job: WorkerJob, conn: Any, control: Control) -> dict[str, Any]:
    from hotfolder.export import export
    from hotfolder.project.limits import Limits

    log.info("job %s: rendering %s", job.name, job.project.name)
    if failpoints.armed("render.start"):   # tests: a machine whose renderer cannot start
        from hotfolder.errors import NodeError

        raise NodeError("cannot create a headless OpenGL context (failpoint render.start)")

    def on_progress(p: Any) -> None:
        try:
            conn.send(("progress", p.to_json()))
        except OSError:  # the daemon is gone (kill -9): the next checkpoint ends the render
            pass
        failpoints.hit("render.progress")

    result = export(job.project, job.output, job.settings, on_progress=on_progress, control=control,
                    poster=job.poster, limits=Limits(media_roots=job.media_roots))
    log.info("job %s: %d frames, %.1f s of video in %.1f s (%s, %s)", job.name, result.frames,
             result.duration, result.elapsed, result.encoder, result.renderer)
    return {"output": str(result.output), "frames": result.frames, "duration": result.duration,
            "renderer": result.renderer, "encoder": result.encoder, "elapsed": result.elapsed,
            "poster": str(result.poster) if result.poster else None, "warnings": list(result.warnings)}


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what caused it (export wraps what it catches, the encoder `from None`s)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _disk_full(exc: BaseException) -> bool:
    """Whether the render failed because the disk (or the quota) is full. The encoder wraps
    the OSError in its own message (`from None`), so the words count as well as the errno."""
    texts = [os.strerror(e).lower() for e in _NO_SPACE]
    return any(getattr(e, "errno", None) in _NO_SPACE or any(t in str(e).lower() for t in texts)
               for e in _chain(exc))


def _in_chain(exc: BaseException, kind: type) -> BaseException | None:
    """The first exception of `kind` among `exc` and its causes."""
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _classify(exc: BaseException) -> tuple[RenderEnd, dict[str, Any]]:
    from hotfolder.errors import ExportAborted, NodeError, ProjectError, RenderError

    if isinstance(exc, ExportAborted):
        return RenderEnd.ABORTED, {"reason": exc.reason}
    if not isinstance(exc, ProjectError) and _disk_full(exc):
        return RenderEnd.FAILED, {"kind": FailureKind.DISK_FULL, "error": str(exc)}  # not the job's fault: the daemon retries
    node = _in_chain(exc, NodeError)
    if node is not None:   # this machine cannot render: the daemon holds its queue
        return RenderEnd.FAILED, {"kind": FailureKind.NODE, "error": str(node)}
    if isinstance(exc, ProjectError):
        return RenderEnd.FAILED, {"kind": FailureKind.PROJECT, "error": str(exc)}
    if isinstance(exc, RenderError):
        return RenderEnd.FAILED, {"kind": FailureKind.RENDER, "error": str(exc)}
    if isinstance(exc, MemoryError):
        return RenderEnd.FAILED, {"kind": FailureKind.RENDER, "error": "out of memory"}
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return RenderEnd.ABORTED, {"reason": type(exc).__name__}
    return RenderEnd.FAILED, {"kind": FailureKind.BUG, "error": f"{type(exc).__name__}: {exc}"}


def log_tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a job's log (for its final report)."""
    if lines <= 0:
        return []
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [ln for ln in text.splitlines() if ln.strip()][-lines:]


if __name__ == "__main__":  # pragma: no cover - not an entry point; the daemon spawns child_main
    sys.exit("hotfolder.worker is started by `hotfolder run`")
