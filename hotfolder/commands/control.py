"""`hotfolder pause|resume|stop|start ROOT`, `hotfolder cancel ROOT JOB`, `hotfolder clear ROOT`.

These only create or delete the control files a person could create by hand (PAUSE, STOP,
<job>.cancel), so they work from any machine that sees the share; `clear` cancels every
queued job by creating their cancel files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotfolder.claims import Places, load_work_job
from hotfolder.decisions import cancel_targets
from hotfolder.jobs import cancel_name, scan_inbox
from hotfolder.names import display_name


def add_arguments_for(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="the hot folder")
    if name == "cancel":
        parser.add_argument("job", help="the job as status shows it: its path below inbox/ (high/song.ass), "
                                        "or its name when only one job has it")
    if name in ("cancel", "clear"):
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
        return _cancel(places, args)
    elif name == "clear":
        priorities = _priorities(places, args)
        if priorities is None:
            return 2
        jobs, _ = scan_inbox(places.inbox, priorities, 50)
        for cand in jobs:
            (cand.path.parent / cancel_name(cand.name)).touch()
        print(f"cancel requested for {len(jobs)} queued job(s)")
    return 0


def _priorities(places: Places, args: argparse.Namespace) -> dict[str, int] | None:
    """The priority subfolder names: the config's for this root when -c is given."""
    from hotfolder.config import DEFAULT_PRIORITIES

    priorities = dict(DEFAULT_PRIORITIES)
    if args.config:
        from hotfolder.config import ConfigError, load_config

        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            print(f"hotfolder: {exc}", file=sys.stderr)
            return None
        for h in cfg.hotfolders:
            if h.root.resolve() == places.root.resolve():
                priorities = dict(h.priorities)
    return priorities


def _running_keys(places: Places) -> list[str]:
    """Jobs being rendered, by their path below inbox/ (from work/<job>/job.json)."""
    keys = []
    try:
        dirs = [d for d in places.work.iterdir() if d.is_dir()]
    except OSError:
        return keys
    for d in dirs:
        wj = load_work_job(d)
        if wj is not None:
            keys.append(str(wj.meta.get("key") or wj.name))
    return keys


def _cancel(places: Places, args: argparse.Namespace) -> int:
    """A cancel file beside the one job named; none when no job or several match (exit 1)."""
    priorities = _priorities(places, args)
    if priorities is None:
        return 2
    request = args.job.strip().strip("/")
    if request.startswith("inbox/"):
        request = request[len("inbox/"):]
    queued, _ = scan_inbox(places.inbox, priorities, 50)
    keys = [c.key for c in queued] + _running_keys(places)
    targets = cancel_targets(request, keys)
    if len(targets) != 1:
        what = "no queued or running job is" if not targets else "several jobs are"
        print(f"hotfolder cancel: {what} named {display_name(request)!r}; nothing cancelled", file=sys.stderr)
        listed = targets or sorted(keys)
        if listed:
            print("jobs: " + ", ".join(display_name(k) for k in listed[:20]) + (" …" if len(listed) > 20 else ""),
                  file=sys.stderr)
        return 1
    key = targets[0]
    folder = (places.inbox / key).parent
    folder.mkdir(exist_ok=True)   # a priority folder emptied meanwhile: the daemon looks for it there
    (folder / cancel_name(key.rsplit("/", 1)[-1])).touch()
    print(f"cancel requested: {display_name(key)} (the daemon ends it as cancelled)")
    return 0
