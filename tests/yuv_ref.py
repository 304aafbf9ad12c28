"""numpy reference for the GPU's colour conversion (tests only)."""
from __future__ import annotations

import numpy as np


def bt709_i420(rgb: np.ndarray) -> np.ndarray:
    """BT.709 limited range I420, chroma from each 2x2 block's mean."""
    f = rgb.astype(np.float64) / 255.0
    h, w = rgb.shape[:2]
    y = 16 + 219 * (0.2126 * f[..., 0] + 0.7152 * f[..., 1] + 0.0722 * f[..., 2])
    m = f.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    my = 0.2126 * m[..., 0] + 0.7152 * m[..., 1] + 0.0722 * m[..., 2]
    u = 128 + 224 * (m[..., 2] - my) / 1.8556
    v = 128 + 224 * (m[..., 0] - my) / 1.5748
    planes = [np.clip(np.rint(p), 0, 255).astype(np.uint8).ravel() for p in (y, u, v)]
    return np.concatenate(planes).reshape(h * 3 // 2, w)
