"""The daemon's configuration file and job sidecars: schemas, loading, and the node checks.

The schemas are pydantic models (strict: YAML's `"30"` is not 30, `true` is not 1), so every
problem in a file is found in one pass. Plain data in, plain data out: `parse_config(raw)`
validates a dict (what YAML gave) and returns a frozen `Config`; `load_config(path)` reads the
file (through `hotfolder.boundedyaml`, like every YAML the daemon reads). Problems raise one
`ConfigError` holding all of them (`.problems`), one line each, starting with the dotted key:
"hotfolders[0].priorities.high: expected an integer, got 'soon'"; `load_config` puts the file
and the key's line in front: "PATH:LINE: …". Values from the file appear shortened
(`errors.brief`), never whole.

`check_node(config)` is the other half and is not pure: whether this machine can do what the
config asks (the encoder opens, the GPU index exists, the fonts folder is there, each root is a
hot folder). `check_config_file(path)` does both, for `hotfolder run [--check]`.
"""
from __future__ import annotations

import math
import os
import re
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator)
from pydantic_core import PydanticCustomError

from hotfolder import boundedyaml
from hotfolder.errors import ProjectError, brief, clip
from hotfolder.settings import MAX_TAIL_MS, RenderSettings

WATCH_MODES = ("auto", "inotify", "poll")
DEFAULT_PRIORITIES: dict[str, int] = {"urgent": 0, "high": 10, "normal": 50, "low": 90}
MAX_PROBLEMS = 50          # problems listed from one config file; past that "FILE: … and N more problems"
MAX_SIDECAR_PROBLEMS = 10  # a sidecar's problems land in a report: keep them few
MIN_BITRATE, MAX_BITRATE = 1_000, 1_000_000_000

# what a job's sidecar may override (paths on the daemon's machine stay config-only)
SIDECAR_RENDER_KEYS = frozenset({"width", "height", "fps", "encoder", "crf", "preset", "bitrate", "background", "tail_ms"})


class ConfigError(ValueError):
    """Configuration problems: `.problems` lists every one, one line each naming the key;
    str() is those lines joined by newlines."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


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
    unused_after_seconds: float = 600.0  # a file no queued project names is listed as unused after this long
    base_dir: Path | None = None      # the config file's folder (relative paths in notify.config)
    path: Path | None = field(default=None, compare=False)  # the config file (None: `run --root`)
    # the line of every key in that file ("render.gpu" -> 12), for messages about it
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def locate(self, message: str) -> str:
        """`FILE:LINE: message` for a message that starts with a key path; as it is without a file."""
        return _locator(self.path, self.key_lines)(message)


# --- how a problem is worded -----------------------------------------------------------------

@dataclass(frozen=True)
class Words:
    """Field metadata: how problems with this field are worded instead of the generic words.
    `problem` for a value outside its limits, `expected` for a value of the wrong type (what
    to ask for), `missing` for a required key that is not there."""

    problem: str | None = None
    expected: str | None = None
    missing: str | None = None


_TYPE_WORDS = {"int_type": "an integer", "float_type": "a number", "finite_number": "a number",
               "string_type": "a string", "bool_type": "true or false", "list_type": "a list",
               "tuple_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
               "model_attributes_type": "a mapping"}


def _fail(message: str, *, keyed: bool = False) -> PydanticCustomError:
    """A problem found by one of our validators; `keyed`: the message starts with its own key path."""
    return PydanticCustomError("hotfolder", "{message}", {"message": message, "keyed": keyed})


def _join(path: str, key: Any) -> str:
    key = clip(str(key), 40)  # a key is text from the file: never copied whole into a message
    return f"{path}.{key}" if path else key


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """(the type inside Annotated/Optional, the metadata found on the way)."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args = typing.get_args(tp)
            tp, meta = args[0], meta + list(args[1:])
            for m in args[1:]:  # a nested Field(...) keeps its own metadata
                meta.extend(getattr(m, "metadata", []) or [])
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp, meta
            tp = args[0]
        else:
            return tp, meta


