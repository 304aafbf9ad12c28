"""`hotfolder run -c CONFIG [--once] [--gpu N]` (or `--root DIR` without a config file)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from hotfolder.config import ConfigError, config_for_roots, load_config

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, help="the config file (see config.example.yaml)")
    parser.add_argument("--root", type=Path, action="append", default=[],
                        help="a hot folder to serve with default settings (instead of -c; may be repeated)")
    parser.add_argument("--once", action="store_true",
                        help="exit when nothing is queued or running (after files settled)")
    parser.add_argument("--gpu", type=int, help="render on this GPU (EGL device index); overrides render.gpu")


def run(args: argparse.Namespace) -> int:
    if bool(args.config) == bool(args.root):
        print("hotfolder run: give either -c CONFIG or --root DIR", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config) if args.config else config_for_roots(args.root)
    except ConfigError as exc:
        print(f"hotfolder run: {exc}", file=sys.stderr)
        return 2
    from hotfolder.daemon import Daemon

    daemon = Daemon(config, config_path=args.config.resolve() if args.config else None, once=args.once,
                    gpu=args.gpu, log_format=getattr(args, "log_format", "text"),
                    verbose=getattr(args, "verbose", False))
    code = daemon.run()
    # Everything is filed and written by now. Tearing the interpreter down would wait for a
    # background thread in the middle of reading a 10 MB project and free every object one
    # by one (seconds, with systemd counting toward its stop timeout): end the process now.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
