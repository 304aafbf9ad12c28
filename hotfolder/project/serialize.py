"""A project as the stable JSON interface of `hotfolder inspect --json` (issue 2).

Schema (version 1; only additions are allowed, never renames):

    {"format": "kproj|ass|lrc|ultrastar", "title": str, "artist": str,
     "audio": path|null, "background": path|null, "video": path|null, "video_gap": seconds,
     "duration": seconds,
     "lines": [{"start", "end", "text", "singer", "style",
                "syllables": [{"text", "start", "end", "kind"}]}]}

Times are seconds rounded to the millisecond; lines are in time order. "background" is the
background image, or the background video when there is no image, or null.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hotfolder.project.model import Line, Project


def seconds(ms: int) -> float:
    """Integer ms as seconds; ms/1000 is the double nearest the 3-decimal value, so JSON prints it exactly."""
    return round(ms / 1000, 3)


def _path(p: Path | None) -> str | None:
    return str(p) if p is not None else None


def line_to_json(line: Line) -> dict[str, Any]:
    return {
        "start": seconds(line.start),
        "end": seconds(line.end),
        "text": line.text,
        "singer": line.singer,
        "style": line.style,
        "syllables": [
            {"text": s.text, "start": seconds(s.start), "end": seconds(s.end), "kind": s.kind}
            for s in line.syllables
        ],
    }


def project_to_json(project: Project) -> dict[str, Any]:
    media = project.media
    return {
        "format": project.format,
        "title": project.title,
        "artist": project.artist,
        "audio": _path(media.audio),
        "background": _path(media.background or media.video),
        "video": _path(media.video),
        "video_gap": seconds(media.video_gap),
        "duration": seconds(project.duration),
        "lines": [line_to_json(ln) for ln in project.sorted_lines()],
    }
