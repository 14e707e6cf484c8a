"""A real Ray cluster on this machine for the bench tests: a head node (no CPUs, so no job
runs there) and worker nodes, each a ``ray start --block`` process in a session of its own,
with its own temp directory, one CPU and a ``bench_node`` resource. Worker nodes cannot
write into the driver's ``--out`` (``hide``), as on a real cluster: they run as ``nobody``
through a small venv that points the system Python at this venv's packages (the venv's own
interpreter may live under /root, which ``nobody`` cannot open) — or, where ``nobody``
cannot read the checkout or the packages (a clone under /root), as root in a mount
namespace of their own where ``hide`` is an empty read-only tmpfs. Every process a node
started is found by its process tree and killed with SIGKILL; nothing stays in the temp
directory."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agent.episode.recording import RESERVE_NAME

ROOT = Path(__file__).resolve().parents[3]
NOBODY = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
# a mount namespace of its own, where "$0" is covered by an empty read-only tmpfs
HIDDEN = 'mount -t tmpfs -o ro,size=1m none "$0" && exec "$@"'
READY = "block forever"  # what `ray start --block` logs once the node is up


def ray_env(token: str) -> dict[str, str]:
    """The environment every node and the driver share: one auth token, a minor-version
    Python match (the nodes' system Python and this venv's differ in the patch level),
    and a dead node noticed within ~2 s (health checks every 500 ms, 3 misses)."""
    return {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        "RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL": "minor",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_health_check_initial_delay_ms": "0",
        "RAY_health_check_period_ms": "500",
        "RAY_health_check_timeout_ms": "1000",
        "RAY_health_check_failure_threshold": "3",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'examples'}",
    }


@dataclass
class Node:
    name: str
    proc: subprocess.Popen[bytes]
    home: Path
    log: Path
    killed: set[int] = field(default_factory=set)

    def pids(self) -> set[int]:
        """This node's processes: its session and every descendant of its root."""
        return _tree(self.proc.pid)

    def kill(self) -> set[int]:
        """SIGKILL every process of this node; returns their ids."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.killed |= pids
        return pids

    def in_flight(self) -> list[str]:
        """The episodes being recorded in this node's scratch space: their directory still
        holds the recorder's reserve file, released only when the episode ends (so the job
        has at least its last step, packing and return ahead of it)."""
        tmp = self.home / "tmp"
        return sorted(p.parent.name for p in tmp.glob(f"agent-bench-*/*/{RESERVE_NAME}"))


def _tree(root: int) -> set[int]:
    parent: dict[int, int] = {}
    session: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            parent[pid], session[pid] = int(fields[1]), int(fields[3])
    found = {p for p, s in session.items() if s == root} | {root}
    grew = True
    while grew:
        more = {p for p, pp in parent.items() if pp in found} - found
        found |= more
        grew = bool(more)
    return {p for p in found if p in parent}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _nobody_python(root: Path) -> Path:
    """A venv for ``nobody``: the system Python of this minor version, this venv's
    site-packages."""
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = next((p for p in (f"/usr/bin/{minor}", f"/usr/local/bin/{minor}") if
                   os.access(p, os.X_OK) and os.stat(p).st_mode & 0o001), None)  # fmt: skip
    if system is None:
        raise RuntimeError(f"no world-executable {minor} for the worker nodes")
    venv = root / "py"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib").mkdir()
    (venv / "bin" / "python3").symlink_to(system)
    (venv / "lib" / minor).mkdir()
    (venv / "lib" / minor / "site-packages").symlink_to(sysconfig.get_paths()["purelib"])
    home = Path(system).parent
    (venv / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\n")
    return venv / "bin" / "python3"


def as_worker(cmd: list[str], hide: Path, python: Path | None) -> list[str]:
    """``cmd`` as a worker node runs it: as ``nobody`` when ``python`` (the nobody venv) is
    given, else as root in a mount namespace where ``hide`` is an empty read-only tmpfs."""
    if python is not None:
        return [*NOBODY, *cmd]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", HIDDEN, str(hide), *cmd]


def _nobody_can_run(python: Path, env: dict[str, str], cwd: Path) -> bool:
    """Whether ``nobody`` can import the stack a worker node needs (this checkout, ray)."""
    probe = [*NOBODY, str(python), "-c", "import ray, agent.suites.ray_runner"]
    done = subprocess.run(probe, env=env, cwd=cwd, capture_output=True, timeout=120)
    return done.returncode == 0


def _start(name: str, cmd: list[str], env: dict[str, str], home: Path) -> Node:
    log = home.parent / f"{name}.log"
    with log.open("wb") as f:
        proc = subprocess.Popen(
            cmd, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, cwd=home
        )
    return Node(name, proc, home, log)


def _wait_ready(nodes: list[Node], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(READY in n.log.read_text(errors="replace") for n in nodes):
        dead = [n for n in nodes if n.proc.poll() is not None]
        if dead or time.monotonic() > deadline:
            n = (dead or nodes)[0]
            tail = n.log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"ray node {n.name} did not start:\n{tail}")
        time.sleep(0.3)


@contextlib.contextmanager
def ray_cluster(
    hide: Path, workers: int = 2, timeout_s: float = 90.0
) -> Iterator[tuple[str, dict[str, str], list[Node], Path | None]]:
    """(address, driver env, worker nodes, the nobody python or None for the mount
    namespace) of a fresh cluster whose worker nodes cannot write ``hide``; torn down on
    exit."""
    root = Path(tempfile.mkdtemp(prefix="rc-"))  # short: Ray's socket paths have a limit
    root.chmod(0o755)
    token = secrets.token_hex(32)
    env = {**os.environ, **ray_env(token)}
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--object-store-memory", "80000000",
              "--disable-usage-stats", "--block"]  # fmt: skip
    nodes: list[Node] = []
    try:
        head_home = root / "head"
        head_home.mkdir()
        head = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--port",
                str(port), "--num-cpus", "0", "--include-dashboard", "false",
                "--temp-dir", str(head_home / "ray"),
                "--dashboard-agent-listen-port", str(_free_port()), *common]  # fmt: skip
        nodes.append(_start("head", head, env, head_home))
        python: Path | None = _nobody_python(root)
        assert python is not None
        if not _nobody_can_run(python, env, root):
            python = None  # a mount namespace instead: root, with `hide` covered
        _wait_ready(nodes, timeout_s)
        for i in range(workers):
            home = root / f"w{i}"
            (home / "tmp").mkdir(parents=True)
            if python is not None:
                shutil.chown(home, "nobody", "nogroup")
                shutil.chown(home / "tmp", "nobody", "nogroup")
            node_env = {**env, "HOME": str(home), "TMPDIR": str(home / "tmp")}
            cmd = [str(python or sys.executable), "-m", "ray.scripts.scripts", "start",
                   "--address", address, "--num-cpus", "1", "--resources",
                   '{"bench_node": 1}', "--temp-dir", str(home / "ray"),
                   "--dashboard-agent-listen-port", str(_free_port()), *common]  # fmt: skip
            nodes.append(_start(f"w{i}", as_worker(cmd, hide, python), node_env, home))
        _wait_ready(nodes, timeout_s)
        yield address, env, nodes[1:], python
    finally:
        every = set().union(*(n.pids() for n in nodes)) if nodes else set()
        for pid in every:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for n in nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                n.proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
