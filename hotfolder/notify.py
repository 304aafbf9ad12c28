"""Notifications through apprise: job done/failed/cancelled, batch finished, daemon trouble.

Functional core: `parse_notify_config`, `mask_url`, `allowed_job_urls` (which of a job's
sidecar URLs `notify.job_urls` lets through) and the message builders (`job_message`,
`batch_message`, `error_message`) are plain data in, plain data out.
Imperative shell: `Notifier` queues messages and a background thread delivers them, with
retries, back-off and a time-out per attempt, so a slow or dead endpoint never holds up a render.
"""
from __future__ import annotations

import collections
import functools
import ipaddress
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote, unquote, urlsplit

import apprise

from hotfolder.status_page import format_duration

log = logging.getLogger(__name__)

EVENTS: tuple[str, ...] = ("job_done", "job_failed", "job_cancelled", "batch_done", "daemon_error")
DEFAULT_EVENTS: frozenset[str] = frozenset({"job_failed", "batch_done"})
JOB_EVENTS: frozenset[str] = frozenset({"job_done", "job_failed", "job_cancelled"})

# Query keys whose values are harmless to show; every other query value is masked.
_SAFE_QUERY_KEYS = frozenset({
    "method", "format", "overflow", "priority", "mode", "cto", "rto", "verify", "image",
    "tags", "tag", "smtp", "port", "from", "to", "name", "user", "channel", "topic",
    "retry", "wait", "optional",   # apprise's own delivery options
})
_MASK = "****"


# ---------------------------------------------------------------- configuration

@dataclass(frozen=True)
class NotifyConfig:
    urls: tuple[str, ...] = ()
    config: str | None = None          # apprise YAML/TEXT configuration file (or URL)
    tags: tuple[str, ...] = ()         # select services of `config` by tag (OR); empty = all
    events: frozenset[str] = DEFAULT_EVENTS
    attach_poster: bool = True
    timeout: float = 10.0              # seconds for one delivery attempt to one target
    attempts: int = 3                  # tries per target before the message is dropped
    backoff: tuple[float, ...] = (1.0, 4.0)  # waits between tries (last one repeats)
    queue_size: int = 100              # messages waiting; the oldest is dropped when full
    # A job sidecar's own URLs: False = ignored (anyone who can write to the inbox could make the
    # daemon POST anywhere), True = any URL, or the URL prefixes allowed (schemes in lower case).
    job_urls: bool | tuple[str, ...] = False

    @property
    def has_targets(self) -> bool:
        return bool(self.urls or self.config)


_KEYS = ("urls", "config", "tags", "events", "attach_poster", "timeout", "attempts", "backoff", "queue_size",
         "job_urls")


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{key}: expected a string or a list of strings")


def _number(value: Any, key: str, *, minimum: float, integer: bool = False) -> float:
    ok_type = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{key}: expected {kind} >= {minimum}, got {value!r}")
    return value


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


@functools.lru_cache(maxsize=1)
def _apprise_schemes() -> frozenset[str]:
    """Every scheme apprise has a service for (empty when apprise cannot say: then unchecked)."""
    schemes: set[str] = set()
    try:
        for entry in apprise.Apprise().details(show_disabled=True).get("schemas", ()):
            for key in ("protocols", "secure_protocols"):
                names = entry.get(key) or ()
                schemes.update(n.lower() for n in ([names] if isinstance(names, str) else names)
                               if isinstance(n, str))
    except Exception:  # noqa: BLE001 - an apprise that cannot list its services checks nothing
        return frozenset()
    return frozenset(schemes)