def _walk(root: Any, loc: tuple[Any, ...]) -> tuple[str, list[Any], type[BaseModel] | None]:
    """For an error location: (the dotted key path as messages and boundedyaml name it,
    the metadata of the field it is in, the model the last key belongs to)."""
    path, tp, meta, owner = "", root, [], None
    for part in loc:
        if part == "[key]":
            break
        tp = _unwrap(tp)[0] if tp is not None else None
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            owner = tp
            path = _join(path, part)
            info = tp.model_fields.get(str(part))
            tp, meta = (info.annotation, list(info.metadata)) if info is not None else (None, [])
        elif origin in (list, tuple) and isinstance(part, int):
            path = f"{path}[{part}]"
            tp, meta = (typing.get_args(tp) or (None,))[0], []
        elif origin is dict:
            path = _join(path, part)
            tp, meta = (typing.get_args(tp) or (None, None))[1], []
        else:
            path = f"{path}[{part}]" if isinstance(part, int) else _join(path, part)
            tp, meta = None, []
    if tp is not None:
        meta = meta + _unwrap(tp)[1]
    return path, meta, owner


def _limits(meta: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in meta:
        for name in ("gt", "ge", "lt", "le", "min_length"):
            if getattr(m, name, None) is not None:
                out[name] = getattr(m, name)
    return out


def _problem(root: Any, err: Mapping[str, Any], prefix: str = "") -> str:
    """One pydantic error as `dotted.key: problem`, in our words."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    path, meta, owner = _walk(root, tuple(err["loc"]))
    if prefix:
        path = f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path
    words = next((m for m in meta if isinstance(m, Words)), Words())

    def keyed(text: str) -> str:
        return f"{path}: {text}" if path else text

    if kind == "hotfolder":
        message = str(ctx.get("message", err.get("msg", "")))
        if ctx.get("keyed"):
            return f"{prefix}.{message}" if prefix and not message.startswith(prefix) else message
        return keyed(message)
    if kind == "missing":
        return keyed(words.missing or "missing")
    if kind == "extra_forbidden":
        known = ", ".join(owner.model_fields) if owner is not None else ""
        return keyed(f"unknown key (known: {known})" if known else "unknown key")
    if kind == "invalid_key":
        return keyed("keys must be text")
    if kind in _TYPE_WORDS:
        return keyed(f"expected {words.expected or _TYPE_WORDS[kind]}, got {brief(value)}")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of", "too_short",
                "string_too_short"):
        if words.problem:
            return keyed(f"{words.problem}, got {brief(value)}")
        lim = _limits(meta)
        if "ge" in lim and "le" in lim:
            text = f"must be from {lim['ge']} to {lim['le']}"
        elif lim.get("gt") == 0:
            text = "must be more than zero"
        elif lim.get("ge") == 0:
            text = "must be zero or more"
        elif "ge" in lim:
            text = f"must be at least {lim['ge']}"
        elif "gt" in lim:
            text = f"must be more than {lim['gt']}"
        elif "min_length" in lim:
            text = "must not be empty"
        else:
            text = clip(str(err.get("msg", "is out of range")), 80)
        return keyed(f"{text}, got {brief(value)}")
    return keyed(f"{clip(str(err.get('msg', 'invalid')), 80)}, got {brief(value)}")


def _problems(root: Any, exc: ValidationError, prefix: str = "", top: str | None = None) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        if top is not None and not err["loc"] and err["type"] in _TYPE_WORDS:
            out.append(f"{top}, got {brief(err.get('input'))}")
        else:
            out.append(_problem(root, err, prefix))
    return list(dict.fromkeys(out))  # one line per problem, even when two checks agree


# --- the values ------------------------------------------------------------------------------

# The encoders encode.py knows (its ENCODERS) and the preset names it maps to every encoder's own
# knob (its _X26X_PRESETS), written out here so that checking a config or a sidecar does not load
# PyAV; tests/test_config_check.py keeps them equal to encode.py's.
ENCODER_NAMES = ("libx264", "h264_nvenc", "libx265", "hevc_nvenc", "libsvtav1", "libvpx-vp9")
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
NVENC_OLD_PRESETS = ("default", "hp", "hq", "bd", "ll", "llhq", "llhp", "lossless", "losslesshp")


def _preset_table() -> dict[str | None, tuple[tuple[str, ...], str]]:
    """encoder -> (the presets it takes, how a message names them). The x264 names work with
    every encoder (encode.py maps them); other names pass through to the encoder as they are.
    "auto" may become NVENC, x264 or VP9: only the common names; None: the encoder is not
    known here (a sidecar without one), any encoder's preset."""
    common = X26X_PRESETS
    span = f"{common[0]} to {common[-1]}"
    x26x = ((*common, "placebo"), ", ".join((*common, "placebo")))
    nvenc = ((*common, *(f"p{i}" for i in range(1, 8)), *NVENC_OLD_PRESETS),
             f"p1 to p7, {span}, or one of {', '.join(NVENC_OLD_PRESETS)}")
    rules: dict[str | None, tuple[tuple[str, ...], str]] = {
        "auto": (common, ", ".join(common)),
        "libx264": x26x, "libx265": x26x, "h264_nvenc": nvenc, "hevc_nvenc": nvenc,
        "libsvtav1": ((*common, *(str(i) for i in range(14))), f"0 to 13, or {span}"),
        "libvpx-vp9": ((*common, *(str(i) for i in range(-8, 9))), f"-8 to 8 (cpu-used), or {span}"),
    }
    every = tuple(dict.fromkeys(p for names, _ in rules.values() for p in names))
    rules[None] = (every, "a preset of x264/x265, NVENC (p1 to p7), SVT-AV1 (0 to 13) or VP9 (-8 to 8)")
    return rules


PRESETS = _preset_table()


def _check_encoder(value: str) -> str:
    if value != "auto" and value not in ENCODER_NAMES:
        raise _fail(f"expected auto or one of {', '.join(ENCODER_NAMES)}, got {brief(value)}")
    return value


def one_of(*choices: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in choices:
            raise _fail(f"expected one of {', '.join(choices)}, got {brief(value)}")
        return value
    return AfterValidator(check)


_BITRATE_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmg]?)", re.IGNORECASE)


