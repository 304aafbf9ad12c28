"""`hotfolder init ROOT [--config FILE]`: create a hot folder (and optionally a config for it)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hotfolder import boundedyaml
from hotfolder.claims import create_hotfolder
from hotfolder.config import parse_config
from hotfolder.errors import ProjectError


def load_config_text(text: str) -> None:
    parse_config(boundedyaml.load(text, "<config>"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="the hot folder to create (inbox/ work/ done/ failed/ .hotfolder/)")
    parser.add_argument("--priorities", action="store_true",
                        help="also create the inbox subfolders urgent/ high/ normal/ low/")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="also write a config file for this hot folder (never overwrites)")
    parser.add_argument("--size", metavar="WxH", help="video size written into that config (default 1920x1080)")
    parser.add_argument("--fps", type=int, help="frame rate written into that config (default 30)")


def config_text(root: Path, width: int = 1920, height: int = 1080, fps: int = 30) -> str:
    return (f"# written by `hotfolder init`; every key is explained in config.example.yaml\n"
            f"hotfolders:\n  - root: {json.dumps(str(root))}\n"
            f"settle_seconds: 2.0\nwatch: auto\nworkers: 1\n"
            f"render: {{width: {width}, height: {height}, fps: {fps}, encoder: auto, crf: 20, preset: veryfast}}\n")


def run(args: argparse.Namespace) -> int:
    root = args.root.resolve()
    width, height = 1920, 1080
    if args.size:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            print(f"hotfolder init: --size {args.size!r} is not WIDTHxHEIGHT", file=sys.stderr)
            return 2
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
        text = config_text(root, width, height, args.fps or 30)
        try:
            load_config_text(text)
        except (ValueError, ProjectError) as exc:
            print(f"hotfolder init: {exc}", file=sys.stderr)
            return 2
        args.config.write_text(text, encoding="utf-8")
        print(f"  config written: {args.config}")
        print(f"  start it with:  hotfolder run -c {args.config}")
    else:
        print(f"  start it with:  hotfolder run --root {root}")
    return 0
