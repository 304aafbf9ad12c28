"""Jobs in an inbox: which names are jobs, finding them, settle detection, job sidecars.

`scan_inbox` is the only part that touches the filesystem (listing and stat); the rules
(`is_ignored`, `SettleTracker`, `parse_sidecar`, `output_name`) are plain data in and out.
"""
from __future__ import annotations

import fnmatch
import logging
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping

from hotfolder import boundedyaml
from hotfolder.config import MAX_SIDECAR_PROBLEMS, ConfigError, parse_sidecar_data
from hotfolder.decisions import media_conflict
from hotfolder.errors import ProjectError, clip
from hotfolder.names import NAME_MAX, display_name, fit_name
from hotfolder.project import PROJECT_SUFFIXES
from hotfolder.queue import folder_priority, is_priority_folder

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".yaml"
PROGRESS_SUFFIX = ".progress.json"
CANCEL_SUFFIX = ".cancel"
CONTROL_FILES = ("PAUSE", "STOP")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm")

# names that are never jobs: copies in progress, OS litter, our own files
_IGNORED_PATTERNS = ("*.part", "*.tmp", "*.crdownload", "*.partial", "~$*", "._*", ".*", "Thumbs.db",
                     "desktop.ini", "*" + PROGRESS_SUFFIX, "*" + CANCEL_SUFFIX, "*.yaml", "*.yml", *CONTROL_FILES)


# one regular expression for all patterns, case-insensitive: a scan of 20,000 names runs it
# 20,000 times, where a pattern-by-pattern fnmatch cost a fifth of a core
_IGNORED_RE = re.compile("|".join(fnmatch.translate(p) for p in _IGNORED_PATTERNS), re.IGNORECASE | re.DOTALL)


def is_ignored(name: str) -> bool:
    """Hidden files, partial copies, OS litter, sidecars and control files are never jobs."""
    return _IGNORED_RE.match(name) is not None


def is_project_name(name: str) -> bool:
    return not is_ignored(name) and os.path.splitext(name)[1].lower() in PROJECT_SUFFIXES


def sidecar_name(job_name: str) -> str:
    return fit_name(job_name, SIDECAR_SUFFIX)


def progress_name(job_name: str) -> str:
    """`<job name>.progress.json`; for a name near NAME_MAX a shortened name with a hash."""
    return fit_name(job_name, PROGRESS_SUFFIX)


def cancel_name(job_name: str) -> str:
    return fit_name(job_name, CANCEL_SUFFIX)


# --- job sidecars ----------------------------------------------------------------------