def _check_bitrate(value: Any) -> str | None:
    """A bit rate as encode.parse_bitrate reads it: `6M`, `800k`, `2.5M` or bits per second."""
    if value is None:
        return None
    wrong = _fail(f"expected a bit rate like 6M, 800k or 6000000 (bits per second), got {brief(value)}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise wrong
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise wrong
        text = str(int(value)) if float(value).is_integer() else str(value)
    else:
        text = value.strip()
    m = _BITRATE_RE.fullmatch(text)
    if m is None:
        raise wrong
    bits = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]
    if not MIN_BITRATE <= bits <= MAX_BITRATE:
        raise _fail(f"must be from 1k to 1G bits per second, got {brief(value)}")
    return text


def _check_output(value: str) -> str:
    from hotfolder.jobs import output_name  # jobs imports this module

    try:
        output_name(value, "x")
    except ValueError as exc:
        text = str(exc).removeprefix("output: ")
        raise _fail(clip(text, 160)) from None
    return value


# --- the schemas -----------------------------------------------------------------------------

class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


Pixels = typing.Annotated[int, Field(ge=16, le=8192, multiple_of=2),
                          Words(problem="must be an even number of pixels from 16 to 8192")]
Seconds = typing.Annotated[float, Field(gt=0)]
SecondsOrZero = typing.Annotated[float, Field(ge=0)]
Count = typing.Annotated[int, Field(gt=0)]


