"""libass reference frames (ffmpeg's `ass` filter) and the comparison metric.

`libass_frame` renders the frame libass shows at exactly t_ms: one black frame whose
timestamp is chosen so that ffmpeg's `pts * time_base * 1000` (a double, truncated: what
vf_subtitles hands to libass) is t_ms; decoded back with PyAV.
`compare_frames` is the pure metric the comparison tests assert on.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

TB_DEN = 100_000   # time base of the single frame we hand to the ass filter


def ffmpeg_pts_for(t_ms: int, den: int = TB_DEN) -> int:
    """A pts (time base 1/den) that ffmpeg's vf_subtitles turns into exactly t_ms."""
    pts = t_ms * den // 1000
    while int(pts * (1 / den) * 1000) < t_ms:
        pts += 1
    return pts


def _escape_filter_path(p: Path) -> str:
    # the filter graph parser needs ':' '\' and quotes escaped inside option values
    return str(p).replace("\\", "\\\\\\\\").replace(":", "\\\\:").replace("'", "\\\\\\'").replace(",", "\\,")


def libass_frame(ass_file: Path, t_ms: int, width: int, height: int, fonts_dir: Path | None, out_png: Path) -> np.ndarray:
    """(height, width, 3) uint8: libass's rendering of `ass_file` at t_ms over black."""
    pts = ffmpeg_pts_for(t_ms)
    ass_opt = f"ass={_escape_filter_path(ass_file)}"
    if fonts_dir is not None:
        ass_opt += f":fontsdir={_escape_filter_path(fonts_dir)}"
    vf = f"settb=1/{TB_DEN},setpts={pts},format=rgb24,{ass_opt}"
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:r=1:d=1",
        "-vf", vf, "-frames:v", "1", str(out_png),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.strip()}")
    return load_png(out_png)


def load_png(path: Path) -> np.ndarray:
    """An RGB(A) PNG as (H, W, 3) uint8, composited over black when it has alpha."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        rgba = frame.to_ndarray(format="rgba").astype(np.float32)
    rgb = rgba[..., :3] * (rgba[..., 3:4] / 255.0)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------
# the metric


@dataclass(frozen=True)
class Comparison:
    iou: float                # IoU of the lit-pixel masks, each dilated by `dilate` pixels
    primary_share_ours: float
    primary_share_ref: float
    lit_ours: int
    lit_ref: int

    @property
    def primary_diff(self) -> float:
        return abs(self.primary_share_ours - self.primary_share_ref)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)² square."""
    if radius <= 0:
        return mask.copy()
    h, w = mask.shape
    padded = np.pad(mask, radius)
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy:dy + h, dx:dx + w]
    return out


def lit_mask(rgb: np.ndarray, threshold: int = 40) -> np.ndarray:
    """Pixels visibly drawn over a black background."""
    return rgb.astype(np.int32).max(axis=2) >= threshold


def primary_mask(rgb: np.ndarray, primary: tuple[int, int, int], tolerance: float = 0.25) -> np.ndarray:
    """Lit pixels whose colour is the primary colour (at any coverage): the pixel's
    colour direction matches the primary's, since antialiased edges are darker copies."""
    px = rgb.astype(np.float32)
    p = np.array(primary, dtype=np.float32)
    norm_px = np.linalg.norm(px, axis=2)
    norm_p = float(np.linalg.norm(p)) or 1.0
    cos = (px @ p) / (np.maximum(norm_px, 1e-6) * norm_p)
    return lit_mask(rgb) & (cos >= 1.0 - tolerance * tolerance / 2)


def compare_frames(ours: np.ndarray, ref: np.ndarray, primary: tuple[int, int, int], radius: int = 2) -> Comparison:
    """Mask overlap (IoU after dilation) and the share of lit pixels in the primary colour."""
    a, b = lit_mask(ours), lit_mask(ref)
    da, db = dilate(a, radius), dilate(b, radius)
    union = int((da | db).sum())
    iou = 1.0 if union == 0 else int((da & db).sum()) / union
    pa, pb = primary_mask(ours, primary), primary_mask(ref, primary)
    share_a = float(pa.sum()) / max(int(a.sum()), 1)
    share_b = float(pb.sum()) / max(int(b.sum()), 1)
    return Comparison(iou, share_a, share_b, int(a.sum()), int(b.sum()))
