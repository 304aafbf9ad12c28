"""Project loading: detect the format of a file and hand it to that format's module."""
from __future__ import annotations

import importlib
from pathlib import Path

from hotfolder.errors import ProjectError, clip
from hotfolder.project.limits import DEFAULT_LIMITS, Limits, check_simultaneous
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
    """Load any supported project file into the model. Raises only ProjectError, also for a
    project without a single timed line of text (nothing to render)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise ProjectError(path, None, "no such file")
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise ProjectError(path, None, f"cannot read file: {exc.strerror or type(exc).__name__}") from None
    fmt = detect_format(path)
    module = importlib.import_module(f"hotfolder.project.{fmt}")
    try:
        project: Project = module.load(path, limits)
    except ProjectError:
        raise
    except RecursionError:
        raise ProjectError(path, None, "file is nested too deeply") from None
    except Exception as exc:  # a bug in an importer must still name the file
        raise ProjectError(path, None, f"cannot read project ({type(exc).__name__}: {clip(str(exc), 120)})") from exc
    if not has_timed_lines(project):
        # an empty render would be a silent or black video called "done"
        raise ProjectError(path, None, "no lyric lines with times: nothing to render")
    check_simultaneous([(ln.start, ln.end) for ln in project.lines], path, limits)
    return project


def has_timed_lines(project: Project) -> bool:
    """Whether anything would be shown: a line with text that lasts longer than no time."""
    return any(ln.end > ln.start and ln.text.strip() for ln in project.lines)
