"""This daemon as the hot folders it serves see it: who it is (host, GPU instance, lease), the
config in force, the renders it runs, and the alerts it has sent. The daemon owns one Node and
hands it to each hot folder; hot folders read it and add to it, and never call the daemon.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from hotfolder.claims import HOST
from hotfolder.config import Config
from hotfolder.queue import Lease
from hotfolder.settings import RenderSettings

ALERT_EVERY = 3600.0   # a daemon_error of one kind at most once an hour


@dataclass
class Node:
    config: Config
    gpu: int | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    wake_event: threading.Event = field(default_factory=threading.Event)
    running: list[Any] = field(default_factory=list)     # the renders under way (folder.Running)
    stopped_for_good: bool = False                        # after SIGTERM: status says "not_running"
    _alerts: dict[str, float] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        """One per machine, or per GPU instance (hotfolder@N)."""
        return HOST if self.gpu is None else f"{HOST}-gpu{self.gpu}"

    @property
    def lease(self) -> Lease:
        return Lease(HOST, os.getpid(), self.token)

    def wake(self) -> None:
        """Something happened (a watch event, a project read): the loop should look now."""
        self.wake_event.set()

    def base_settings(self) -> RenderSettings:
        s = self.config.render
        return s.updated({"gpu": self.gpu}) if self.gpu is not None else s

    def alert(self, send: Callable[[str], None], message: str) -> None:
        """A daemon_error notification through `send`, at most once an hour per kind of trouble
        (the kind is the message up to its first ';')."""
        key = message.split(";")[0]
        now = time.monotonic()
        if now - self._alerts.get(key, -1e9) >= ALERT_EVERY:
            self._alerts[key] = now
            send(message)