class _RenderFields(_Schema):
    """What a `render:` block may say, config and sidecar alike."""

    DEFAULT_ENCODER: ClassVar[str | None] = "auto"  # what a preset is checked against when no encoder is given

    width: Pixels = 1920
    height: Pixels = 1080
    fps: typing.Annotated[int, Field(ge=1, le=240)] = 30
    encoder: typing.Annotated[str, AfterValidator(_check_encoder)] | None = None
    crf: typing.Annotated[int, Field(ge=0, le=63)] = 20
    preset: Any = "veryfast"
    bitrate: typing.Annotated[Any, AfterValidator(_check_bitrate)] = None
    background: str | None = None
    tail_ms: typing.Annotated[int, Field(ge=0, le=MAX_TAIL_MS),
                              Words(problem=f"must be from 0 to {MAX_TAIL_MS} (milliseconds after the last line)")] = 2000

    @field_validator("preset")
    @classmethod
    def _preset_for_encoder(cls, value: Any, info: ValidationInfo) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _fail(f"expected a string, got {brief(value)}")
        text = str(value)
        if "encoder" in info.data:  # given and valid, or not given (None)
            encoder = info.data["encoder"] if info.data["encoder"] is not None else cls.DEFAULT_ENCODER
        else:                       # given, but not an encoder: any encoder's preset will do here
            encoder = None
        names, words = PRESETS[encoder]
        if text not in names:
            if encoder is None:
                what = words
            elif encoder == "auto":
                what = f"one of {words} (the presets every encoder takes: encoder auto may pick any)"
            else:
                what = f"a preset of {encoder} ({words})"
            raise _fail(f"expected {what}, got {brief(value)}")
        return text


class RenderModel(_RenderFields):
    """The config's `render:` block."""

    fonts_dir: str | None = None
    gpu: typing.Annotated[int, Field(ge=0), Words(problem="must be a GPU index (0 or more)")] | None = None


class SidecarRenderModel(_RenderFields):
    """A job sidecar's `render:` block: no paths on the render host."""

    DEFAULT_ENCODER: ClassVar[str | None] = None  # the config's encoder, unknown here: any encoder's preset

    @field_validator("background")
    @classmethod
    def _colour_only(cls, value: str | None) -> str | None:
        if value is not None and any(c in value for c in "/\\."):
            # a sidecar comes from anyone with write access to the inbox: no paths on the render host
            raise _fail("must be a colour (#rrggbb or a name); name images and videos in the project as media")
        return value


assert set(SidecarRenderModel.model_fields) == SIDECAR_RENDER_KEYS  # the keys a sidecar may override, as documented


def _subfolder_name(name: Any) -> str:
    if not isinstance(name, str) or not name or "/" in name or name.startswith(".") or name.isdigit():
        raise _fail("a subfolder name must be a plain, non-numeric folder name")
    return name


Priorities = typing.Annotated[dict[typing.Annotated[Any, AfterValidator(_subfolder_name)], int],
                              Words(expected="a mapping of inbox subfolder name to priority number")]


def _resolve_root(value: str, info: ValidationInfo) -> Path:
    root = Path(value).expanduser()
    base = (info.context or {}).get("base_dir")
    if not root.is_absolute() and base is not None:
        root = Path(base) / root
    return Path(*root.parts)  # normalise without touching the filesystem (the share may be away)


class HotfolderModel(_Schema):
    root: typing.Annotated[str, Field(min_length=1), Words(problem="must name a folder"),
                           AfterValidator(_resolve_root)]
    priorities: Priorities | None = None
    default_priority: int = 50


def _check_notify(raw: Any, info: ValidationInfo) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(f"expected a mapping, got {brief(raw)}")
    try:
        from hotfolder.notify import parse_notify_config
    except ImportError:
        return dict(raw)  # notifications not built: keep the raw block, checked for shape only
    try:
        parse_notify_config(raw, "notify", base_dir=(info.context or {}).get("base_dir"))
    except ValueError as exc:
        text = str(exc)
        raise _fail(text if text.startswith("notify") else f"notify: {text}", keyed=True) from None
    return dict(raw)


