"""`hotfolder doctor`: what this machine offers, found by trying it: the GL renderer, the
encoders that really open, the fonts, and what a render would use by default."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from hotfolder import __version__
from hotfolder.settings import RenderSettings

log = logging.getLogger(__name__)

AUDIO_ENCODERS = ("aac", "libopus")
CJK_PROBE = "漢"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gpu", type=int, metavar="N", help="check this GPU (EGL device) index")
    parser.add_argument("--fonts-dir", type=Path, metavar="DIR", help="also check this fonts folder")
    parser.add_argument("--json", action="store_true", help="print the findings as one JSON object")


def check_gl(gpu: int | None) -> dict[str, Any]:
    from hotfolder.render.gl import create_context, is_software, renderer_string

    try:
        ctx = create_context(gpu)
    except Exception as exc:  # report, do not crash: doctor exists for broken machines
        return {"ok": False, "error": str(exc)}
    try:
        info = ctx.info
        renderer = renderer_string(ctx)
        return {"ok": True, "renderer": renderer, "vendor": str(info.get("GL_VENDOR", "")),
                "version": str(info.get("GL_VERSION", "")), "software": is_software(renderer),
                "max_texture_size": int(info.get("GL_MAX_TEXTURE_SIZE", 0))}
    finally:
        ctx.release()


def check_encoders() -> dict[str, bool]:
    import av

    from hotfolder.encode import ENCODERS, encoder_works

    found = {name: encoder_works(name) for name in ENCODERS}
    for name in AUDIO_ENCODERS:
        try:
            av.codec.Codec(name, "w")
            found[name] = True
        except Exception:
            found[name] = False
    return found


def check_fonts(fonts_dir: Path | None) -> dict[str, Any]:
    try:
        from hotfolder.render.fonts import DEFAULT_FAMILY, FontResolver, scan_fonts_dir

        resolver = FontResolver(fonts_dir)
        default = resolver.default_face()
        out: dict[str, Any] = {"ok": True, "default_family": DEFAULT_FAMILY, "default_font": str(default.path),
                               "fontconfig": resolver.use_fontconfig}
        cjk = resolver.fallback(ord(CJK_PROBE), default)
        out["cjk_fallback"] = str(cjk.path) if cjk else None
        if fonts_dir is not None:
            out["fonts_dir"] = str(fonts_dir)
            out["fonts_dir_faces"] = sorted({f.family for f in scan_fonts_dir(fonts_dir)}) if fonts_dir.is_dir() else None
        return out
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def diagnose(gpu: int | None, fonts_dir: Path | None) -> dict[str, Any]:
    import av  # loaded here, not when the CLI builds its parser

    from hotfolder.encode import default_encoder_for

    defaults = RenderSettings()
    encoders = check_encoders()
    report: dict[str, Any] = {
        "hotfolder": __version__,
        "pyav": av.__version__,
        "ffmpeg": {k: ".".join(map(str, v)) for k, v in av.library_versions.items()},
        "gl": check_gl(gpu),
        "encoders": encoders,
        "fonts": check_fonts(fonts_dir),
    }
    report["defaults"] = {
        "size": f"{defaults.width}x{defaults.height}", "fps": defaults.fps,
        "encoder": default_encoder_for(Path("out.mp4")), "webm_encoder": default_encoder_for(Path("out.webm")),
        "crf": defaults.crf, "preset": defaults.preset, "audio": "aac (opus in WebM)",
        "renderer": report["gl"].get("renderer"),
    }
    report["ok"] = bool(report["gl"]["ok"] and encoders.get("libx264") and encoders.get("aac") and report["fonts"]["ok"])
    return report


def format_report(r: dict[str, Any]) -> str:
    rows = [f"hotfolder {r['hotfolder']}, PyAV {r['pyav']}, libavcodec {r['ffmpeg'].get('libavcodec', '?')}", ""]
    gl = r["gl"]
    if gl["ok"]:
        rows.append(f"OpenGL:   {gl['renderer']} ({gl['vendor']}), {gl['version']}")
        if gl["software"]:
            rows.append("          no GPU: software rendering on the CPU (works, slowly)")
    else:
        rows.append(f"OpenGL:   NOT WORKING: {gl['error']}")
    rows.append("Encoders: " + ", ".join(f"{n} {'ok' if ok else 'not usable'}" for n, ok in r["encoders"].items()))
    f = r["fonts"]
    if f["ok"]:
        rows.append(f"Fonts:    default {f['default_family']}: {f['default_font']}")
        rows.append(f"          fontconfig {'found' if f['fontconfig'] else 'missing (only the fonts folder is searched)'}; "
                    f"CJK fallback: {f['cjk_fallback'] or 'none (Chinese/Japanese/Korean text will be missing)'}")
        if "fonts_dir" in f:
            faces = f["fonts_dir_faces"]
            rows.append(f"          {f['fonts_dir']}: " + (", ".join(faces) if faces else "no fonts" if faces is not None else "not a folder"))
    else:
        rows.append(f"Fonts:    NOT WORKING: {f['error']}")
    d = r["defaults"]
    rows.append(f"Defaults: {d['size']} @ {d['fps']} fps, {d['encoder']} (WebM: {d['webm_encoder']}), crf {d['crf']}, "
                f"preset {d['preset']}, audio {d['audio']}, renderer {d['renderer'] or '-'}")
    rows.append("")
    rows.append("ready to render" if r["ok"] else "NOT ready to render: see above")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    report = diagnose(args.gpu, args.fonts_dir)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_report(report))
    return 0 if report["ok"] else 1
