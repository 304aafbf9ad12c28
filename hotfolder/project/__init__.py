"""Project loading: detect the format of a file and hand it to that format's module."""
from __future__ import annotations

import importlib
from pathlib import Path

from hotfolder.errors import ProjectError
from hotfolder.project.limits import DEFAULT_LIMITS, Limits
from hotfolder.project.model import Project

PROJECT_SUFFIXES = {".kproj": "kproj", ".ass": "ass", ".ssa": "ass", ".lrc": "lrc", ".txt": "ultrastar"}


def detect_format(path: Path) -> str:
    """The format of a project file: by extension, and UltraStar by content for any text file."""
    fmt = PROJECT_SUFFIXES.get(path.suffix.lower())
    if fmt and fmt != "ultrastar":
        return fmt
    from hotfolder.project import ultrastar

    if ultrastar.looks_like_ultrastar(path):
        return "ultrastar"
    raise ProjectError(path, None, "not a project file: expected .kproj, .ass/.ssa, .lrc or an UltraStar .txt")


def load_project(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Load any supported project file into the model. Raises only ProjectError."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(path, None, "no such file")
    fmt = detect_format(path)
    module = importlib.import_module(f"hotfolder.project.{fmt}")
    try:
        return module.load(path, limits)
    except ProjectError:
        raise
    except RecursionError:
        raise ProjectError(path, None, "file is nested too deeply") from None
    except Exception as exc:  # a bug in an importer must still name the file
        raise ProjectError(path, None, f"cannot read project ({type(exc).__name__}: {exc})") from exc
