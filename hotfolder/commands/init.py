"""`hotfolder init ROOT [--config FILE]`: create a hot folder (and optionally a config for it)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotfolder.claims import create_hotfolder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="the hot folder to create (inbox/ work/ done/ failed/ .hotfolder/)")
    parser.add_argument("--priorities", action="store_true",
                        help="also create the inbox subfolders urgent/ high/ normal/ low/")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="also write a config file for this hot folder (never overwrites)")


def config_text(root: Path) -> str:
    return (f"# written by `hotfolder init`; every key is explained in config.example.yaml\n"
            f"hotfolders:\n  - root: {str(root)!r}\n"
            f"settle_seconds: 2.0\nwatch: auto\nworkers: 1\n")


def run(args: argparse.Namespace) -> int:
    root = args.root.resolve()
    try:
        places = create_hotfolder(root)
        if args.priorities:
            for name in ("urgent", "high", "normal", "low"):
                (places.inbox / name).mkdir(exist_ok=True)
    except OSError as exc:
        print(f"hotfolder init: cannot create {root}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"hot folder ready: {root}")
    print(f"  drop projects into {places.inbox}/ (or a priority subfolder such as inbox/high/)")
    if args.config:
        if args.config.exists():
            print(f"hotfolder init: {args.config} exists; not overwritten", file=sys.stderr)
            return 1
        args.config.parent.mkdir(parents=True, exist_ok=True)
        args.config.write_text(config_text(root), encoding="utf-8")
        print(f"  config written: {args.config}")
        print(f"  start it with:  hotfolder run -c {args.config}")
    else:
        print(f"  start it with:  hotfolder run --root {root}")
    return 0
