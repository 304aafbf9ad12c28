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
NODE_RETRY_SECONDS = 300.0   # a node that could not render tries a job again after this long


@dataclass
class Node:
    config: Config
    gpu: int | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    wake_event: threading.Event = field(default_factory=threading.Event)
    running: list[Any] = field(default_factory=list)     # the renders under way (folder.Running)
    stopped_for_good: bool = False                        # after SIGTERM: status says "not_running"
    _alerts: dict[str, float] = field(default_factory=dict)
    held: str | None = None          # why this node takes no job now (it cannot render)
    held_at: float = 0.0

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

    def hold_claims(self, why: str) -> None:
        """This machine cannot render (its GPU, its fonts): no job is claimed here for a while;
        the queue waits for it, or for another node, instead of failing job after job."""
        self.held, self.held_at = why, time.monotonic()

    def may_claim(self, now: float) -> bool:
        if self.held is not None and now - self.held_at >= NODE_RETRY_SECONDS:
            self.held = None   # try again: a job will tell whether it works now
        return self.held is None

    def hold_message(self) -> str | None:
        if self.held is None:
            return None
        return (f"{self.node_id} cannot render: {self.held}. No job starts on it; the queue waits "
                f"(it tries again every {NODE_RETRY_SECONDS / 60:.0f} minutes, or after `systemctl reload`).")

    def alert(self, send: Callable[[str], None], message: str) -> None:
        """A daemon_error notification through `send`, at most once an hour per kind of trouble
        (the kind is the message up to its first ';')."""
        key = message.split(";")[0]
        now = time.monotonic()
        if now - self._alerts.get(key, -1e9) >= ALERT_EVERY:
            self._alerts[key] = now
            send(message)