class ConfigModel(_Schema):
    hotfolders: typing.Annotated[list[HotfolderModel], Field(min_length=1),
                                 Words(problem="expected a non-empty list of hot folders",
                                       expected="a non-empty list of hot folders",
                                       missing="missing; list at least one hot folder (- root: /srv/karaoke)")]
    settle_seconds: SecondsOrZero = 2.0
    watch: typing.Annotated[str, one_of(*WATCH_MODES)] = "auto"
    poll_interval: Seconds = 1.0
    workers: Count = 1
    max_attempts: Count = 3
    render: RenderModel | None = None
    notify: typing.Annotated[Any, AfterValidator(_check_notify)] = None
    rescan_interval: Seconds = 5.0
    lease_seconds: typing.Annotated[float, Field(ge=3),
                                    Words(problem="must be at least 3 (the lease is refreshed every second)")] = 30.0
    media_wait_seconds: SecondsOrZero = 30.0
    abort_grace_seconds: Seconds = 4.0
    status_interval: Seconds = 1.0
    log_tail_lines: typing.Annotated[int, Field(ge=0)] = 30
    history: Count = 50
    stall_seconds: SecondsOrZero = 300.0
    status_queue_rows: Count = 200
    max_video_seconds: Seconds = 14400.0
    unused_after_seconds: SecondsOrZero = 600.0

    @field_validator("hotfolders")
    @classmethod
    def _roots_once(cls, value: list[HotfolderModel]) -> list[HotfolderModel]:
        seen: set[Any] = set()
        for i, h in enumerate(value):
            if h.root in seen:
                raise _fail(f"hotfolders[{i}].root: {clip(str(h.root))} is listed twice", keyed=True)
            seen.add(h.root)
        return value


_TOP_KEYS = set(ConfigModel.model_fields)


def _job_urls(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, dict):
        if set(raw) - {"urls"}:
            raise _fail("only 'urls' may be given here")
        raw = raw.get("urls")
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(u, str) for u in raw):
        return tuple(raw)
    raise _fail("expected a URL or a list of URLs")


class SidecarModel(_Schema):
    """A job sidecar (`song.ass.yaml`)."""

    priority: int | None = None
    output: typing.Annotated[str, Words(expected="a file name"), AfterValidator(_check_output)] | None = None
    render: SidecarRenderModel | None = None
    notify: typing.Annotated[Any, AfterValidator(_job_urls)] = None


_SIDECAR_KEYS = tuple(SidecarModel.model_fields)


# --- validation ------------------------------------------------------------------------------

def _render_overrides(model: BaseModel | None) -> dict[str, Any]:
    """The keys a `render:` block gave, as RenderSettings field values (paths as Path)."""
    if model is None:
        return {}
    out = {key: getattr(model, key) for key in model.model_fields_set}
    if out.get("encoder", "auto") is None:
        out.pop("encoder")  # `encoder: null`: the default
    if out.get("fonts_dir") is not None:
        out["fonts_dir"] = Path(out["fonts_dir"]).expanduser()
    return out


def _render_model_for(allowed: frozenset[str] | None) -> type[_RenderFields]:
    if allowed is None or allowed == frozenset(RenderModel.model_fields):
        return RenderModel
    if allowed == SIDECAR_RENDER_KEYS:
        return SidecarRenderModel
    raise ValueError(f"no render schema for the keys {sorted(allowed)}")


