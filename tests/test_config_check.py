"""Node checks and `hotfolder run --check`: a config this machine cannot serve is refused before
the daemon starts (exit 2, nothing touched), instead of failing every queued job."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from hotfolder import encode
from hotfolder.claims import create_hotfolder
from hotfolder.config import check_config_file, check_node, load_config, node_report, parse_config

REPO = Path(__file__).resolve().parent.parent
NO_SUCH_GPU = 99  # an EGL device index no machine here has


def egl_device_zero() -> bool:
    try:
        from hotfolder.render.gl import create_context

        create_context(0).release()
        return True
    except Exception:
        return False


def hotfolder_root(tmp_path: Path, name: str = "karaoke") -> Path:
    root = tmp_path / name
    create_hotfolder(root)
    return root


def write(tmp_path: Path, text: str, name: str = "hotfolder.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotfolder", "run", *args], capture_output=True, text=True,
                          timeout=timeout)


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -- node checks ------------------------------------------------------------------------------

def test_the_issues_bad_config_is_reported_whole_with_lines(tmp_path):
    root = hotfolder_root(tmp_path)
    path = write(tmp_path, (
        f"hotfolders:\n  - root: {root}\n"
        "render:\n"
        "  encoder: nvenc\n"
        "  preset: ultrafastest\n"
        "  bitrate: lots\n"
        f"  gpu: {NO_SUCH_GPU}\n"
        "  fonts_dir: /nope\n"))
    config, problems, warnings = check_config_file(path)
    assert config is None and warnings == []
    assert [p.split(": ")[0:2] for p in problems] == [
        [f"{path}:4", "render.encoder"], [f"{path}:5", "render.preset"], [f"{path}:6", "render.bitrate"],
        [f"{path}:7", "render.gpu"], [f"{path}:8", "render.fonts_dir"]], problems
    assert problems[0].endswith("got 'nvenc'") and problems[2].endswith("got 'lots'")
    assert f"GPU {NO_SUCH_GPU} does not exist" in problems[3]
    assert problems[4] == f"{path}:8: render.fonts_dir: /nope does not exist"
    assert all("\n" not in p for p in problems)


def test_an_encoder_that_does_not_open_here_is_a_node_problem(tmp_path, monkeypatch):
    monkeypatch.setattr(encode, "encoder_works", lambda name: name != "h264_nvenc")  # as on a machine without NVIDIA
    root = hotfolder_root(tmp_path)
    path = write(tmp_path, f"hotfolders:\n  - root: {root}\nrender:\n  encoder: h264_nvenc\n  preset: p5\n")
    cfg = load_config(path)  # the schema is happy: h264_nvenc and p5 go together
    assert cfg.render.preset == "p5"
    assert check_node(cfg) == [
        f"{path}:4: render.encoder: h264_nvenc does not open on this machine (NVENC needs an NVIDIA GPU and its "
        "driver); `hotfolder doctor` lists the encoders that do, or use auto"]
    assert check_node(parse_config({"hotfolders": [{"root": str(root)}], "render": {"encoder": "auto"}})) == []
    assert check_node(parse_config({"hotfolders": [{"root": str(root)}], "render": {"encoder": "libx264"}})) == []


def test_gpu_index_and_the_command_line_override(tmp_path):
    root = hotfolder_root(tmp_path)
    cfg = load_config(write(tmp_path, f"hotfolders:\n  - root: {root}\nrender: {{gpu: {NO_SUCH_GPU}}}\n"))
    [problem] = check_node(cfg)
    assert problem.startswith(f"{cfg.path}:3: render.gpu: GPU {NO_SUCH_GPU} does not exist"), problem
    [problem] = check_node(cfg, gpu=NO_SUCH_GPU + 1)  # --gpu wins over render.gpu, and is not in the file
    assert problem.startswith(f"--gpu: GPU {NO_SUCH_GPU + 1} does not exist"), problem
    if egl_device_zero():  # index 0 counts whatever renders there (Mesa's llvmpipe on a machine without a GPU)
        assert check_node(cfg, gpu=0) == []


def test_fonts_dir_must_be_a_folder(tmp_path):
    root = hotfolder_root(tmp_path)
    (tmp_path / "fonts").mkdir()
    (tmp_path / "a-file").write_text("x")
    base = {"hotfolders": [{"root": str(root)}]}
    assert check_node(parse_config({**base, "render": {"fonts_dir": "fonts"}}, base_dir=tmp_path)) == []
    assert check_node(parse_config({**base, "render": {"fonts_dir": "a-file"}}, base_dir=tmp_path)) == [
        f"render.fonts_dir: {tmp_path / 'a-file'} is not a folder"]
    assert check_node(parse_config({**base, "render": {"fonts_dir": str(tmp_path / "none")}})) == [
        f"render.fonts_dir: {tmp_path / 'none'} does not exist"]


def test_each_root_must_be_a_hot_folder_but_the_daemon_may_wait_for_one(tmp_path):
    good = hotfolder_root(tmp_path, "good")
    (tmp_path / "plain").mkdir()
    (tmp_path / "file").write_text("x")
    gone = tmp_path / "not-mounted"
    cfg = parse_config({"hotfolders": [{"root": str(p)} for p in (good, tmp_path / "plain", tmp_path / "file", gone)]})
    strict = check_node(cfg)
    assert strict == [
        f"hotfolders[1].root: {tmp_path / 'plain'} is not a hot folder (no .hotfolder/ in it): run `hotfolder init "
        f"{tmp_path / 'plain'}`, or mount the share",
        f"hotfolders[2].root: {tmp_path / 'file'} is not a folder",
        f"hotfolders[3].root: {gone} does not exist: run `hotfolder init {gone}`, or mount the share"]
    problems, warnings = node_report(cfg, roots_may_wait=True)
    assert problems == [strict[1]] and warnings == [strict[0], strict[2]]


def test_the_example_config_needs_only_its_root(tmp_path):
    config, problems, _ = check_config_file(REPO / "config.example.yaml")
    assert config is not None  # the schema is happy; this machine has no /srv/karaoke hot folder (most likely)
    assert [p for p in problems if "hotfolders[0].root: /srv/karaoke" not in p] == [], problems


# -- hotfolder run --check / hotfolder run ------------------------------------------------------

def test_run_check_exit_codes(tmp_path):
    root = hotfolder_root(tmp_path)
    good = write(tmp_path, f"hotfolders:\n  - root: {root}\nrender: {{encoder: libx264, preset: fast}}\n", "good.yaml")
    out = run_cli("-c", str(good), "--check")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{good}: OK: 1 hot folder, 1920x1080 at 30 fps, encoder libx264, preset fast")
    assert out.stdout.count("\n") == 1 and out.stderr == ""

    bad = write(tmp_path, f"hotfolders:\n  - root: {root}\nrender:\n  encoder: nvenc\n  bitrate: lots\n"
                          "  fonts_dir: /nope\n", "bad.yaml")
    out = run_cli("-c", str(bad), "--check")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.splitlines() == [
        f"{bad}:4: render.encoder: expected auto or one of libx264, h264_nvenc, libx265, hevc_nvenc, libsvtav1, "
        "libvpx-vp9, got 'nvenc'",
        f"{bad}:5: render.bitrate: expected a bit rate like 6M, 800k or 6000000 (bits per second), got 'lots'",
        f"{bad}:6: render.fonts_dir: /nope does not exist"]

    syntax = write(tmp_path, f"hotfolders:\n  - root: {root}\nrender: {{fps: 30\n", "syntax.yaml")
    out = run_cli("-c", str(syntax), "--check")
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
    assert out.stderr.startswith(f"{syntax}:4: invalid YAML: "), out.stderr

    dup = write(tmp_path, f"hotfolders:\n  - root: {root}\nrender: {{fps: 30}}\nrender: {{fps: 25}}\n", "dup.yaml")
    out = run_cli("-c", str(dup), "--check")
    assert out.returncode == 2 and out.stderr == f"{dup}:4: duplicate key 'render' (first given on line 3)\n"

    # under --check a root that is not a hot folder is a problem (the daemon would only wait)
    out = run_cli("-c", str(write(tmp_path, f"hotfolders:\n  - root: {tmp_path / 'nothere'}\n", "gone.yaml")),
                  "--check")
    assert out.returncode == 2 and "hotfolders[0].root:" in out.stderr and "hotfolder init" in out.stderr
    out = run_cli("--root", str(root), "--check", "--gpu", str(NO_SUCH_GPU))
    assert out.returncode == 2 and out.stderr.startswith(f"--gpu: GPU {NO_SUCH_GPU} does not exist"), out.stderr
    out = run_cli("--root", str(root), "--check")
    assert out.returncode == 0 and out.stdout.startswith(f"{root}: OK: 1 hot folder"), out.stderr


def test_run_refuses_to_start_on_any_problem_and_touches_nothing(tmp_path):
    root = hotfolder_root(tmp_path)
    (root / "inbox" / "song.ass").write_text("[Script Info]\n")
    before = tree(root)
    bad = write(tmp_path, f"hotfolders:\n  - root: {root}\nsettle_seconds: 0\nrender:\n  preset: ultrafastest\n"
                          f"  gpu: {NO_SUCH_GPU}\n")
    out = run_cli("-c", str(bad), "--once")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    assert lines[0].startswith(f"{bad}:5: render.preset: expected one of ultrafast")
    assert lines[1].startswith(f"{bad}:6: render.gpu: GPU {NO_SUCH_GPU} does not exist")
    assert lines[2] == f"hotfolder run: not started: 2 problems in {bad} (nothing was touched)"
    assert tree(root) == before  # the job is still queued; no status.json, no work/ entry, no report

    empty = tmp_path / "empty"  # a root that is not a hot folder yet: no .hotfolder/ is created there either
    empty.mkdir()
    out = run_cli("-c", str(write(tmp_path, f"hotfolders:\n  - root: {empty}\nrender: {{encoder: x264}}\n", "e.yaml")))
    assert out.returncode == 2 and "render.encoder" in out.stderr
    assert "warning: " in out.stderr and "hotfolders[0].root" in out.stderr
    assert list(empty.iterdir()) == []


def test_run_waits_for_a_root_that_is_not_there_yet(tmp_path):
    # not a refusal: a share that is not mounted at boot is legitimate; the daemon says so and
    # waits (with --once it exits 1 saying how to make the hot folder, as before)
    cfg = write(tmp_path, f"hotfolders:\n  - root: {tmp_path / 'share'}\n")
    out = run_cli("-c", str(cfg), "--once")
    assert out.returncode == 1, out.stderr
    assert "not started" not in out.stderr and "hotfolders[0].root" in out.stderr
    assert not (tmp_path / "share").exists()
