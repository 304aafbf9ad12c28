"""The one exception type for bad input, and its friends."""
from __future__ import annotations

import reprlib
from pathlib import Path


def brief(value: object, limit: int = 40) -> str:
    """A value read from a file, for a message: its repr, on one line, about `limit` characters.

    Messages land in reports and status files that anyone on the share reads; a hostile
    or huge value must never be copied in whole. Short values come out exactly as repr().
    """
    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = limit
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = r.maxfrozenset = r.maxdeque = r.maxarray = 4
    r.maxlevel = 2
    return clip(r.repr(value), limit + 10)


def clip(text: str, limit: int = 80) -> str:
    """Free text (a key, a name, a parser's complaint) for a one-line message: control
    characters escaped, cut to `limit` characters with … marking the cut."""
    flat = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return flat if len(flat) <= limit and len(text) <= limit else flat[: limit - 1] + "…"


class ProjectError(Exception):
    """Bad input in a project file: names the file, the line (1-based, or None) and the problem.

    Importers raise only this; anything else escaping an importer is a bug.
    """

    def __init__(self, file: str | Path | None, line: int | None, message: str) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


class RenderError(Exception):
    """Rendering or encoding could not be done (GL, fonts, encoder, media)."""


class NodeError(RenderError):
    """This machine cannot render at all (no GL context on its GPU, no font): not the job's
    fault. The daemon puts the job back and holds its queue instead of failing every job."""


class ExportAborted(Exception):
    """Raised from ExportControl.checkpoint() when a running export must stop (STOP, cancel, SIGTERM)."""

    def __init__(self, reason: str = "stopped") -> None:
        self.reason = reason
        super().__init__(reason)
