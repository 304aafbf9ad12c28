"""The daemon's configuration file: loading and validation, with errors that name the key.

Plain data in, plain data out: `parse_config(raw)` validates a dict (what YAML gave) and
returns a frozen `Config`; `load_config(path)` reads the file (through `hotfolder.boundedyaml`,
like every YAML the daemon reads). Every problem raises `ConfigError` whose message starts
with the dotted key, e.g. "hotfolders[0].priorities.high: expected an integer, got 'soon'";
`load_config` puts the file and the key's line in front: "PATH:LINE: …". Values from the
file appear shortened (`errors.brief`), never whole.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotfolder import boundedyaml
from hotfolder.errors import ProjectError, brief, clip
from hotfolder.settings import MAX_TAIL_MS, RenderSettings

WATCH_MODES = ("auto", "inotify", "poll")
DEFAULT_PRIORITIES: dict[str, int] = {"urgent": 0, "high": 10, "normal": 50, "low": 90}

# config `render:` keys -> how to check them; each is a RenderSettings field
_RENDER_KEYS: dict[str, type | tuple[type, ...]] = {
    "width": int, "height": int, "fps": int, "encoder": str, "crf": int, "preset": str,
    "bitrate": (str, type(None)), "background": (str, type(None)), "fonts_dir": (str, type(None)),
    "tail_ms": int, "gpu": (int, type(None)),
}
# of those, what a job's sidecar may override (paths on the daemon's machine stay config-only)
SIDECAR_RENDER_KEYS = frozenset({"width", "height", "fps", "encoder", "crf", "preset", "bitrate", "background", "tail_ms"})


class ConfigError(ValueError):
    """A configuration problem; the message names the key."""


@dataclass(frozen=True)
class HotfolderConfig:
    root: Path
    priorities: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    default_priority: int = 50


@dataclass(frozen=True)
class Config:
    hotfolders: tuple[HotfolderConfig, ...]
    settle_seconds: float = 2.0
    watch: str = "auto"
    poll_interval: float = 1.0
    workers: int = 1
    max_attempts: int = 3
    render: RenderSettings = field(default_factory=RenderSettings)
    notify: dict[str, Any] = field(default_factory=dict)   # raw; hotfolder.notify validates it
    # ours (not in issue 4's list), all documented in config.example.yaml
    rescan_interval: float = 5.0      # full rescan of every inbox even without watch events
    lease_seconds: float = 30.0       # a running job's lease is stale after this long unrefreshed
    media_wait_seconds: float = 30.0  # how long a settled project waits for media it names that are missing
    abort_grace_seconds: float = 4.0  # how long an aborted render may take to stop before it is killed
    status_interval: float = 1.0      # status.json / sidecar refresh period while something runs
    log_tail_lines: int = 30          # lines of a job's log kept in its final report
    history: int = 50                 # finished jobs listed in status.json
    max_video_seconds: float = 14400.0  # a job whose video would be longer fails (handed to the render)
    stall_seconds: float = 300.0      # a render that reports no progress this long fails (0: never)
    status_queue_rows: int = 200      # queued jobs listed one by one in status.json/html; counts for the rest
    base_dir: Path | None = None      # the config file's folder (relative paths in notify.config)


def _where(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = clip(key, 40)  # a key is text from the file: never copied whole into a message
    return f"{path}.{key}" if path else key


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             list: "a list", dict: "a mapping", type(None): "null"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(names.get(x, x.__name__) for x in ts)


def _check(value: Any, t: type | tuple[type, ...], where: str) -> Any:
    ts = t if isinstance(t, tuple) else (t,)
    ok = False
    for x in ts:
        if x is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = math.isfinite(value)
        elif x is int and isinstance(value, bool):
            ok = False
        elif isinstance(value, x):
            ok = True
        if ok:
            break
    if not ok:
        raise ConfigError(f"{where}: expected {_type_name(t)}, got {brief(value)}")
    return float(value) if ts == (float,) else value


def _mapping(raw: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected {_type_name(dict)}, got {brief(raw)}")
    for key in raw:
        if not isinstance(key, str):
            raise ConfigError(f"{_where(where, str(key))}: keys must be text")
        if key not in allowed:
            raise ConfigError(f"{_where(where, key)}: unknown key (known: {', '.join(sorted(allowed))})")
    return raw


def _positive(value: float, where: str, allow_zero: bool = False) -> float:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{where}: must be {'zero or more' if allow_zero else 'more than zero'}, got {brief(value)}")
    return value


def parse_priorities(raw: Any, where: str) -> dict[str, int]:
    if raw is None:
        return dict(DEFAULT_PRIORITIES)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of inbox subfolder name to priority number, got {brief(raw)}")
    out: dict[str, int] = {}
    for name, value in raw.items():
        key = _where(where, str(name))
        if not isinstance(name, str) or not name or "/" in name or name.startswith(".") or name.isdigit():
            raise ConfigError(f"{key}: a subfolder name must be a plain, non-numeric folder name")
        out[name] = _check(value, int, key)
    return out


def parse_render(raw: Any, where: str = "render", allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """Validate a `render:` mapping; returns RenderSettings field overrides (paths as Path)."""
    keys = set(allowed) if allowed is not None else set(_RENDER_KEYS)
    raw = _mapping(raw, where, keys)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        k = _where(where, key)
        value = _check(value, _RENDER_KEYS[key], k)
        if key in ("width", "height") and not (16 <= value <= 8192 and value % 2 == 0):
            raise ConfigError(f"{k}: must be an even number of pixels from 16 to 8192, got {brief(value)}")
        if key == "fps" and not 1 <= value <= 240:
            raise ConfigError(f"{k}: must be from 1 to 240, got {brief(value)}")
        if key == "crf" and not 0 <= value <= 63:
            raise ConfigError(f"{k}: must be from 0 to 63, got {brief(value)}")
        if key == "tail_ms" and not 0 <= value <= MAX_TAIL_MS:
            raise ConfigError(f"{k}: must be from 0 to {MAX_TAIL_MS} (milliseconds after the last line), got {brief(value)}")
        if key == "gpu" and value is not None and value < 0:
            raise ConfigError(f"{k}: must be a GPU index (0 or more), got {brief(value)}")
        if key == "fonts_dir" and value is not None:
            value = Path(value).expanduser()
        out[key] = value
    return out


def _parse_notify(raw: Any, base_dir: Path | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"notify: expected {_type_name(dict)}, got {brief(raw)}")
    try:
        from hotfolder.notify import parse_notify_config
    except ImportError:
        parse_notify_config = None  # notifications not built: keep the raw block, checked for shape only
    if parse_notify_config is not None:
        try:
            parse_notify_config(raw, "notify", base_dir=base_dir)
        except ValueError as exc:
            raise ConfigError(str(exc) if str(exc).startswith("notify") else f"notify: {exc}") from None
    return dict(raw)


_TOP_KEYS = {"hotfolders", "settle_seconds", "watch", "poll_interval", "workers", "max_attempts", "render",
             "notify", "rescan_interval", "lease_seconds", "media_wait_seconds", "abort_grace_seconds",
             "status_interval", "log_tail_lines", "history", "stall_seconds", "status_queue_rows",
             "max_video_seconds"}


def parse_config(raw: Any, base_dir: Path | None = None) -> Config:
    """Validate a config mapping. Relative roots are taken relative to `base_dir` (the config's folder)."""
    raw = _mapping(raw, "", _TOP_KEYS)
    if "hotfolders" not in raw:
        raise ConfigError("hotfolders: missing; list at least one hot folder (- root: /srv/karaoke)")
    hf_raw = raw["hotfolders"]
    if not isinstance(hf_raw, list) or not hf_raw:
        raise ConfigError(f"hotfolders: expected a non-empty list of hot folders, got {brief(hf_raw)}")
    hotfolders = []
    seen: set[Path] = set()
    for i, entry in enumerate(hf_raw):
        where = _where("hotfolders", i)
        entry = _mapping(entry, where, {"root", "priorities", "default_priority"})
        if "root" not in entry:
            raise ConfigError(f"{where}.root: missing")
        root = Path(_check(entry["root"], str, f"{where}.root")).expanduser()
        if not root.is_absolute() and base_dir is not None:
            root = base_dir / root
        root = Path(*root.parts)  # normalise without touching the filesystem (the share may be away)
        if root in seen:
            raise ConfigError(f"{where}.root: {clip(str(root))} is listed twice")
        seen.add(root)
        hotfolders.append(HotfolderConfig(
            root=root,
            priorities=parse_priorities(entry.get("priorities"), f"{where}.priorities"),
            default_priority=_check(entry.get("default_priority", 50), int, f"{where}.default_priority"),
        ))
    kw: dict[str, Any] = {"hotfolders": tuple(hotfolders)}
    for key in ("settle_seconds", "poll_interval", "rescan_interval", "lease_seconds", "media_wait_seconds",
                "abort_grace_seconds", "status_interval", "stall_seconds", "max_video_seconds"):
        if key in raw:
            kw[key] = _positive(_check(raw[key], float, key), key,
                                allow_zero=key in ("settle_seconds", "media_wait_seconds", "stall_seconds"))
    for key in ("workers", "max_attempts", "log_tail_lines", "history", "status_queue_rows"):
        if key in raw:
            kw[key] = int(_positive(_check(raw[key], int, key), key, allow_zero=key in ("log_tail_lines",)))
    if "watch" in raw:
        watch = _check(raw["watch"], str, "watch")
        if watch not in WATCH_MODES:
            raise ConfigError(f"watch: expected one of {', '.join(WATCH_MODES)}, got {brief(watch)}")
        kw["watch"] = watch
    if kw.get("lease_seconds", 30.0) < 3:
        raise ConfigError(f"lease_seconds: must be at least 3 (the lease is refreshed every second), got {kw['lease_seconds']}")
    # the length limit travels with the render settings, so every render the daemon starts obeys it
    kw["render"] = RenderSettings().updated({**parse_render(raw.get("render"), "render"),
                                             "max_video_seconds": kw.get("max_video_seconds", Config.max_video_seconds)})
    kw["notify"] = _parse_notify(raw.get("notify"), base_dir)
    kw["base_dir"] = base_dir
    return Config(**kw)


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        doc = boundedyaml.load_document(text, path)
    except ProjectError as exc:  # already `PATH:LINE: problem`
        raise ConfigError(str(exc)) from None
    try:
        return parse_config(doc.data, base_dir=path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(doc.locate(path, str(exc))) from None


def config_for_roots(roots: list[Path], **overrides: Any) -> Config:
    """A config for `hotfolder run --root DIR` without a file: defaults for everything else."""
    return parse_config({"hotfolders": [{"root": str(Path(r).resolve())} for r in roots], **overrides})
