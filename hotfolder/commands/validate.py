"""`hotfolder validate FILE...`: load each project and check the media it names.

Media must exist and be readable; audio and video must open with PyAV and hold a stream of
their kind (a quick probe: nothing is decoded but one frame of a background image); a fonts
folder must be a folder. `problems()` is the reusable core (the daemon may call it).
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from hotfolder.errors import ProjectError, brief
from hotfolder.project import load_project
from hotfolder.project.limits import DEFAULT_LIMITS, Limits
from hotfolder.project.model import Project

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="project file(s) to check")


def _source_line(source: Path, target: Path) -> int | None:
    """The line of the project file that names `target`, for messages (None if not named there).

    Projects do not keep where each media reference was written, so the file is searched:
    first for a line that ends with the name (`audio: song.ogg`, `#MP3:song.ogg`,
    `Audio File: song.ogg`, a trailing YAML comment ignored), then for any mention.
    """
    try:
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    name = target.name
    for number, line in enumerate(lines, 1):
        bare = re.sub(r"\s+#.*$", "", line).strip().strip("\"'").rstrip("/")
        if bare.endswith(name):
            return number
    for number, line in enumerate(lines, 1):
        if name in line:
            return number
    return None


def _probe(path: Path, want: str) -> str | None:
    """None when PyAV opens `path` and finds a `want` ("audio"/"video"/"image") stream, else the problem."""
    import av  # late: inspect and the importers do not need FFmpeg

    try:
        with av.open(str(path)) as container:
            if want == "audio":
                if not container.streams.audio:
                    return "has no audio stream"
            elif not container.streams.video:
                return "has no video stream"
            elif want == "image":
                next(container.decode(video=0))
    except StopIteration:
        return "has no picture in it"
    except Exception as exc:  # noqa: BLE001 - any failure to open is the file's problem
        return f"cannot be opened as {want} ({type(exc).__name__}: {exc})"
    return None


def _media_items(project: Project) -> list[tuple[str, Path, str]]:
    """(what, path, kind) for every media file or folder the project names."""
    m = project.media
    items: list[tuple[str, Path, str]] = []
    if m.audio:
        items.append(("audio", m.audio, "audio"))
    if m.background:
        items.append(("background image", m.background, "image"))
    if m.video:
        items.append(("background video", m.video, "video"))
    if m.fonts_dir:
        items.append(("fonts folder", m.fonts_dir, "folder"))
    render = project.render
    if isinstance(render.get("audio"), Path):
        items.append(("render audio", render["audio"], "audio"))
    if isinstance(render.get("fonts_dir"), Path):
        items.append(("render fonts folder", render["fonts_dir"], "folder"))
    bg = render.get("background")
    if isinstance(bg, str) and os.sep in bg:  # a resolved media path, not a colour
        items.append(("render background", Path(bg), "image"))
    return items


def check_media(project: Project) -> list[ProjectError]:
    out: list[ProjectError] = []
    source = project.source
    for what, path, kind in _media_items(project):
        line = _source_line(source, path)

        def problem(msg: str) -> None:
            out.append(ProjectError(source, line, f"{what} {brief(path.name)}: {msg}"))

        try:
            found = _media_problem(path, kind)
        except OSError as exc:  # e.g. a name too long for this filesystem: a problem, not a crash
            found = f"cannot be looked at ({exc.strerror or type(exc).__name__})"
        if found:
            problem(found)
    return out


def _media_problem(path: Path, kind: str) -> str | None:
    """What is wrong with one media file or folder (None: nothing)."""
    if kind == "folder":
        if not path.is_dir():
            return "no such folder" if not path.exists() else "is not a folder"
        return None
    if not path.exists():
        return f"does not exist (looked for {path})"
    if not path.is_file():
        return "is not a file"
    if not os.access(path, os.R_OK):
        return "is not readable"
    return _probe(path, kind)


def problems(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[ProjectError]:
    """Everything wrong with one project file and its media (empty: good to render)."""
    try:
        project = load_project(path, limits)
    except ProjectError as exc:
        return [exc]
    return check_media(project)


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        found = problems(path)
        if found:
            status = 1
            for exc in found:
                print(str(exc), file=sys.stderr)
        else:
            print(f"OK {path}")
    return status
