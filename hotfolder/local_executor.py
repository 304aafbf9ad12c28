"""The local executor: each render in its own process on this machine (multiprocessing
"spawn"), so a crash or a kill of a render never takes the daemon down, and STOP or cancel
can always end it. The process runs `worker.child_main`; it reports through a one-way pipe and
is steered through two events (pause, abort).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
from typing import Any

from hotfolder.executor import RenderPoll, RenderRequest
from hotfolder.vocabulary import RenderEnd
from hotfolder.worker import WorkerJob, child_main

log = logging.getLogger("hotfolder.daemon")

KILL_AFTER_TERMINATE = 2.0    # seconds between SIGTERM and SIGKILL of a render that will not stop


class LocalRender:
    def __init__(self, mp: Any, request: RenderRequest, abort_grace: float) -> None:
        self.name = request.name
        self.abort_grace = abort_grace
        self._recv, send = mp.Pipe(duplex=False)
        self._pause, self._abort = mp.Event(), mp.Event()
        job = WorkerJob(name=request.name, project=request.project, output=request.output, poster=request.poster,
                        settings=request.settings, log_path=request.log_path, log_format=request.log_format,
                        verbose=request.verbose)
        self.process = mp.Process(target=child_main, args=(job, send, self._pause, self._abort, os.getpid()),
                                  name=f"render {request.name}", daemon=True)
        self.process.start()
        send.close()
        self._abort_at: float | None = None
        self._terminated = False
        self._ended = False
        self._said: tuple[RenderEnd, dict[str, Any]] | None = None

    @property
    def ident(self) -> str:
        return f"pid {self.process.pid}"

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def hold(self, paused: bool) -> None:
        if paused:
            self._pause.set()
        else:
            self._pause.clear()

    @property
    def held(self) -> bool:
        return self._pause.is_set()

    def abort(self, now: float) -> None:
        if self._abort_at is None:
            self._abort_at = now
        self._abort.set()
        self._pause.clear()   # a held render must run on to its next checkpoint to stop

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def _drain(self) -> dict[str, Any] | None:
        """Read the pipe; the newest progress report, and the outcome kept once it came."""
        progress = None
        try:
            while self._recv.poll():
                kind, data = self._recv.recv()
                if kind == "progress":
                    progress = data
                else:
                    self._said = (RenderEnd(kind), data)
        except (EOFError, OSError, ValueError):
            pass
        return progress

    def poll(self, now: float) -> RenderPoll:
        if self._ended:
            return RenderPoll()
        progress = self._drain()
        if self._abort_at is not None and self.process.is_alive():
            waited = now - self._abort_at
            if waited > self.abort_grace + KILL_AFTER_TERMINATE:
                self.process.kill()
            elif waited > self.abort_grace and not self._terminated:
                log.warning("%s: the render did not stop within %.0f s; terminating it", self.name, self.abort_grace)
                self.process.terminate()
                self._terminated = True
        if self.process.is_alive():
            return RenderPoll(progress=progress)   # it ends when its process has: only then is out/ final
        self.process.join(0.1)
        progress = self._drain() or progress
        self._recv.close()
        self._ended = True
        end, result = self._said or (RenderEnd.CRASHED, {})   # no word at all: it crashed
        return RenderPoll(progress=progress, ended=end, result=result)

    def exit_words(self) -> str:
        code = self.process.exitcode
        return f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"


class LocalExecutor:
    """Render processes on this machine, one per job."""

    def __init__(self, abort_grace: float) -> None:
        self.mp = multiprocessing.get_context("spawn")
        self.abort_grace = abort_grace

    def start(self, request: RenderRequest) -> LocalRender:
        return LocalRender(self.mp, request, self.abort_grace)

    def close(self) -> None:
        pass
