"""Bench jobs as Ray tasks: retried when their worker or node dies, every episode brought
back to the driver's ``--out`` as bytes through the object store.

Each job is one task (``num_cpus=1`` plus any custom ``resources``, ``max_retries``
attempts after a worker or node failure). The task runs the job into a scratch directory
of its own node (a Worker, with its browser, is kept per worker process and reused by the
next task there), packs the episode directory into a tar archive, deletes the scratch copy
and returns ``{"result", "archive"}``. The driver unpacks the archive into ``--out``, then
hands the result on (``results.jsonl``), so a result line always has its episode beside it
and nothing needs a shared disk. No more than ``workers`` tasks are in flight.

Every wait is bounded: ``ray.wait`` polls, and a job that has not returned within
``job_timeout_s`` of its submission is cancelled and submitted again (it counts as one of
its retries). A job whose attempts are all used up is lost: the other jobs go on, then
:class:`~agent.suites.journal.JobLostError` names the lost ones (``--resume`` reruns them).
A job's result is taken once, the first copy to arrive; a later copy is dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import re
import shutil
import socket
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.suites.bench import BenchConfig, Job, Worker
from agent.suites.journal import JobLostError

POLL_S = 2.0  # the longest single ray.wait


@dataclass(frozen=True)
class RayOptions:
    """How bench jobs run on Ray (``agent bench --ray …`` flags)."""

    retries: int = 3  # attempts after the first, on a worker / node death or a deadline
    job_timeout_s: float | None = 1800.0  # from submission to the result on the driver
    resources: dict[str, float] = field(default_factory=dict)  # custom resources per job

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError("--ray-retries must be ≥ 0")
        if self.job_timeout_s is not None and self.job_timeout_s <= 0:
            raise ConfigError("--job-timeout must be > 0 seconds")


# ---- on a worker --------------------------------------------------------------------------

_WORKERS: dict[str, Worker] = {}  # this worker process's Worker per bench config


def _worker(config: BenchConfig) -> Worker:
    key = repr(config)  # secrets are repr=False; the same bench has the same repr
    if key not in _WORKERS:
        if not _WORKERS:
            atexit.register(_close_workers)
        _WORKERS[key] = Worker(config)
    return _WORKERS[key]


def _close_workers() -> None:
    """At a worker process's orderly exit: close the browsers (a killed process's
    Playwright driver sees its pipe close and ends the browser itself)."""
    while _WORKERS:
        with contextlib.suppress(Exception):
            _WORKERS.popitem()[1].close()


def pack(directory: Path) -> bytes:
    """``directory`` as an uncompressed tar archive (screenshots are compressed already)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(directory, arcname=directory.name)
    return buf.getvalue()


def run_job(config: BenchConfig, job: Job) -> dict[str, Any]:
    """The task body: run ``job`` here, return its result and its episode archive."""
    worker = _worker(config)
    with tempfile.TemporaryDirectory(prefix="agent-bench-") as scratch:
        worker.cfg = replace(config, out=scratch)  # this job's episode goes to the scratch
        result = worker.run(job)
        episode = Path(scratch) / job.key
        archive = pack(episode) if episode.is_dir() else b""
    node = {"host": socket.gethostname(), "pid": os.getpid(), "node_id": _node_id()}
    return {"result": {**result, "pid": os.getpid(), "node": node}, "archive": archive}


def _node_id() -> str | None:
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id())
    except Exception:  # not inside Ray (a direct call)
        return None


# ---- on the driver ------------------------------------------------------------------------


