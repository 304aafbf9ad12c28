"""Headless OpenGL: one standalone moderngl context on EGL, and the shaders' sources.

On a machine with NVIDIA GPUs `gpu` picks the EGL device by index; without a GPU Mesa's
llvmpipe renders on the CPU, which works but is slow, so that is logged once.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from importlib import resources

import moderngl

from hotfolder.errors import NodeError, RenderError

log = logging.getLogger(__name__)

GL_VERSION = 330
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer", "lavapipe")
MAX_DEVICES = 16
_warned_software = False


def is_software(renderer: str) -> bool:
    low = renderer.lower()
    return any(name in low for name in SOFTWARE_RENDERERS)


def _explain(exc: Exception, gpu: int | None) -> str:
    """Turn glcontext's terse failures into what to install or change."""
    text = str(exc)
    low = text.lower()
    if "libegl" in low and "not loaded" in low:
        return f"EGL is not available ({text}): install libegl1 (Debian/Ubuntu: apt-get install libegl1)"
    if "libgl" in low and "not loaded" in low:
        return f"OpenGL is not available ({text}): install libgl1 (Debian/Ubuntu: apt-get install libgl1)"
    if "device index" in low:
        return f"GPU {gpu} does not exist ({text}); use a smaller --gpu index or leave it out"
    return (
        f"cannot create a headless OpenGL {GL_VERSION // 100}.{GL_VERSION % 100 // 10} context on EGL ({text}): "
        "install a GL driver (Mesa: apt-get install libgl1-mesa-dri libegl-mesa0; NVIDIA: the driver's EGL library)"
    )


def _create(gpu: int | None) -> moderngl.Context:
    kwargs: dict[str, object] = {"backend": "egl", "require": GL_VERSION}
    if gpu is not None:
        kwargs["device_index"] = gpu
    try:
        return moderngl.create_standalone_context(**kwargs)
    except Exception as exc:  # glcontext raises bare Exception with a message
        raise NodeError(_explain(exc, gpu)) from exc


def create_context(gpu: int | None = None) -> moderngl.Context:
    """A standalone EGL context; `gpu` is the EGL device index (None: the first device
    that is a real GPU, else the software one)."""
    global _warned_software
    if gpu is not None and gpu < 0:
        raise RenderError(f"GPU index must be >= 0, not {gpu}")
    ctx = _create(gpu)
    name = renderer_string(ctx)
    if gpu is None and is_software(name):
        # EGL may list Mesa's software device before a GPU: look further before settling
        for index in range(1, MAX_DEVICES):
            try:
                other = _create(index)
            except RenderError:
                break  # no more devices
            if not is_software(renderer_string(other)):
                ctx.release()
                ctx, name = other, renderer_string(other)
                break
            other.release()
    if is_software(name) and not _warned_software:
        _warned_software = True
        log.warning("no GPU: rendering on the CPU with %s (slow)", name)
    else:
        log.debug("OpenGL renderer: %s", name)
    return ctx


def renderer_string(ctx: moderngl.Context) -> str:
    return str(ctx.info.get("GL_RENDERER", "unknown"))


@lru_cache(maxsize=None)
def shader_source(name: str) -> str:
    """The text of hotfolder/render/shaders/<name>.glsl."""
    return resources.files("hotfolder.render").joinpath("shaders", f"{name}.glsl").read_text("utf-8")


def program(ctx: moderngl.Context, vertex: str, fragment: str) -> moderngl.Program:
    try:
        return ctx.program(vertex_shader=shader_source(vertex), fragment_shader=shader_source(fragment))
    except moderngl.Error as exc:  # a shader that does not compile is our bug; say which
        raise RenderError(f"shader {vertex}/{fragment} failed to build on {renderer_string(ctx)}: {exc}") from exc
