"""`hotfolder inspect FILE... [--json]`: the normalized project, as JSON or a readable summary."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hotfolder.errors import ProjectError
from hotfolder.project import load_project
from hotfolder.project.model import Project
from hotfolder.project.serialize import project_to_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="project file(s): .kproj, .ass/.ssa, .lrc or UltraStar .txt")
    parser.add_argument("--json", action="store_true",
                        help="print the stable JSON form (one object; a list of objects for several files)")


def clock(ms: int) -> str:
    """mm:ss.mmm, or h:mm:ss.mmm from an hour on."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, frac = divmod(rest, 1000)
    if h:
        return f"{sign}{h}:{m:02d}:{s:02d}.{frac:03d}"
    return f"{sign}{m:02d}:{s:02d}.{frac:03d}"


def summary(project: Project, name: str) -> str:
    media = project.media
    n_syll = sum(len(ln.syllables) for ln in project.lines)
    rows = [
        name,
        f"  title:      {project.title or '-'}",
        f"  artist:     {project.artist or '-'}",
        f"  format:     {project.format}",
        f"  audio:      {media.audio or '-'}",
        f"  background: {media.background or '-'}",
    ]
    if media.video:
        gap = f" (starts {media.video_gap / 1000:+.3f} s)" if media.video_gap else ""
        rows.append(f"  video:      {media.video}{gap}")
    if media.fonts_dir:
        rows.append(f"  fonts:      {media.fonts_dir}")
    rows.append(f"  duration:   {clock(project.duration)}")
    rows.append(f"  lines:      {len(project.lines)}, syllables: {n_syll}")
    for ln in project.sorted_lines():
        who = f"{ln.singer}: " if ln.singer else ""
        text = " / ".join(ln.text.splitlines())  # one row per line, even with \N breaks
        rows.append(f"  [{clock(ln.start)} → {clock(ln.end)}] {who}{text}")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    status = 0
    objects = []
    for i, path in enumerate(args.files):
        try:
            project = load_project(path)
        except ProjectError as exc:
            print(str(exc), file=sys.stderr)
            status = 1
            continue
        if args.json:
            objects.append(project_to_json(project))
        else:
            if i:
                print()
            print(summary(project, str(path)))
    if args.json and objects:
        out = objects[0] if len(args.files) == 1 else objects
        print(json.dumps(out, indent=2, ensure_ascii=False))
    return status
