"""Run bench jobs sequentially, in local processes, or as Ray actors — same results.

* ``workers=1``: one :class:`~agent.suites.bench.Worker` in this process.
* ``workers=N``: a ``ProcessPoolExecutor`` with the ``spawn`` start method (a forked
  Playwright driver or browser is not safe); each process builds its own Worker (its own
  browser) in the pool initializer and closes it at exit through a multiprocessing
  finalizer. Jobs are handed out one at a time, so a slow task does not hold up a shard.
* ``ray``: N Ray actors (one Worker each) fed by ``ray.util.ActorPool``; ``"local"`` starts
  a private instance (``num_cpus=N``, no dashboard) and shuts it down afterwards, any other
  value is passed to ``ray.init(address=...)``. Cluster nodes need native-agent installed.

Results come back keyed by job and are returned in job order, so the caller cannot tell
which runner produced them. Progress: tqdm when installed, else a one-line stderr counter.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.suites.bench import (
    BenchConfig,
    Job,
    Worker,
    phase_stats,
    summarize,
    write_results,
)


class Progress:
    """``with Progress(n, "bench") as p: p.update(note)`` — tqdm, else a stderr line."""

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        self.total, self.desc, self.enabled, self.n = total, desc, enabled, 0
        self._bar: Any = None
        self._t0 = time.monotonic()
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=desc, file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self._bar = None

    def update(self, note: str = "") -> None:
        self.n += 1
        if not self.enabled:
            return
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note[:40], refresh=False)
            self._bar.update(1)
            return
        rate = self.n / max(time.monotonic() - self._t0, 1e-9)
        end = "\n" if self.n >= self.total else ""
        print(
            f"\r{self.desc}: {self.n}/{self.total} ({rate:.2f}/s) {note[:40]:<40}",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _note(result: dict[str, Any]) -> str:
    return f"{result['task']} s{result['seed']}: {'ok' if result.get('success') else 'fail'}"


def run_jobs(
    jobs: list[Job],
    config: BenchConfig,
    *,
    workers: int = 1,
    ray: str | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every job; returns one result dict per job, in job order."""
    if workers < 1:
        raise ConfigError("--workers must be ≥ 1")
    if not jobs:
        return []
    with Progress(len(jobs), f"{config.suite}", progress) as bar:
        if ray is not None:
            results = _run_ray(jobs, config, workers, ray, bar)
        elif workers == 1:
            results = _run_here(jobs, config, bar)
        else:
            results = _run_processes(jobs, config, workers, bar)
    order = {job: i for i, job in enumerate(jobs)}
    return [results[j] for j in sorted(results, key=order.__getitem__)]


def _run_here(jobs: list[Job], config: BenchConfig, bar: Progress) -> dict[Job, dict[str, Any]]:

    worker = Worker(config)
    out: dict[Job, dict[str, Any]] = {}
    try:
        for job in jobs:
            out[job] = worker.run(job)
            bar.update(_note(out[job]))
    finally:
        worker.close()
    return out


# ---- local processes ------------------------------------------------------------------------

_WORKER: Any = None


def _init_process(config: BenchConfig) -> None:
    """Pool initializer: this process's Worker, closed when the process exits."""
    from multiprocessing import util

    global _WORKER
    _WORKER = Worker(config)
    util.Finalize(None, _WORKER.close, exitpriority=10)


def _process_job(job: Job) -> dict[str, Any]:
    assert _WORKER is not None, "the pool initializer did not run"
    return {**_WORKER.run(job), "pid": os.getpid()}


def _run_processes(
    jobs: list[Job], config: BenchConfig, workers: int, bar: Progress
) -> dict[Job, dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    out: dict[Job, dict[str, Any]] = {}
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=ctx,
        initializer=_init_process,
        initargs=(config,),
    ) as pool:
        futures = {pool.submit(_process_job, job): job for job in jobs}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            bar.update(_note(out[futures[fut]]))
    return out


# ---- Ray ----------------------------------------------------------------------------------


def _run_ray(
    jobs: list[Job], config: BenchConfig, workers: int, address: str, bar: Progress
) -> dict[Job, dict[str, Any]]:
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as err:
        raise ConfigError("--ray needs Ray: pip install 'native-agent[ray]' (ray)") from err

    own = not ray.is_initialized()
    if own:
        if address in ("", "local"):
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=address, log_to_driver=False)
    actors: list[Any] = []
    try:
        remote_worker = ray.remote(num_cpus=1)(Worker)
        actors = [remote_worker.remote(config) for _ in range(min(workers, len(jobs)))]
        pool = ActorPool(actors)
        out: dict[Job, dict[str, Any]] = {}
        for result in pool.map_unordered(lambda a, job: a.run.remote(job), jobs):
            job = next(j for j in jobs if j.task == result["task"] and j.seed == result["seed"])
            out[job] = result
            bar.update(_note(result))
        return out
    finally:
        for a in actors:
            with contextlib.suppress(Exception):  # a dead actor has nothing left to close
                ray.get(a.close.remote(), timeout=60)
            ray.kill(a)
        if own:
            ray.shutdown()


def bench(
    config: BenchConfig,
    jobs: list[Job],
    *,
    workers: int = 1,
    ray: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run ``jobs`` (sequentially, in ``workers`` processes, or as Ray tasks when ``ray``
    is an address or ``"local"``); writes results.json / results.md under ``config.out``,
    with p50 / p90 of each step phase over every recorded step."""
    results = run_jobs(jobs, config, workers=workers, ray=ray, progress=progress)
    phases = phase_stats(config.out, results)
    path = write_results(Path(config.out), config, results, phases)
    return {"results": results, "summary": summarize(results), "phases": phases, "path": str(path)}
