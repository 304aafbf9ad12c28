"""The one exception type for bad input, and its friends."""
from __future__ import annotations

from pathlib import Path


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


class ExportAborted(Exception):
    """Raised from ExportControl.checkpoint() when a running export must stop (STOP, cancel, SIGTERM)."""

    def __init__(self, reason: str = "stopped") -> None:
        self.reason = reason
        super().__init__(reason)