def parse_render(raw: Any, where: str = "render", allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """Validate a `render:` mapping; returns RenderSettings field overrides (paths as Path).
    ConfigError lists every problem, each starting with `where`."""
    model = _render_model_for(allowed)
    try:
        validated = model.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise ConfigError(_problems(model, exc, prefix=where)) from None
    return _render_overrides(validated)


def _validate_config(raw: Any, base_dir: Path | None) -> ConfigModel:
    try:
        return ConfigModel.model_validate({} if raw is None else raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_problems(ConfigModel, exc, top="config: expected a mapping")) from None


def _to_config(m: ConfigModel, base_dir: Path | None) -> Config:
    kw: dict[str, Any] = {name: getattr(m, name) for name in ConfigModel.model_fields
                          if name not in ("hotfolders", "render", "notify")}
    for name in ("settle_seconds", "poll_interval", "rescan_interval", "lease_seconds", "media_wait_seconds",
                 "abort_grace_seconds", "status_interval", "stall_seconds", "max_video_seconds",
                 "unused_after_seconds"):
        kw[name] = float(kw[name])
    kw["hotfolders"] = tuple(HotfolderConfig(root=h.root,
                                             priorities=dict(DEFAULT_PRIORITIES) if h.priorities is None else dict(h.priorities),
                                             default_priority=h.default_priority) for h in m.hotfolders)
    render = _render_overrides(m.render)
    fonts = render.get("fonts_dir")
    if fonts is not None and not fonts.is_absolute() and base_dir is not None:
        render["fonts_dir"] = base_dir / fonts  # like a root: relative to the config's folder
    # the length limit travels with the render settings, so every render the daemon starts obeys it
    kw["render"] = RenderSettings().updated({**render, "max_video_seconds": kw["max_video_seconds"]})
    kw["notify"] = m.notify if m.notify is not None else {}  # a default is not validated: None when not given
    kw["base_dir"] = base_dir
    return Config(**kw)


def parse_config(raw: Any, base_dir: Path | None = None) -> Config:
    """Validate a config mapping. Relative roots (and `render.fonts_dir`) are taken relative to
    `base_dir` (the config's folder). ConfigError lists every problem."""
    return _to_config(_validate_config(raw, base_dir), base_dir)


def parse_sidecar_data(raw: Any) -> dict[str, Any]:
    """Validate a job sidecar's data: {priority, output, render (overrides), notify (URLs)}.
    ConfigError lists every problem."""
    try:
        m = SidecarModel.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise ConfigError(_problems(SidecarModel, exc, top=f"expected a mapping of {', '.join(_SIDECAR_KEYS)}")) from None
    return {"priority": m.priority, "output": m.output, "render": _render_overrides(m.render),
            "notify": m.notify or ()}


def _read(path: Path) -> boundedyaml.Document:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return boundedyaml.load_document(text, path)
    except ProjectError as exc:  # already `PATH:LINE: problem`, one line
        raise ConfigError(str(exc)) from None


def load_config(path: str | Path) -> Config:
    """The config file, validated (the schema only; `check_node` looks at this machine)."""
    path = Path(path)
    doc = _read(path)
    base_dir = path.resolve().parent
    try:
        config = parse_config(doc.data, base_dir=base_dir)
    except ConfigError as exc:
        raise ConfigError(doc.locate_all(path, exc.problems, MAX_PROBLEMS)) from None
    return _with_source(config, path, doc)


def _with_source(config: Config, path: Path, doc: boundedyaml.Document) -> Config:
    return replace(config, path=path, key_lines=dict(doc.lines))


def config_for_roots(roots: list[Path], **overrides: Any) -> Config:
    """A config for `hotfolder run --root DIR` without a file: defaults for everything else."""
    return parse_config({"hotfolders": [{"root": str(Path(r).resolve())} for r in roots], **overrides})


# --- node checks: can this machine do what the config asks? -----------------------------------

@dataclass(frozen=True)
class _Finding:
    key: str
    problem: str
    may_wait: bool = False   # a root that is not there (yet): the running daemon waits for it


@dataclass
class _Subject:
    """The parts of a config that the node checks look at, each with its key."""

    roots: list[tuple[str, Path]] = field(default_factory=list)
    encoder: str | None = None
    gpu: tuple[str, int] | None = None
    fonts_dir: Path | None = None


def _node_findings(s: _Subject) -> list[_Finding]:
    out: list[_Finding] = []
    for key, root in s.roots:
        out.extend(_root_findings(key, root))
    if s.encoder is not None and s.encoder != "auto":  # auto picks what works
        from hotfolder.encode import encoder_works  # the probe `hotfolder doctor` uses

        if not encoder_works(s.encoder):
            why = " (NVENC needs an NVIDIA GPU and its driver)" if s.encoder.endswith("_nvenc") else ""
            out.append(_Finding("render.encoder", f"{s.encoder} does not open on this machine{why}; "
                                                  "`hotfolder doctor` lists the encoders that do, or use auto"))
    if s.gpu is not None:
        out.extend(_gpu_findings(*s.gpu))
    if s.fonts_dir is not None:
        fonts = s.fonts_dir
        try:
            if not fonts.exists():
                out.append(_Finding("render.fonts_dir", f"{clip(str(fonts), 200)} does not exist"))
            elif not fonts.is_dir():
                out.append(_Finding("render.fonts_dir", f"{clip(str(fonts), 200)} is not a folder"))
            elif not os.access(fonts, os.R_OK | os.X_OK):
                out.append(_Finding("render.fonts_dir", f"{clip(str(fonts), 200)} cannot be read by this user"))
        except OSError as exc:
            out.append(_Finding("render.fonts_dir", f"cannot look at {clip(str(fonts), 200)}: {exc.strerror or exc}"))
    return out


def _root_findings(key: str, root: Path) -> list[_Finding]:
    shown = clip(str(root), 200)
    init = f"run `hotfolder init {shown}`, or mount the share"
    try:
        if not root.exists():
            return [_Finding(key, f"{shown} does not exist: {init}", may_wait=True)]
        if not root.is_dir():
            return [_Finding(key, f"{shown} is not a folder")]
        marker = root / ".hotfolder"
        if not marker.exists():
            return [_Finding(key, f"{shown} is not a hot folder (no .hotfolder/ in it): {init}", may_wait=True)]
        if not marker.is_dir():
            return [_Finding(key, f"{shown}/.hotfolder is not a folder: not a hot folder")]
    except OSError as exc:
        return [_Finding(key, f"cannot look at {shown}: {exc.strerror or exc}")]
    return []


def _gpu_findings(key: str, index: int) -> list[_Finding]:
    """The GPU index names an EGL device that opens. Mesa's software device (llvmpipe) counts:
    where it is the only device, index 0 renders there (slowly), as the render would."""
    from hotfolder.errors import RenderError
    from hotfolder.render.gl import create_context  # how the render opens its device

    try:
        ctx = create_context(index)
    except RenderError as exc:
        return [_Finding(key, clip(str(exc), 300))]
    except Exception as exc:  # a broken driver: the render would fail the same way
        return [_Finding(key, f"GPU {index} cannot be used: {clip(str(exc), 200)}")]
    ctx.release()
    return []


def _subject_of(config: Config, gpu: int | None) -> _Subject:
    r = config.render
    chosen = ("--gpu", gpu) if gpu is not None else ("render.gpu", r.gpu) if r.gpu is not None else None
    return _Subject(roots=[(f"hotfolders[{i}].root", h.root) for i, h in enumerate(config.hotfolders)],
                    encoder=r.encoder, gpu=chosen, fonts_dir=r.fonts_dir)


def _subject_of_raw(data: Any, problems: list[str], base_dir: Path | None, gpu: int | None) -> _Subject:
    """The node checks' subject from a config whose schema failed: every value the checks need
    whose key has no problem of its own, so one run reports the bad encoder name and the
    missing fonts folder alike."""
    bad = {p.partition(": ")[0] for p in problems}

    def ok(key: str) -> bool:
        return not any(key == b or key.startswith(b + ".") or key.startswith(b + "[") for b in bad)

    s = _Subject()
    if not isinstance(data, dict):
        return s
    hotfolders = data.get("hotfolders")
    if isinstance(hotfolders, list):
        for i, h in enumerate(hotfolders):
            key = f"hotfolders[{i}].root"
            if isinstance(h, dict) and isinstance(h.get("root"), str) and h["root"] and ok(key):
                root = Path(h["root"]).expanduser()
                if not root.is_absolute() and base_dir is not None:
                    root = base_dir / root
                s.roots.append((key, Path(*root.parts)))
    render = data.get("render")
    if isinstance(render, dict) and ok("render"):
        enc = render.get("encoder")
        if isinstance(enc, str) and ok("render.encoder"):
            s.encoder = enc
        g = render.get("gpu")
        if isinstance(g, int) and not isinstance(g, bool) and g >= 0 and ok("render.gpu"):
            s.gpu = ("render.gpu", g)
        fonts = render.get("fonts_dir")
        if isinstance(fonts, str) and ok("render.fonts_dir"):
            path = Path(fonts).expanduser()
            s.fonts_dir = base_dir / path if not path.is_absolute() and base_dir is not None else path
    if gpu is not None:
        s.gpu = ("--gpu", gpu)
    return s


def _split(findings: list[_Finding], roots_may_wait: bool) -> tuple[list[str], list[str]]:
    """(problems, warnings) as `key: problem` lines, not located yet."""
    problems, waiting = [], []
    for f in findings:
        (waiting if f.may_wait and roots_may_wait else problems).append(f"{f.key}: {f.problem}")
    return problems, waiting


def _locator(file: Path | None, lines: Mapping[str, int]) -> Any:
    """`FILE:LINE: key: problem` for a `key: problem` line; a command-line option (`--gpu`)
    is not in the file and stays as it is."""
    doc = boundedyaml.Document(None, dict(lines))

    def locate(message: str) -> str:
        return message if file is None or message.startswith("--") else doc.locate(file, message)
    return locate


def node_report(config: Config, gpu: int | None = None, *,
                roots_may_wait: bool = False) -> tuple[list[str], list[str]]:
    """(problems, warnings) of `check_node`: with `roots_may_wait` a root that is missing or
    has no .hotfolder/ is a warning (the daemon waits for a share that is not mounted yet)."""
    locate = _locator(config.path, config.key_lines)
    problems, waiting = _split(_node_findings(_subject_of(config, gpu)), roots_may_wait)
    return [locate(p) for p in problems], [locate(w) for w in waiting]


def check_node(config: Config, gpu: int | None = None, *, roots_may_wait: bool = False) -> list[str]:
    """What this machine cannot do of what `config` asks, one `FILE:LINE: key: problem` line
    each: an encoder that does not open here, a GPU index (`gpu`: `--gpu`, which wins over
    render.gpu) with no EGL device, a fonts folder that is not there, a root that is not a hot
    folder. With `roots_may_wait` a root that is missing or has no .hotfolder/ is left out
    (see `node_report` for those as warnings)."""
    return node_report(config, gpu, roots_may_wait=roots_may_wait)[0]


def check_config_file(path: str | Path, gpu: int | None = None, *,
                      roots_may_wait: bool = False) -> tuple[Config | None, list[str], list[str]]:
    """Everything `hotfolder run -c PATH --check` checks: the schema and this machine.
    Returns (the config, or None where the schema failed; problems; warnings). Warnings are
    only roots that are not there yet, and only with `roots_may_wait` (they are problems
    otherwise)."""
    path = Path(path)
    try:
        doc = _read(path)
    except ConfigError as exc:
        return None, exc.problems, []
    base_dir = path.resolve().parent
    try:
        config: Config | None = _with_source(parse_config(doc.data, base_dir=base_dir), path, doc)
    except ConfigError as exc:
        config = None
        schema = exc.problems
        subject = _subject_of_raw(doc.data, schema, base_dir, gpu)
    else:
        schema = []
        subject = _subject_of(config, gpu)
    node, waiting = _split(_node_findings(subject), roots_may_wait)
    locate = _locator(path, doc.lines)
    # in the file's order, schema and node problems alike; `--gpu` (not in the file) first
    problems = [p for p in node if p.startswith("--")]
    problems += doc.locate_all(path, schema + [p for p in node if not p.startswith("--")], MAX_PROBLEMS)
    return config, problems, [locate(w) for w in waiting]