def _lower_scheme(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return scheme.lower() + sep + rest if sep else url


def _job_urls(value: Any, key: str) -> bool | tuple[str, ...]:
    if value is None or value is False:
        return False
    if value is True:
        return True
    single = isinstance(value, str)
    if single:
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{key}: expected true, false or a list of URL prefixes "
                         f"(e.g. [ntfy://ntfy.sh/, mailtos://]), got {type(value).__name__}")
    prefixes: list[str] = []
    for i, prefix in enumerate(value):
        name = key if single else f"{key}[{i}]"
        # The value itself is never echoed: it may hold a password.
        scheme, sep, _ = prefix.strip().partition("://") if isinstance(prefix, str) else ("", "", "")
        if not sep or not _SCHEME.fullmatch(scheme):
            raise ValueError(f"{name}: expected a URL prefix that starts with a scheme and ://, "
                             f"e.g. ntfy://ntfy.sh/ or mailtos://")
        known = _apprise_schemes()
        if known and scheme.lower() not in known:
            raise ValueError(f"{name}: {scheme.lower()}:// is not a scheme apprise knows")
        prefixes.append(_lower_scheme(prefix.strip()))
    return tuple(prefixes)


def parse_notify_config(raw: Mapping[str, Any] | None, where: str = "notify",
                        base_dir: Path | None = None) -> NotifyConfig:
    """Validate the `notify:` block of the config file. Errors are ValueError naming the key
    (`where` is its prefix, e.g. "hotfolder.yaml: notify"). A relative `config` path is taken
    relative to `base_dir` (the config file's folder) when given."""
    if raw is None:
        return NotifyConfig()
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in _KEYS:
            raise ValueError(f"{where}.{key}: unknown key (known: {', '.join(_KEYS)})")
    urls = _str_list(raw.get("urls"), f"{where}.urls")
    for i, url in enumerate(urls):
        if _instantiate(url) is None:
            raise ValueError(f"{where}.urls[{i}]: not a URL apprise understands: {mask_url(url)}")
    config = raw.get("config")
    if config is not None:
        if not isinstance(config, str) or not config.strip():
            raise ValueError(f"{where}.config: expected a path to an apprise configuration file")
        if "://" not in config:
            path = Path(config).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            if not path.is_file():
                raise ValueError(f"{where}.config: file not found: {path}")
            config = str(path)
    tags = _str_list(raw.get("tags"), f"{where}.tags")
    events: frozenset[str] = DEFAULT_EVENTS
    if "events" in raw:
        names = _str_list(raw["events"], f"{where}.events")
        for name in names:
            if name not in EVENTS:
                raise ValueError(f"{where}.events: unknown event {name!r} (known: {', '.join(EVENTS)})")
        events = frozenset(names)
    attach = raw.get("attach_poster", True)
    if not isinstance(attach, bool):
        raise ValueError(f"{where}.attach_poster: expected true or false")
    timeout = float(_number(raw.get("timeout", 10.0), f"{where}.timeout", minimum=0.1))
    attempts = int(_number(raw.get("attempts", 3), f"{where}.attempts", minimum=1, integer=True))
    backoff_raw = raw.get("backoff", [1.0, 4.0])
    if isinstance(backoff_raw, (int, float)) and not isinstance(backoff_raw, bool):
        backoff_raw = [backoff_raw]
    if not isinstance(backoff_raw, (list, tuple)):
        raise ValueError(f"{where}.backoff: expected a list of seconds")
    backoff = tuple(float(_number(v, f"{where}.backoff[{i}]", minimum=0)) for i, v in enumerate(backoff_raw))
    queue_size = int(_number(raw.get("queue_size", 100), f"{where}.queue_size", minimum=1, integer=True))
    job_urls = _job_urls(raw.get("job_urls"), f"{where}.job_urls")
    return NotifyConfig(urls=urls, config=config, tags=tags, events=events, attach_poster=attach,
                        timeout=timeout, attempts=attempts, backoff=backoff or (0.0,), queue_size=queue_size,
                        job_urls=job_urls)


# ---------------------------------------------------------------- a job's own URLs (pure)

# Query keys through which apprise services take the host they connect to (mailtos' smtp=, …).
_HOST_QUERY_KEYS = frozenset({"smtp", "host", "relay", "gateway", "server"})


