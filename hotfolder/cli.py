"""The `hotfolder` command. Each subcommand lives in hotfolder/commands/<name>.py and
provides `add_arguments(parser)` and `run(args) -> int`; this module only dispatches."""
from __future__ import annotations

import argparse
import importlib
import io
import logging
import sys

# subcommand name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("inspect", "show the normalized project of a file"),
    "validate": ("validate", "check project files and the media they name"),
    "render": ("render", "render a project to a video"),
    "still": ("still", "render the frame shown at one time to a PNG"),
    "doctor": ("doctor", "show renderer, encoders and fonts this machine has"),
    "init": ("init", "create a hot folder"),
    "run": ("run", "run the hot-folder daemon"),
    "status": ("status", "show a hot folder's queue"),
    "pause": ("control", "pause a hot folder (no new jobs, running jobs hold)"),
    "resume": ("control", "resume a paused hot folder"),
    "stop": ("control", "stop a hot folder (running jobs go back to the inbox)"),
    "start": ("control", "start a stopped hot folder"),
    "cancel": ("control", "cancel one queued or running job"),
    "clear": ("control", "cancel every queued job"),
    "notify-test": ("notify_test", "send a sample notification to the configured targets"),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the selected subcommand's module is imported (start-up stays fast:
    `hotfolder render` does not pay for apprise), the others are listed by name."""
    from hotfolder import __version__

    parser = argparse.ArgumentParser(prog="hotfolder", description="Karaoke render queue over a shared folder.")
    parser.add_argument("--version", action="version", version=f"hotfolder {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if selected is not None and name != selected:
            continue
        module = importlib.import_module(f"hotfolder.commands.{module_name}")
        if hasattr(module, "add_arguments_for"):
            module.add_arguments_for(name, p)
        else:
            module.add_arguments(p)
        p.set_defaults(_module=module, _name=name)
    return parser


def _selected_command(argv: list[str]) -> str | None:
    """The subcommand named in argv (the first word that is a command), or None."""
    return next((a for a in argv if a in COMMANDS), None)


def setup_logging(verbose: bool, fmt: str) -> None:
    from hotfolder.logs import configure

    configure(logging.DEBUG if verbose else logging.INFO, fmt)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_selected_command(argv))
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    setup_logging(args.verbose, args.log_format)
    # names from the share may hold bytes that are not UTF-8 (surrogate escapes in Python):
    # print them escaped, as stderr does, instead of dying on them under a strict locale
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    module = args._module
    if hasattr(module, "run_for"):
        return int(module.run_for(args._name, args) or 0)
    return int(module.run(args) or 0)
