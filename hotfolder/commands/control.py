"""`hotfolder pause|resume|stop|start ROOT`, `hotfolder cancel ROOT JOB`, `hotfolder clear ROOT`.

These only create or delete the control files a person could create by hand (PAUSE, STOP,
<job>.cancel), so they work from any machine that sees the share; `clear` cancels every
queued job by creating their cancel files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotfolder.claims import Places
from hotfolder.jobs import cancel_name, scan_inbox


def add_arguments_for(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="the hot folder")
    if name == "cancel":
        parser.add_argument("job", help="the job's file (or folder) name as dropped, e.g. song.ass")
    if name == "clear":
        parser.add_argument("-c", "--config", type=Path,
                            help="the daemon's config, for priority subfolder names other than urgent/high/normal/low")


def _places(root: Path) -> Places | None:
    places = Places(root)
    if not places.marker.is_dir():
        print(f"hotfolder: {root} is not a hot folder or its share is not mounted ({places.marker} is missing)",
              file=sys.stderr)
        return None
    return places


def _remove(places: Places, name: str) -> bool:
    removed = False
    for p in (places.root / name, places.inbox / name):
        try:
            p.unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed


def run_for(name: str, args: argparse.Namespace) -> int:
    places = _places(args.root)
    if places is None:
        return 1
    if name in ("pause", "stop"):
        control = name.upper()
        (places.root / control).touch()
        print(f"{control} created: {places.root / control}"
              + (" (no new jobs; running jobs hold)" if name == "pause" else " (running jobs go back to the inbox)"))
    elif name in ("resume", "start"):
        control = "PAUSE" if name == "resume" else "STOP"
        print(f"{control} removed" if _remove(places, control) else f"{control} was not set")
    elif name == "cancel":
        job = Path(args.job).name
        if not job or job.startswith("."):
            print(f"hotfolder cancel: {args.job!r} is not a job name", file=sys.stderr)
            return 2
        (places.inbox / cancel_name(job)).touch()
        print(f"cancel requested: {job} (the daemon ends it as cancelled)")
    elif name == "clear":
        from hotfolder.config import DEFAULT_PRIORITIES

        priorities = dict(DEFAULT_PRIORITIES)
        if args.config:
            from hotfolder.config import ConfigError, load_config

            try:
                cfg = load_config(args.config)
            except ConfigError as exc:
                print(f"hotfolder clear: {exc}", file=sys.stderr)
                return 2
            for h in cfg.hotfolders:
                if h.root.resolve() == places.root.resolve():
                    priorities = dict(h.priorities)
        jobs, _ = scan_inbox(places.inbox, priorities, 50)
        for cand in jobs:
            (cand.path.parent / cancel_name(cand.name)).touch()
        print(f"cancel requested for {len(jobs)} queued job(s)")
    return 0