def _internal_host(host: str | None, *, loose: bool) -> str | None:
    """The canonical spelling of `host` when it is a literal address that is not public
    (loopback, link-local, private, unspecified, multicast, reserved, …) or `localhost`; else None.
    `loose`: also the short and numeric spellings the system resolver takes without DNS
    (127.1, 0x7f.0.0.1, 2130706433); for hosts, not for any query value ("?priority=5")."""
    if not host:
        return None
    h = unquote(host).strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if h.rstrip(".") == "localhost" or h.rstrip(".").endswith(".localhost"):
        return "localhost"
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        addr = ipaddress.ip_address(h)
    except ValueError:
        if not loose:
            return None
        try:
            addr = ipaddress.IPv4Address(socket.inet_aton(h))
        except (OSError, ValueError):
            return None
    checks = [addr]
    if isinstance(addr, ipaddress.IPv6Address):
        checks += [a for a in (addr.ipv4_mapped, addr.sixtofour) if a is not None]
    if any(not a.is_global or a.is_multicast for a in checks):
        return str(addr)
    return None


def _apprise_host(url: str) -> str | None:
    """The host as apprise itself reads it (a second opinion next to urlsplit's)."""
    try:
        from apprise.utils.parse import parse_url
        parsed = parse_url(url, verify_host=False)
        return parsed.get("host") if parsed else None
    except Exception:  # noqa: BLE001 - another apprise version: urlsplit's reading stands alone
        return None


def _internal_addresses(url: str) -> frozenset[str] | None:
    """The non-public literal addresses `url` would reach: its host, and query values that are
    one (e.g. mailtos://…?smtp=10.0.0.5). None when the URL cannot be read."""
    try:
        parts = urlsplit(url)
        hosts = [parts.hostname, _apprise_host(url)]
    except ValueError:
        return None
    found = {_internal_host(h, loose=True) for h in hosts}
    for pair in parts.query.split("&"):
        key, _, value = (unquote(x).strip() for x in pair.partition("="))
        host, colon, port = value.rpartition(":")
        for candidate in (value, host if colon and port.isdigit() else None):
            found.add(_internal_host(candidate, loose=key.lower() in _HOST_QUERY_KEYS))
    return frozenset(a for a in found if a is not None)


def _job_url_allowed(policy: bool | tuple[str, ...], url: str) -> bool:
    if policy is True:
        return True
    if not policy:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False  # parsers drop or split on these differently: what we check is not what is sent
    url = _lower_scheme(url)
    internal = _internal_addresses(url)
    if internal is None:
        return False
    for prefix in policy:
        # An internal address only where the operator wrote that very address into the prefix.
        if url.startswith(prefix) and internal <= (_internal_addresses(prefix) or frozenset()):
            return True
    return False


