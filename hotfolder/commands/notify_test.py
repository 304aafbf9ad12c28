"""`hotfolder notify-test -c CONFIG [--event batch_done]`: send a sample notification to the
configured targets, now, and say which succeeded (URLs masked). Exit 1 if any failed."""
from __future__ import annotations

import argparse
import socket
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hotfolder import boundedyaml
from hotfolder.errors import ProjectError
from hotfolder.notify import (
    EVENTS,
    Message,
    Notifier,
    NotifyConfig,
    batch_message,
    error_message,
    job_message,
    parse_notify_config,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, help="the daemon's config file (its notify: block is used)")
    parser.add_argument("--url", action="append", default=[], metavar="URL",
                        help="an apprise URL to send to as well (repeatable); with no -c, only these")
    parser.add_argument("--event", choices=EVENTS, default="batch_done", help="which message to send a sample of")
    parser.add_argument("--poster", type=Path, help="an image to attach as the poster frame (job events)")


def load_notify_config(path: Path) -> NotifyConfig:
    """The notify: block of the daemon's config file, validated. Uses hotfolder.config when it
    is there (it checks the whole file); otherwise reads just that block."""
    try:
        from hotfolder.config import load_config
    except ImportError:
        load_config = None
    if load_config is not None:
        raw = load_config(path).notify
    else:
        try:
            data = boundedyaml.load(path.read_text(encoding="utf-8"), path) or {}
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
        except ProjectError as exc:  # `PATH:LINE: invalid YAML: …`
            raise ValueError(str(exc)) from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping at the top")
        raw = data.get("notify")
    return parse_notify_config(raw, f"{path}: notify", base_dir=path.resolve().parent)


def sample_report(status: str, poster: Path | None = None) -> dict[str, Any]:
    """A finished job's report, as the daemon writes it to done/ or failed/."""
    end = datetime.now().astimezone().replace(microsecond=0)
    name = {"done": "Sample Song.kproj", "failed": "Broken Song.lrc", "cancelled": "Cancelled Song.ass"}[status]
    return {
        "name": name, "status": status, "started_at": (end - timedelta(seconds=125)).isoformat(),
        "finished_at": end.isoformat(), "duration": 125.0, "frames": 3750,
        "output": "done/Sample Song.mp4" if status == "done" else None,
        "poster": str(poster.resolve()) if poster else None, "renderer": "sample renderer",
        "host": socket.gethostname(), "attempts": 1,
        "error": {"failed": "Broken Song.lrc line 12: a time tag is not in [mm:ss.xx] form",
                  "cancelled": "cancelled by a person"}.get(status),
        "log": None,
    }


def sample_message(event: str, poster: Path | None = None) -> Message:
    host = socket.gethostname()
    if event == "job_done":
        return job_message(event, sample_report("done", poster))
    if event == "job_failed":
        return job_message(event, sample_report("failed"))
    if event == "job_cancelled":
        return job_message(event, sample_report("cancelled"))
    if event == "batch_done":
        reports = [sample_report("done"), {**sample_report("done"), "name": "Second Song.ass",
                                             "output": "done/Second Song.mp4", "duration": 61.0},
                   sample_report("failed")]
        return batch_message(reports, 191.0, host=host)
    return error_message("This is a test of hotfolder's daemon_error notification: nothing is wrong.", host)


def run(args: argparse.Namespace) -> int:
    if args.config is None and not args.url:
        print("hotfolder notify-test: give -c CONFIG or --url URL", file=sys.stderr)
        return 2
    if args.poster is not None and not args.poster.is_file():
        print(f"hotfolder notify-test: --poster {args.poster}: no such file", file=sys.stderr)
        return 2
    try:
        config = load_notify_config(args.config) if args.config else NotifyConfig()
    except ValueError as exc:  # hotfolder.config.ConfigError is a ValueError too
        print(f"hotfolder notify-test: {exc}", file=sys.stderr)
        return 1
    notifier = Notifier(config)
    message = sample_message(args.event, args.poster)
    if args.event not in config.events and args.config:
        print(f"note: {args.event} is not in notify.events, so the daemon would not send it "
              f"(enabled: {', '.join(sorted(config.events)) or 'none'})")
    results = notifier.deliver(message, configured=True, extra_urls=args.url)
    if not results:
        print("hotfolder notify-test: no notification targets configured (notify.urls / notify.config)",
              file=sys.stderr)
        return 1
    print(f"sent a sample {args.event} notification: {message.title!r}")
    for r in results:
        extra = "" if r.ok else f"  ({r.error or 'failed'}; {r.attempts} attempt{'s' if r.attempts != 1 else ''})"
        print(f"  {'ok    ' if r.ok else 'FAILED'}  {r.target}{extra}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} of {len(results)} succeeded")
    return 1 if failed else 0

