"""The executor seam: where a claimed job's render runs. The daemon owns the folder protocol
(claims, leases, filing, status); an executor only renders.

A render is asked for with a `RenderRequest` (plain data: paths in the job's work folder and
the settings) and followed through the `Render` handle it returns: `poll` reports progress
and, once, how it ended (a `RenderEnd` with the render's own words); `hold` pauses and
resumes it; `abort` asks it to stop and escalates to a kill when it does not. The local
executor (hotfolder.local_executor) runs each render in a process on this machine; a farm
executor (Dask) puts the same interface over render nodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hotfolder.settings import RenderSettings
from hotfolder.vocabulary import RenderEnd


@dataclass(frozen=True)
class RenderRequest:
    name: str                 # the job's name, for logs
    project: Path             # the project file in its work folder
    output: Path              # the video (out/ in the work folder)
    poster: Path | None
    settings: RenderSettings
    log_path: Path            # the job's log (its tail goes into the report)
    log_format: str = "text"
    verbose: bool = False


@dataclass
class RenderPoll:
    """What a render said since the last poll."""

    progress: dict[str, Any] | None = None          # the newest progress report, if any came
    ended: RenderEnd | None = None                  # set once, when it has ended
    result: dict[str, Any] = field(default_factory=dict)   # the render's own words (output, frames, error…)


class Render(Protocol):
    """One render under way."""

    @property
    def ident(self) -> str:
        """Where it runs, for logs and job.json (a pid, a worker name)."""

    def poll(self, now: float) -> RenderPoll:
        """Progress and, once, the end; never blocks."""

    def hold(self, paused: bool) -> None:
        """Pause (at the next frame) or resume."""

    @property
    def held(self) -> bool:
        """Whether it is held now."""

    def abort(self, now: float) -> None:
        """Ask it to stop; escalated by later polls if it does not."""

    def kill(self) -> None:
        """Stop it now, whatever it is doing."""

    def exit_words(self) -> str:
        """How it ended, in words ("signal 9", "exit code 1"), for a crash report."""


class Executor(Protocol):
    def start(self, request: RenderRequest) -> Render: ...

    def close(self) -> None: ...
