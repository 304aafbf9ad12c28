"""`hotfolder run -c CONFIG [--once] [--gpu N] [--check]` (or `--root DIR` without a config file).

Before the daemon starts, the config is checked whole: the schema (every key, type and value)
and this machine (the encoder opens, the GPU index exists, the fonts folder is there, each
root is a hot folder). Any problem stops it with exit status 2 before anything is touched, so a
misconfigured node never takes jobs from a shared queue only to fail them. The one exception:
a root that is missing or has no `.hotfolder/` is only a warning for the daemon (a share that
is not mounted yet; the daemon waits for it, touching nothing), while `--check` counts it.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from hotfolder.config import Config, ConfigError, check_config_file, config_for_roots, node_report

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, help="the config file (see config.example.yaml)")
    parser.add_argument("--root", type=Path, action="append", default=[],
                        help="a hot folder to serve with default settings (instead of -c; may be repeated)")
    parser.add_argument("--once", action="store_true",
                        help="exit when nothing is queued or running (after files settled)")
    parser.add_argument("--gpu", type=int, help="render on this GPU (EGL device index); overrides render.gpu")
    parser.add_argument("--check", action="store_true",
                        help="check the config and this machine, print every problem (FILE:LINE: key: problem), "
                             "exit 0 when there is none, else 2; starts nothing")


def check(args: argparse.Namespace) -> tuple[Config | None, list[str], list[str]]:
    """(config, problems, warnings) for what the command line names. Under `--check` a root
    that is not there yet is a problem; for the daemon it is a warning."""
    may_wait = not args.check
    if args.config:
        return check_config_file(args.config, args.gpu, roots_may_wait=may_wait)
    try:
        config = config_for_roots(args.root)
    except ConfigError as exc:
        return None, exc.problems, []
    problems, warnings = node_report(config, args.gpu, roots_may_wait=may_wait)
    return config, problems, warnings


def summary(config: Config, gpu: int | None) -> str:
    r = config.render
    encoder = r.encoder
    if encoder == "auto":
        from hotfolder.encode import default_encoder_for

        encoder = f"auto ({default_encoder_for(Path('out.mp4'))} here)"
    n = len(config.hotfolders)
    where = config.path if config.path is not None else ", ".join(str(h.root) for h in config.hotfolders)
    gpu = gpu if gpu is not None else r.gpu
    return (f"{where}: OK: {n} hot folder{'s' if n != 1 else ''}, {r.width}x{r.height} at {r.fps} fps, "
            f"encoder {encoder}, preset {r.preset}" + (f", GPU {gpu}" if gpu is not None else "")
            + f", {config.workers} worker{'s' if config.workers != 1 else ''}")


def run(args: argparse.Namespace) -> int:
    if bool(args.config) == bool(args.root):
        print("hotfolder run: give either -c CONFIG or --root DIR", file=sys.stderr)
        return 2
    config, problems, warnings = check(args)
    if args.check:
        for line in problems:
            print(line, file=sys.stderr)
        if problems or config is None:
            return 2
        print(summary(config, args.gpu))
        return 0
    if problems or config is None:
        for line in problems:
            print(line, file=sys.stderr)
        for line in warnings:
            print(f"warning: {line}", file=sys.stderr)
        source = args.config or "the command line"
        print(f"hotfolder run: not started: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
              f"in {source} (nothing was touched)", file=sys.stderr)
        return 2
    for line in warnings:
        log.warning("%s; waiting for it", line)
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
