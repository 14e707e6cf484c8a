"""The real vLLM servers of tests/model/test_vllm.py (its fixtures are in conftest.py),
started in the background as soon as pytest has collected the tests that use them: the venv
build (minutes on a fresh machine) and each cold server start (1–2 minutes on 2 cores) then
overlap the rest of the suite instead of adding to it. One daemon thread starts them one
after another, in the order the tests need them; a test waits only for its own server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from queue import Queue
from typing import Any

from tests.conftest import ROOT, load_tool

# The families vLLM serves in these tests: adding one (Qwen3-VL, once make_tiny_qwen builds
# it) is one entry here.
VLLM_FAMILIES = ("qwen2-vl", "qwen2.5-vl")
DYING = "qwen2-vl-hd16"  # head_dim 16 passes /health; the first generation kills the engine
VENV = "venv"
# qwen2-vl behind a server that resamples: its own max_pixels (512 tokens of 28x28), request
# mm_processor_kwargs refused (no --trust-request-mm-kwargs). Its warm-up would send them, so
# it starts without one (tests/model/backends/test_resample.py)
CAPPED = "qwen2-vl-capped"
CAPPED_MAX_PIXELS = 512 * 28 * 28
CAPPED_ARGS = (
    "--no-trust-request-mm-kwargs",
    f'--mm-processor-kwargs={{"max_pixels": {CAPPED_MAX_PIXELS}}}',
)

vllm_cpu = load_tool("vllm_cpu")


class Servers:
    """Starts what tests ask for (a family's server, the dying one, the venv) on one
    background thread, each once; stops every server at the session's end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.checkpoints: dict[str, Path] = {}
        self.running: list[Any] = []
        self._futures: dict[str, Future[Any]] = {}
        self._queue: Queue[str | None] = Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="vllm-servers", daemon=True)
        self._thread.start()

    def prestart(self, names: list[str]) -> None:
        for name in names:
            self._submit(name)

    def get(self, name: str) -> Any:
        """The running server ``name`` (a family or DYING), started if nobody asked yet."""
        server = self._submit(name).result()
        assert server.alive(), server.log_tail()
        return server

    def venv(self) -> Path:
        return Path(self._submit(VENV).result())

    def stop(self) -> None:
        self._queue.put(None)
        with self._lock:
            for future in self._futures.values():
                future.cancel()
        for server in list(self.running):
            server.stop()
        shutil.rmtree(self.root, ignore_errors=True)  # the tiny checkpoints: nothing left in /tmp

    def _submit(self, name: str) -> Future[Any]:
        with self._lock:
            if name not in self._futures:
                self._futures[name] = Future()
                self._queue.put(name)
            return self._futures[name]

    def _work(self) -> None:
        while (name := self._queue.get()) is not None:
            future = self._futures[name]
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._start(name))
            except BaseException as err:  # the test that waits for it reports it
                future.set_exception(err)

    def _start(self, name: str) -> Any:
        python = vllm_cpu.ensure_venv()
        if name == VENV:
            return python
        if name == CAPPED:  # the qwen2-vl checkpoint of its family's server, when built
            ckpt = self.checkpoints.get("qwen2-vl") or self._checkpoint(name, "qwen2-vl", 32)
            self.checkpoints[name] = ckpt
            server = vllm_cpu.start(
                ckpt, name=f"tiny-{name}", warm=False, single_process=True, extra_args=CAPPED_ARGS
            )
            self.running.append(server)
            return server
        family, head_dim = ("qwen2-vl", 16) if name == DYING else (name, 32)
        ckpt = self._checkpoint(name, family, head_dim)
        self.checkpoints[name] = ckpt
        dying = name == DYING  # its engine must die in a process of its own
        server = vllm_cpu.start(ckpt, name=f"tiny-{name}", warm=not dying, single_process=not dying)
        self.running.append(server)
        return server

    def _checkpoint(self, name: str, family: str, head_dim: int) -> Path:
        """Built by tools/make_tiny_qwen.py in a process of its own (no import of torch or
        transformers on this thread while tests import them)."""
        out = self.root / name
        cmd = [sys.executable, str(ROOT / "tools" / "make_tiny_qwen.py"), "--out", str(out),
               "--family", family, "--head-dim", str(head_dim)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise RuntimeError(f"make_tiny_qwen failed:\n{proc.stderr[-2000:]}")
        return Path(proc.stdout.strip().splitlines()[-1])


_SERVERS: list[Servers] = []  # the session's one instance, once something asked


def servers() -> Servers:
    if not _SERVERS:
        _SERVERS.append(Servers(Path(tempfile.mkdtemp(prefix="vllm-ckpt-"))))
    return _SERVERS[0]


def stop_all() -> None:
    for s in _SERVERS:
        s.stop()