def unpack(archive: bytes, out: Path, key: str) -> bool:
    """Unpack one episode archive into ``out / key``; False (nothing changed) when that
    episode is there already: the first copy to arrive is kept."""
    dest = out / key
    if dest.exists():
        return False
    staging = out / f".incoming-{key}-{uuid.uuid4().hex[:8]}"
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
            names = tar.getnames()
            if any(Path(n).parts[:1] != (key,) or ".." in Path(n).parts for n in names):
                raise ValueError(f"the archive of {key} holds other paths: {names[:3]}")
            tar.extractall(staging, filter="data")
        if dest.exists():
            return False
        (staging / key).rename(dest)
        return True
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_address(address: str, timeout_s: float = 5.0) -> None:
    """A ``HOST:PORT`` cluster address must answer a TCP connect (``ray.init`` would retry
    for minutes); ``"local"``, ``"auto"`` and ``ray://`` addresses are left to Ray."""
    m = re.fullmatch(r"\[?([^\[\]/]+?)\]?:(\d+)", address)
    if m is None:
        return
    try:
        socket.create_connection((m[1], int(m[2])), timeout=timeout_s).close()
    except OSError as err:
        raise ConfigError(
            f"no Ray cluster answers at --ray {address} ({err}): start its head with "
            f"`ray start --head --port {m[2]}`, or give the head's HOST:PORT"
        ) from err


@dataclass
class _Flight:
    job: Job
    deadline: float | None
    attempt: int


def run_ray(
    jobs: list[Job],
    config: BenchConfig,
    workers: int,
    address: str,
    finish: Callable[[Job, dict[str, Any]], None],
    options: RayOptions | None = None,
) -> None:
    """Run ``jobs`` on Ray (``"local"``: a private instance of ``workers`` CPUs, else
    ``ray.init(address=...)``); ``finish(job, result)`` once per job, after its episode is
    in ``config.out``."""
    try:
        import ray
    except ImportError as err:
        raise ConfigError("--ray needs Ray: pip install 'native-agent[ray]' (ray)") from err
    opts = options or RayOptions()
    own = not ray.is_initialized()
    if own:
        if address in ("", "local"):
            ray.init(
                num_cpus=workers,
                resources={k: v * workers for k, v in opts.resources.items()} or None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        _drive(ray, jobs, config, workers, finish, opts)
    finally:
        if own:
            ray.shutdown()


def _drive(
    ray: Any,
    jobs: list[Job],
    config: BenchConfig,
    workers: int,
    finish: Callable[[Job, dict[str, Any]], None],
    opts: RayOptions,
) -> None:
    task = ray.remote(run_job).options(
        num_cpus=1,
        resources=opts.resources or None,
        max_retries=opts.retries,
        retry_exceptions=False,
    )
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    queue = [(job, 0) for job in jobs]
    flights: dict[Any, _Flight] = {}
    done: set[Job] = set()
    lost: dict[Job, str] = {}

    def submit(job: Job, attempt: int) -> None:
        due = None if opts.job_timeout_s is None else time.monotonic() + opts.job_timeout_s
        flights[task.remote(config, job)] = _Flight(job, due, attempt)

    while queue or flights:
        while queue and len(flights) < workers:
            submit(*queue.pop(0))
        ready, _ = ray.wait(list(flights), num_returns=1, timeout=_wait_s(flights))
        for ref in ready:
            f = flights.pop(ref)
            try:
                reply = ray.get(ref, timeout=POLL_S * 30)
            except Exception as err:  # Ray's retries are used up, or the task itself failed
                lost[f.job] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                continue
            if f.job in done:
                continue  # a second copy of a retried job: the first one counts
            if reply["archive"]:
                unpack(reply["archive"], out, f.job.key)
            done.add(f.job)
            finish(f.job, reply["result"])
        now = time.monotonic()
        for ref, f in list(flights.items()):
            if f.deadline is not None and now > f.deadline:
                del flights[ref]
                ray.cancel(ref, force=True)
                if f.attempt < opts.retries:
                    queue.insert(0, (f.job, f.attempt + 1))
                else:
                    lost[f.job] = f"no result within --job-timeout {opts.job_timeout_s:g} s"
    if lost:
        names = "; ".join(f"{j.task} seed {j.seed} ({why})" for j, why in lost.items())
        raise JobLostError(
            f"{len(lost)} of {len(jobs)} jobs lost after every retry: {names}. The finished "
            f"jobs are in {out / 'results.jsonl'}; `agent bench --resume {out}` (same "
            "settings) runs the lost ones again"
        )


def _wait_s(flights: dict[Any, _Flight]) -> float:
    deadlines = [f.deadline for f in flights.values() if f.deadline is not None]
    if not deadlines:
        return POLL_S
    return max(0.05, min(POLL_S, min(deadlines) - time.monotonic()))
