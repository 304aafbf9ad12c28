"""Failpoints: named places in the filing sequence where a test can kill the daemon (kill -9)
to prove every crash point ends with exactly one report.

Off unless the environment names them: HOTFOLDER_FAILPOINTS="claim.renamed,file.moved" kills
this process with SIGKILL the first time it reaches any named point; "render.progress=hang"
makes it stop there for good instead (a render that makes no progress). Nothing else reads the
variable, and production never sets it.
"""
from __future__ import annotations

import os
import signal
import time

ENV = "HOTFOLDER_FAILPOINTS"

# every failpoint the code has, in the order a job passes them (tests iterate over this)
POINTS = (
    "claim.leased",        # work folder and lease made, job not yet renamed in
    "claim.renamed",       # the job file is in work/, job.json says so, media not linked yet
    "deliver.published",   # the video is linked into done/, job.json does not say so yet
    "deliver.recorded",    # job.json says delivered, the out/ copy is still there
    "file.intent",         # the report is written in work/ and job.json records the filing
    "file.moved",          # the job's files are in done/sources or failed/, no report there yet
    "file.reported",       # the report is in done/ or failed/, work/ not yet cleared
)
RENDER_POINTS = ("render.progress",    # in the render process: after it reported progress
                 "render.start")       # as the render starts: its renderer cannot start (armed())

_armed = dict((p.strip().partition("=")[0], p.strip().partition("=")[2] or "kill")
              for p in os.environ.get(ENV, "").split(",") if p.strip())


def armed(name: str) -> bool:
    """Whether a failpoint is armed, for points that act in their own way (tests only)."""
    return name in _armed


def hit(name: str) -> None:
    """Die (or hang) here when this failpoint is armed (tests only)."""
    action = _armed.get(name)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "hang":
        while True:
            time.sleep(3600)