class SidecarError(ValueError):
    """A job sidecar that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class JobOptions:
    priority: int | None = None
    output: str | None = None
    render: Mapping[str, Any] = field(default_factory=dict)
    notify: tuple[str, ...] = ()


OUTPUT_RESERVE = len("..partial") + len(" (99999)")


def output_name(requested: str | None, job_stem: str) -> str:
    """The output file name for a job: the sidecar's (a file name only) or `<stem>.mp4`.

    A name without a video suffix gets `.mp4`. Raises ValueError for anything with folders
    in it, hidden names and other tricks, so a sidecar cannot write outside done/.
    """
    if requested is None:
        # room for the export's ".<stem>.partial" temp name and a later " (2)" in done/
        return fit_name(job_stem, ".mp4", reserve=OUTPUT_RESERVE)
    name = requested.strip()
    if not name:
        raise ValueError("output: empty file name")
    if "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        raise ValueError(f"output: {requested!r} must be a file name only, without folders")
    if name.startswith("."):
        raise ValueError(f"output: {requested!r} must not start with a dot")
    if os.path.splitext(name)[1].lower() not in VIDEO_SUFFIXES:
        name += ".mp4"
    if len(name.encode("utf-8")) > NAME_MAX - OUTPUT_RESERVE:
        raise ValueError("output: the file name is too long")
    return name


def parse_sidecar(text: str, where: str) -> JobOptions:
    """Parse a job sidecar (`song.ass.yaml`). Raises SidecarError naming every problem, one
    `where:LINE: key: problem` line each (at most config.MAX_SIDECAR_PROBLEMS).

    Anyone who can write to the inbox writes sidecars: the YAML is read with the bounded
    loader (no alias bombs, no deep nesting, no duplicate keys) and values from it appear in
    messages only shortened, since messages land in reports and status files. The schema is
    config.SidecarModel.
    """
    try:
        doc = boundedyaml.load_document(text, where)
    except ProjectError as exc:  # already `where:LINE: problem`, one line
        raise SidecarError(str(exc)) from None
    try:
        options = parse_sidecar_data(doc.data)
    except ConfigError as exc:  # each line starts with its key: put the key's line in front, in file order
        raise SidecarError("\n".join(doc.locate_all(where, exc.problems, MAX_SIDECAR_PROBLEMS))) from None
    return JobOptions(priority=options["priority"], output=options["output"], render=options["render"],
                      notify=tuple(options["notify"]))


# --- settle detection ------------------------------------------------------------------

class SettleTracker:
    """Decides when a job is complete: its signature (sizes, mtimes) stayed the same for
    `settle_seconds` of *our* clock (clocks of file servers do not matter)."""

    def __init__(self, settle_seconds: float) -> None:
        self.settle_seconds = settle_seconds
        self._seen: dict[str, tuple[Hashable, float]] = {}

    def observe(self, key: str, signature: Hashable, now: float) -> bool:
        """Record what `key` looks like now; True when it has not changed for settle_seconds."""
        prev = self._seen.get(key)
        if prev is None or prev[0] != signature:
            self._seen[key] = (signature, now)
            return False  # at least two looks, however short settle_seconds is
        return now - prev[1] >= self.settle_seconds

    def stable_since(self, key: str) -> float | None:
        entry = self._seen.get(key)
        return entry[1] if entry else None

    def forget_except(self, keys: Iterable[str]) -> None:
        keep = set(keys)
        for key in list(self._seen):
            if key not in keep:
                del self._seen[key]


# --- finding jobs ----------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """Something in the inbox that is (or will be, once settled) a job."""

    key: str                 # path below inbox/ (posix), unique
    path: Path               # the project file, or the bundle folder
    name: str                # file or folder name
    bundle: bool
    folder_priority: int
    mtime: float
    signature: Hashable      # changes whenever the job (or its sidecar) is being written

    @property
    def sidecar(self) -> Path:
        return self.path.parent / sidecar_name(self.name)

    def options_file(self) -> Path | None:
        """The job's sidecar: beside it; for a bundle also `<project file>.yaml` inside it.
        A link is never a sidecar (it could lead anywhere)."""
        if is_regular_file(self.sidecar):
            return self.sidecar
        if self.bundle:
            project = bundle_project(self.path)
            if project is not None and is_regular_file(project.parent / sidecar_name(project.name)):
                return project.parent / sidecar_name(project.name)
        return None


def is_regular_file(path: Path) -> bool:
    """A plain file, not a link to one: nothing on the share is read through a link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def _file_sig(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def tree_signature(folder: Path) -> tuple:
    """Sizes and mtimes of everything under a folder (a bundle still being copied changes it)."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            entries.append((str(p.relative_to(folder)), _file_sig(p)))
    return tuple(entries)


def bundle_project(folder: Path) -> Path | None:
    """The one project file at the top of a bundle folder, or None when there is not exactly one.

    `.txt` files count only when nothing else does or when they look like UltraStar songs,
    so a readme beside a .kproj does not make a bundle ambiguous.
    """
    try:
        names = sorted(n for n in os.listdir(folder) if is_project_name(n) and is_regular_file(folder / n))
    except OSError:
        return None
    if len(names) > 1:
        non_txt = [n for n in names if not n.lower().endswith(".txt")]
        if non_txt:
            names = non_txt
        else:
            try:
                from hotfolder.project.ultrastar import looks_like_ultrastar
            except ImportError:
                looks_like_ultrastar = None
            if looks_like_ultrastar is not None:
                names = [n for n in names if looks_like_ultrastar(folder / n)]
    return folder / names[0] if len(names) == 1 else None


def _signature(path: Path, st: os.stat_result, bundle: bool, sidecar: Path | None) -> Hashable:
    """What changes whenever a job (or its sidecar; None: it has none) is being written: the
    one signature rescans, watched paths and relooks all compare."""
    own = tree_signature(path) if bundle else (st.st_size, st.st_mtime_ns)
    return (own, _file_sig(sidecar) if sidecar is not None else None)


def _candidate(inbox: Path, entry: os.DirEntry, rel_parts: tuple[str, ...], bundle: bool,
               priorities: Mapping[str, int], default: int, names: set[str],
               known: Mapping[str, Candidate]) -> Candidate | None:
    """`names`: everything in the job's folder, so a sidecar is looked at only when there is one;
    `known`: the candidates of the last scan, reused when nothing changed (10,000 queued jobs
    rescanned make no new objects)."""
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return None  # gone meanwhile
    key = "/".join(rel_parts)
    path = Path(entry.path)
    sidecar = sidecar_name(entry.name)
    sig = _signature(path, st, bundle, path.parent / sidecar if sidecar in names else None)
    old = known.get(key)
    if old is not None and old.signature == sig and old.mtime == st.st_mtime:
        return old
    return Candidate(key=key, path=path, name=entry.name, bundle=bundle,
                     folder_priority=folder_priority(rel_parts, priorities, default),
                     mtime=st.st_mtime, signature=sig)


def job_parts(inbox: Path, changed: Path, priorities: Mapping[str, int]) -> tuple[str, ...] | None:
    """Which job a changed path belongs to (its path below inbox/), from the path alone: the
    entry at the top of the inbox, or one level into a priority folder. None for anything
    that is no job's (outside the inbox, a priority folder itself, our own files)."""
    try:
        parts = changed.relative_to(inbox).parts
    except ValueError:
        return None
    if not parts:
        return None
    if is_priority_folder(parts[0], priorities) and (len(parts) > 1 or not (inbox / parts[0]).is_symlink()):
        parts = parts[1:2] and (parts[0], parts[1])
        if not parts:
            return None
    else:
        parts = parts[:1]
    name = parts[-1]
    for suffix in (SIDECAR_SUFFIX, ".yml"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):   # a sidecar: its job changed
            parts = (*parts[:-1], name[: -len(suffix)])
    return parts


def candidate_at(inbox: Path, parts: tuple[str, ...], priorities: Mapping[str, int],
                 default: int) -> Candidate | None:
    """The job at inbox/<parts>, looked at alone (a watch event named it); None when nothing
    there is a job (gone, ignored, a folder without a project, a link)."""
    path = inbox.joinpath(*parts)
    name = parts[-1]
    if is_ignored(name):
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISDIR(st.st_mode):
        if not _holds_project(path):
            return None
        bundle = True
    elif stat.S_ISREG(st.st_mode) and is_project_name(name):
        bundle = False
    else:
        return None
    return Candidate(key="/".join(parts), path=path, name=name, bundle=bundle,
                     folder_priority=folder_priority(parts, priorities, default), mtime=st.st_mtime,
                     signature=_signature(path, st, bundle, path.parent / sidecar_name(name)))


def restat(cand: Candidate) -> Candidate | None:
    """The same job looked at again (a stat of it and its sidecar); None when it is gone."""
    try:
        st = os.lstat(cand.path)
    except OSError:
        return None
    if cand.bundle != stat.S_ISDIR(st.st_mode):
        return None
    return replace(cand, mtime=st.st_mtime, signature=_signature(cand.path, st, cand.bundle, cand.sidecar))


def scan_inbox(inbox: Path, priorities: Mapping[str, int], default_priority: int,
               known: Mapping[str, Candidate] | None = None,
               others: list[tuple[str, Path]] | None = None) -> tuple[list[Candidate], list[Path]]:
    """Jobs in the inbox (settled or not) and `.cancel` files in it. Priority folders are
    looked into one level deep; any other folder is a bundle. Raises OSError when the inbox
    itself cannot be listed (the caller decides what a missing share means)."""
    candidates: list[Candidate] = []
    cancels: list[Path] = []
    known = known or {}

    def visit(folder: Path, top: bool) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            if top:
                raise
            return
        names = {e.name for e in entries}
        prefix = () if top else (folder.name,)
        for entry in entries:
            name = entry.name
            if name.endswith(CANCEL_SUFFIX) and not name.startswith("."):
                cancels.append(Path(entry.path))
                continue
            if is_ignored(name):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if top and is_priority_folder(name, priorities):
                    visit(Path(entry.path), False)
                elif _holds_project(Path(entry.path)):   # a folder without a project (fonts/, media) is no job
                    c = _candidate(inbox, entry, (*prefix, name), True, priorities, default_priority, names, known)
                    if c:
                        candidates.append(c)
            elif is_file and is_project_name(name):
                c = _candidate(inbox, entry, (*prefix, name), False, priorities, default_priority, names, known)
                if c:
                    candidates.append(c)
            elif is_file and others is not None:   # media, or a stray file (`others` collects them)
                others.append(("/".join((*prefix, name)), Path(entry.path)))

    visit(inbox, True)
    return candidates, cancels


def media_signature(paths: Iterable[Path]) -> tuple:
    """Sizes and mtimes of media a project names (None for a missing one). Never raises: a
    name too long for the filesystem, a loop or a vanished file all read as missing."""
    out = []
    for p in paths:
        try:
            st = os.lstat(p)
        except (OSError, ValueError):
            out.append((str(p), None))
            continue
        out.append((str(p), tree_signature(p) if stat.S_ISDIR(st.st_mode) else (st.st_size, st.st_mtime_ns)))
    return tuple(out)


def _holds_project(folder: Path) -> bool:
    """Whether a folder is a bundle: a project file at its top (a `.txt` only when it is an
    UltraStar song, so a fonts folder with a licence text is no job)."""
    try:
        names = [n for n in os.listdir(folder) if is_project_name(n)]
    except OSError:
        return False
    if any(not n.lower().endswith(".txt") for n in names):
        return True
    from hotfolder.project.ultrastar import looks_like_ultrastar

    return any(is_regular_file(folder / n) and looks_like_ultrastar(folder / n) for n in names[:20])


def media_problems(cand: Candidate, media: Iterable[Path], inbox: Path, priorities: Mapping[str, int]) -> list[str]:
    """What is wrong with the media a single-file job names: one line per file that is another
    job, a sidecar, a control file, a priority folder or a bundle (decisions.media_conflict).
    A bundle's media live inside it and travel with it, so they are never checked here."""
    if cand.bundle:
        return []
    base = cand.path.parent
    problems = []
    for m in media:
        try:
            rel = m.relative_to(base.resolve()).as_posix()
        except ValueError:
            rel = "/"   # resolved outside the job's folder
        try:
            is_dir = stat.S_ISDIR(os.lstat(m).st_mode)
        except (OSError, ValueError):
            is_dir = False
        conflict = media_conflict(rel, is_dir=is_dir, project_suffixes=PROJECT_SUFFIXES,
                                  priority_folders=[n for n in priorities] if base == inbox else [],
                                  holds_project=is_dir and _holds_project(m), at_inbox_top=base == inbox)
        if conflict is not None:
            problems.append(f"{clip(display_name(rel))} {conflict.value}")
    return problems

