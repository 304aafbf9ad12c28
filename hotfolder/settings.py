"""Render settings: plain data shared by the CLI, the daemon and the exporter."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

MAX_TAIL_MS = 600_000  # ten minutes of nothing after the last line is plenty; more is a typo or an attack
OPERATOR_ONLY = frozenset({"max_video_seconds"})  # limits a project or a sidecar may not set for itself


@dataclass(frozen=True)
class RenderSettings:
    width: int = 1920
    height: int = 1080
    fps: int = 30
    encoder: str = "auto"        # auto | libx264 | h264_nvenc | libx265 | hevc_nvenc | libsvtav1 | libvpx-vp9
    crf: int = 20
    preset: str = "veryfast"
    bitrate: str | None = None   # e.g. "6M"; overrides crf where the encoder supports it
    audio: Path | None = None    # overrides the project's audio
    background: str | None = None  # colour (#rrggbb or name), image or video path; overrides the project's
    background_dim: float | None = None  # 0..1: darken a background image/video by this share; None = project's
    fonts_dir: Path | None = None
    gpu: int | None = None       # EGL device index; None = default
    tail_ms: int = 2000          # video length after the last line when there is no audio
    max_video_seconds: float | None = 14400.0  # refuse longer videos (config, operator only); None = Limits only
    size_from_project: bool = False  # still/render without --size on an ASS file: use PlayResX x PlayResY

    def updated(self, overrides: dict[str, Any]) -> "RenderSettings":
        """A copy with `overrides` applied (keys must be field names; unknown keys raise KeyError)."""
        names = {f.name for f in fields(self)}
        for key in overrides:
            if key not in names:
                raise KeyError(key)
        return replace(self, **overrides)