def allowed_job_urls(config: NotifyConfig, urls: Iterable[Any] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(allowed, refused): which of a job sidecar's notify URLs `config.job_urls` lets through.
    False: none; True: all; a list of prefixes: the URLs that start with one of them (the scheme
    compared in lower case, the rest as written), where a URL whose host (or a query value, such
    as mailtos' smtp=) is a literal loopback, link-local, private or otherwise non-public address,
    or localhost, also needs a matching prefix that names that address. Host names are not
    resolved. Blank entries and non-strings are dropped; URLs come back stripped."""
    allowed: list[str] = []
    refused: list[str] = []
    for url in urls or ():
        if not isinstance(url, str) or not url.strip():
            continue
        url = url.strip()
        (allowed if _job_url_allowed(config.job_urls, url) else refused).append(url)
    return tuple(allowed), tuple(refused)


# ---------------------------------------------------------------- masking secrets

def _instantiate(url: str) -> Any:
    """An apprise service for `url`, or None. Apprise warns about bad URLs with the URL in
    the text, so its logger is silenced for the duration."""
    alog = logging.getLogger("apprise")
    old = alog.disabled
    alog.disabled = True
    try:
        return apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception:  # noqa: BLE001 - a URL apprise cannot parse is simply not a target
        return None
    finally:
        alog.disabled = old


def _mask_token(token: str) -> str:
    return token[0] + "..." + token[-1] if len(token) >= 8 else _MASK


def _mask_parts(url: str) -> tuple[str, set[str]]:
    """(masked url, secrets found in it)."""
    secrets: set[str] = set()
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>", {url}
    if parts.password:
        secrets.add(unquote(parts.password))
    query: list[str] = []
    # Split by hand: apprise reads "+" literally (json://…?+X-Header=v), parse_qsl would not.
    for pair in filter(None, parts.query.split("&")):
        key, _, value = (unquote(x) for x in pair.partition("="))
        if key.lower() in _SAFE_QUERY_KEYS or not value:
            query.append(f"{quote(key, safe='+-:')}={quote(value, safe='@,.:')}")
        else:
            secrets.add(value)
            query.append(f"{quote(key, safe='+-:')}={_MASK}")
    service = _instantiate(url)
    base = None
    if service is not None:
        try:
            private = urlsplit(service.url(privacy=True))
            base = f"{private.scheme}://{private.netloc}{unquote(private.path)}"  # for reading, not for use
            shown = unquote(base)
            # Whatever apprise hid in the host or path (tokens, keys) is a secret too.
            host = parts.netloc.rpartition("@")[2].split(":")[0]  # .hostname would lowercase it
            for piece in [host, *parts.path.split("/")]:
                piece = unquote(piece)
                if len(piece) >= 4 and piece not in shown:
                    secrets.add(piece)
        except Exception:  # noqa: BLE001 - fall back to the generic masking below
            base = None
    if base is None:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        if parts.username:
            netloc = f"{parts.username}{':' + _MASK if parts.password else ''}@{netloc}"
        segments = []
        for seg in parts.path.split("/"):
            # Long opaque path pieces are how most services carry tokens.
            if len(seg) >= 16:
                secrets.add(unquote(seg))
                seg = _mask_token(seg)
            segments.append(seg)
        base = f"{parts.scheme}://{netloc}{'/'.join(segments)}"
    masked = base + ("?" + "&".join(query) if query else "")
    return masked, {s for s in secrets if len(s) >= 3}


def mask_url(url: str) -> str:
    """`url` with passwords, tokens and query secrets hidden; scheme and host stay readable.
    Never raises."""
    try:
        return _mask_parts(url)[0]
    except Exception:  # noqa: BLE001 - masking must never be the thing that fails
        return "<URL hidden>"


def url_secrets(url: str) -> set[str]:
    """The secret substrings of `url` (what `mask_url` hides)."""
    try:
        return _mask_parts(url)[1]
    except Exception:  # noqa: BLE001
        return {url}


class _Redactor(logging.Filter):
    """Replaces known secrets in log records of libraries we do not control (apprise, urllib3
    log request URLs at debug level)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        with self.lock:
            self.secrets |= {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        with self.lock:
            secrets = sorted(self.secrets, key=len, reverse=True)
        if not secrets:
            return True
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001
            return True
        redacted = text
        for s in secrets:
            redacted = redacted.replace(s, _MASK)
            encoded = quote(s, safe="")
            if encoded != s:
                redacted = redacted.replace(encoded, _MASK)
        if redacted != text:
            record.msg, record.args = redacted, ()
        return True


_REDACTOR = _Redactor()
# A logger's filters see only records logged on that very logger, so each is named.
_REDACTED_LOGGERS = ("apprise", "urllib3", "urllib3.connectionpool", "urllib3.connection",
                     "urllib3.poolmanager", "urllib3.response", "urllib3.util.retry", "requests")


def _install_redactor(secrets: Iterable[str]) -> None:
    _REDACTOR.add(secrets)
    # On those loggers only: a password that is also a common word must not garble our own logs.
    for name in _REDACTED_LOGGERS:
        lg = logging.getLogger(name)
        if _REDACTOR not in lg.filters:
            lg.addFilter(_REDACTOR)


# ---------------------------------------------------------------- messages (pure)

@dataclass(frozen=True)
class Message:
    event: str
    title: str
    body: str                       # markdown
    notify_type: str = apprise.NotifyType.INFO
    attach: Path | None = None      # poster frame, when it exists


def _md(text: Any) -> str:
    """Text from file names made inert for markdown (a name like `*a*_b_` stays literal)."""
    out = []
    for ch in str(text):
        if ch in "\\`*_[]<>|#":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _log_tail(log_value: Any, lines: int = 8) -> str | None:
    if isinstance(log_value, list):
        text = "\n".join(str(x) for x in log_value)
    elif isinstance(log_value, str):
        text = log_value
    else:
        return None
    tail = [ln for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return "\n".join(tail) if tail else None


def _resolve(path_value: Any, root: Path | None) -> Path | None:
    if not path_value or not isinstance(path_value, str):
        return None
    p = Path(path_value)
    if not p.is_absolute() and root is not None:
        p = Path(root) / p
    return p


def job_message(event: str, report: Mapping[str, Any], root: Path | None = None,
                attach_poster: bool = True) -> Message:
    """The message for one finished job (event: job_done, job_failed or job_cancelled)."""
    name = str(report.get("name") or "?")
    duration = report.get("duration")
    host, renderer = report.get("host"), report.get("renderer")
    where = f" on {_md(host)}" if host else ""
    lines: list[str] = []
    if event == "job_done":
        title = f"Done: {name} ({format_duration(duration)})"
        ntype = apprise.NotifyType.SUCCESS
        lines.append(f"**{_md(name)}** rendered in {format_duration(duration)}{where}.")
        if report.get("output"):
            lines.append(f"Output: {_md(report['output'])}")
        facts = []
        if report.get("frames"):
            facts.append(f"{report['frames']} frames")
        if renderer:
            facts.append(f"renderer {_md(renderer)}")
        if report.get("attempts") and int(report["attempts"]) > 1:
            facts.append(f"{report['attempts']} attempts")
        if facts:
            lines.append(", ".join(facts))
    elif event == "job_failed":
        title = f"Failed: {name}"
        ntype = apprise.NotifyType.FAILURE
        lines.append(f"**{_md(name)}** failed{where} after {format_duration(duration)}.")
        lines.append(f"Reason: {_md(report.get('error') or 'unknown')}")
        if report.get("attempts"):
            lines.append(f"Attempts: {report['attempts']}")
        tail = _log_tail(report.get("log"))
        if tail:
            lines.append("Last log lines:\n\n```\n" + tail.replace("```", "'''") + "\n```")
    elif event == "job_cancelled":
        title = f"Cancelled: {name}"
        ntype = apprise.NotifyType.WARNING
        lines.append(f"**{_md(name)}** was cancelled{where}.")
        if report.get("error"):
            lines.append(f"Note: {_md(report['error'])}")
    else:
        raise ValueError(f"not a job event: {event!r}")
    poster = _resolve(report.get("poster"), root) if attach_poster else None
    attach = poster if poster is not None and poster.is_file() else None
    return Message(event=event, title=title, body="\n\n".join(lines), notify_type=ntype, attach=attach)


def _status_of(report: Mapping[str, Any]) -> str:
    status = str(report.get("status") or "")
    return {"done": "done", "failed": "failed", "cancelled": "cancelled"}.get(status, status or "unknown")


def batch_message(reports: Sequence[Mapping[str, Any]], total_seconds: float,
                  host: str | None = None, root: Path | None = None) -> Message:
    """One message for a drained queue: counts in the title, then one line per job."""
    counts = collections.Counter(_status_of(r) for r in reports)
    done, failed, cancelled = counts["done"], counts["failed"], counts["cancelled"]
    title = f"Batch finished: {done} done, {failed} failed"
    if cancelled:
        title += f", {cancelled} cancelled"
    lines = []
    for r in reports:
        name = _md(r.get("name") or "?")
        status = _status_of(r)
        dur = format_duration(r.get("duration"))
        if status == "done":
            out = f" → {_md(r['output'])}" if r.get("output") else ""
            lines.append(f"- ✅ **{name}** ({dur}){out}")
        elif status == "failed":
            lines.append(f"- ❌ **{name}** ({dur}): {_md(r.get('error') or 'unknown reason')}")
        else:
            lines.append(f"- ⚠️ **{name}** ({dur}): {status}")
    head = f"{len(reports)} job{'s' if len(reports) != 1 else ''} in {format_duration(total_seconds)}"
    if host or root:
        head += " (" + " ".join(x for x in [_md(host) if host else "", f"{_md(root)}" if root else ""] if x) + ")"
    body = head + ".\n\n" + "\n".join(lines) + f"\n\nTotal time: {format_duration(total_seconds)}"
    ntype = apprise.NotifyType.SUCCESS if not failed else apprise.NotifyType.WARNING
    return Message(event="batch_done", title=title, body=body, notify_type=ntype)


def error_message(message: str, host: str | None = None, root: Path | None = None) -> Message:
    where = " ".join(str(x) for x in (host, root) if x)
    title = f"hotfolder problem{' on ' + str(host) if host else ''}"
    body = _md(message) + (f"\n\n({_md(where)})" if where else "")
    return Message(event="daemon_error", title=title, body=body, notify_type=apprise.NotifyType.FAILURE)


# ---------------------------------------------------------------- delivery (shell)

@dataclass
class Target:
    """One service to deliver to, wrapped alone in an Apprise object so that markdown is
    converted for it and its outcome is its own."""
    masked: str
    apobj: apprise.Apprise


@dataclass
class Delivery:
    target: str          # masked URL
    ok: bool
    attempts: int
    error: str | None = None


@dataclass
class _Item:
    message: Message
    configured: bool                        # send to the configured targets
    extra_urls: tuple[str, ...] = ()        # this job's own targets


def _target_for(service: Any, timeout: float, url: str | None = None) -> Target:
    """`url`: the URL as the person wrote it (shown masked); services from an apprise config
    file only have apprise's own spelling of it."""
    try:
        written = url or service.url()
        masked = mask_url(written)
        _install_redactor(url_secrets(written))
    except Exception:  # noqa: BLE001
        masked = f"{getattr(service, 'service_name', 'service')} (URL hidden)"
    # Socket time-outs no longer than one attempt, so that a worker thread apprise gave up on
    # ends soon after.
    for attr in ("socket_connect_timeout", "socket_read_timeout"):
        current = getattr(service, attr, None)
        if isinstance(current, (int, float)) and current > timeout:
            setattr(service, attr, timeout)
    apobj = apprise.Apprise()
    apobj.add(service)
    return Target(masked=masked, apobj=apobj)


class Notifier:
    """Queues notifications and delivers them from one background thread.
    Every public method returns at once; `deliver` is the synchronous path (notify-test)."""

    def __init__(self, config: NotifyConfig | None = None, *, root: Path | None = None,
                 host: str | None = None) -> None:
        self.config = config or NotifyConfig()
        self.root = Path(root) if root is not None else None
        self.host = host or socket.gethostname()
        self._targets: list[Target] | None = None
        self._targets_lock = threading.Lock()
        self._queue: collections.deque[_Item] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0                 # messages given up (queue full, failed, or shut down)
        secrets: set[str] = set()
        for url in self.config.urls:
            secrets |= url_secrets(url)
        _install_redactor(secrets)

    @classmethod
    def from_config(cls, config: NotifyConfig | Mapping[str, Any] | None, *, root: Path | None = None,
                    host: str | None = None) -> "Notifier":
        if not isinstance(config, NotifyConfig):
            config = parse_notify_config(config)
        return cls(config, root=root, host=host)

    # -- the daemon's calls: build the message, queue it, return

    # `root`: the hot folder the report's relative paths (poster) belong to; default: self.root.

    def job_done(self, report: Mapping[str, Any], extra_urls: Sequence[str] = (), *, root: Path | None = None) -> None:
        self._job("job_done", report, extra_urls, root)

    def job_failed(self, report: Mapping[str, Any], extra_urls: Sequence[str] = (), *, root: Path | None = None) -> None:
        self._job("job_failed", report, extra_urls, root)

    def job_cancelled(self, report: Mapping[str, Any], extra_urls: Sequence[str] = (), *,
                      root: Path | None = None) -> None:
        self._job("job_cancelled", report, extra_urls, root)

    def batch_done(self, reports: Sequence[Mapping[str, Any]], total_seconds: float, *,
                   root: Path | None = None) -> None:
        if "batch_done" in self.config.events and self.config.has_targets:
            self._guarded(lambda: self._enqueue(_Item(
                batch_message(reports, total_seconds, self.host, root or self.root), configured=True)))

    def daemon_error(self, message: str, *, root: Path | None = None) -> None:
        if "daemon_error" in self.config.events and self.config.has_targets:
            self._guarded(lambda: self._enqueue(_Item(
                error_message(message, self.host, root or self.root), configured=True)))

    def _job(self, event: str, report: Mapping[str, Any], extra_urls: Sequence[str], root: Path | None) -> None:
        self._guarded(lambda: self._queue_job(event, report, extra_urls, root))

    def _queue_job(self, event: str, report: Mapping[str, Any], extra_urls: Sequence[str],
                   root: Path | None) -> None:
        # The job's own URLs hear about that job whatever `events` says: someone asked for it.
        # But only those notify.job_urls allows: whoever can write to the inbox writes the sidecar.
        configured = event in self.config.events and self.config.has_targets
        extra, refused = allowed_job_urls(self.config, extra_urls)
        if refused:
            why = "not allowed by notify.job_urls" if self.config.job_urls else "notify.job_urls is off"
            log.warning("job %s: ignoring its sidecar's notify URL%s %s (%s)", report.get("name") or "?",
                        "s" if len(refused) > 1 else "", ", ".join(mask_url(u) for u in refused), why)
        if not configured and not extra:
            return
        for url in extra:
            _install_redactor(url_secrets(url))
        self._enqueue(_Item(
            job_message(event, report, Path(root) if root is not None else self.root, self.config.attach_poster),
            configured=configured, extra_urls=extra))

    @staticmethod
    def _guarded(action: Any) -> None:
        try:
            action()
        except Exception:  # noqa: BLE001 - a notification problem must never reach the renderer
            log.exception("could not queue a notification")

    def _enqueue(self, item: _Item) -> None:
        with self._cond:
            if self._closed:
                log.warning("notifier closed; not sending %r", item.message.title)
                self.dropped += 1
                return
            while len(self._queue) >= self.config.queue_size:
                old = self._queue.popleft()
                self.dropped += 1
                log.warning("notification queue full (%d); dropped the oldest: %r",
                            self.config.queue_size, old.message.title)
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hotfolder-notify", daemon=True)
                self._thread.start()
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking messages, deliver what is queued for at most `timeout` seconds, then
        give up on the rest (logged). True when everything queued was handled."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is None:
            return True
        thread.join(max(0.0, timeout))
        if thread.is_alive():
            self._abort.set()
            with self._cond:
                left = len(self._queue)
                self._queue.clear()
                self.dropped += left
            log.warning("notifier closed after %.1fs with deliveries unfinished; %d queued message(s) dropped",
                        timeout, left)
            return False
        return True

    # -- the sender

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed and drained
                item = self._queue.popleft()
            if self._abort.is_set():
                return
            try:
                results = self.deliver(item.message, configured=item.configured, extra_urls=item.extra_urls)
                if any(not r.ok for r in results):
                    self.dropped += 1
            except Exception:  # noqa: BLE001 - the sender thread must survive anything
                log.exception("notification %r could not be delivered", item.message.title)

    def targets(self) -> list[Target]:
        """The configured targets (urls, then the apprise config file's services matching
        `tags`), built once."""
        with self._targets_lock:
            if self._targets is None:
                self._targets = self._build_targets()
            return list(self._targets)

    def _build_targets(self) -> list[Target]:
        targets: list[Target] = []
        for url in self.config.urls:
            service = _instantiate(url)
            if service is None:
                log.warning("notification URL not understood by apprise: %s", mask_url(url))
                continue
            targets.append(_target_for(service, self.config.timeout, url))
        if self.config.config:
            ac = apprise.AppriseConfig()
            if not ac.add(self.config.config):
                log.warning("could not read apprise configuration %s", self.config.config)
            else:
                holder = apprise.Apprise()
                holder.add(ac)
                tag: Any = list(self.config.tags) if self.config.tags else apprise.common.MATCH_ALL_TAG
                try:
                    services = list(holder.find(tag=tag))
                except Exception:  # noqa: BLE001
                    log.exception("could not load services from %s", self.config.config)
                    services = []
                if not services:
                    log.warning("apprise configuration %s has no services%s", self.config.config,
                                f" tagged {', '.join(self.config.tags)}" if self.config.tags else "")
                targets.extend(_target_for(s, self.config.timeout) for s in services)
        return targets

    def deliver(self, message: Message, *, configured: bool = True,
                extra_urls: Sequence[str] = ()) -> list[Delivery]:
        """Send `message` now (in the calling thread): to the configured targets when
        `configured`, and to `extra_urls` as given (the operator's; a job's own URLs are
        filtered by `allowed_job_urls` before they get here). Failed targets are retried with back-off, all
        targets of one round before the next, so a hung one only costs its time-out."""
        targets = self.targets() if configured else []
        for url in extra_urls:
            service = _instantiate(url)
            if service is None:
                log.warning("job notification URL not understood by apprise: %s", mask_url(url))
                continue
            targets.append(_target_for(service, self.config.timeout, url))
        attach = None
        if message.attach is not None and Path(message.attach).is_file():
            attach = apprise.AppriseAttachment(str(message.attach))
        pending = list(range(len(targets)))
        results: dict[int, Delivery] = {}
        cfg = self.config
        for attempt in range(1, cfg.attempts + 1):
            still: list[int] = []
            for i in pending:
                ok, error = self._attempt(targets[i], message, attach)
                results[i] = Delivery(target=targets[i].masked, ok=ok, attempts=attempt, error=error)
                if not ok:
                    still.append(i)
            pending = still
            if not pending or attempt == cfg.attempts:
                break
            delay = cfg.backoff[min(attempt - 1, len(cfg.backoff) - 1)]
            log.info("notification %r: %d target(s) failed, retrying in %.1fs", message.title, len(pending), delay)
            if self._abort.wait(delay):
                break
        for i in pending:
            log.error("notification %r to %s dropped after %d attempt(s): %s", message.title,
                      targets[i].masked, results[i].attempts, results[i].error or "failed")
        return [results[i] for i in sorted(results)]

    def _attempt(self, target: Target, message: Message, attach: Any) -> tuple[bool, str | None]:
        start = time.monotonic()
        try:
            result = target.apobj.notify(
                body=message.body, title=message.title, notify_type=message.notify_type,
                body_format=apprise.NotifyFormat.MARKDOWN, attach=attach, timeout=self.config.timeout)
        except Exception as exc:  # noqa: BLE001 - one service's crash is that service's failure
            return False, f"{type(exc).__name__}"
        if result:
            log.debug("notification %r sent to %s in %.2fs", message.title, target.masked,
                      time.monotonic() - start)
            return True, None
        status = getattr(result, "status", None)
        reason = getattr(status, "name", None) or "failed"
        return False, f"{reason.lower()} after {time.monotonic() - start:.1f}s"
