"""Run bench jobs sequentially, in local processes, or as Ray tasks — same results.

* ``workers=1``: one :class:`~agent.suites.bench.Worker` in this process.
* ``workers=N``: a ``ProcessPoolExecutor`` with the ``spawn`` start method (a forked
  Playwright driver or browser is not safe); each process builds its own Worker (its own
  browser) in the pool initializer and closes it at exit through a multiprocessing
  finalizer. Jobs are handed out one at a time, so a slow task does not hold up a shard.
* ``ray``: one retried Ray task per job, at most N in flight, each episode brought back
  to the driver's ``--out`` as bytes (:mod:`agent.suites.ray_runner`); ``"local"`` starts
  a private instance (``num_cpus=N``, no dashboard) and shuts it down afterwards, any other
  value is passed to ``ray.init(address=...)``. Cluster nodes need native-agent installed.

Results come back keyed by job and are returned in job order, so the caller cannot tell
which runner produced them; :func:`bench` appends each to ``results.jsonl`` as it ends
(:mod:`agent.suites.journal`) and can resume a killed bench. Progress: tqdm when
installed, else a one-line stderr counter.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable
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
from agent.suites.journal import Journal
from agent.suites.ray_runner import RayOptions, check_address, run_ray


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


Finish = Callable[[Job, dict[str, Any]], None]


def run_jobs(
    jobs: list[Job],
    config: BenchConfig,
    *,
    workers: int = 1,
    ray: str | None = None,
    progress: bool = True,
    on_result: Finish | None = None,
    ray_options: RayOptions | None = None,
) -> list[dict[str, Any]]:
    """Run every job; returns one result dict per job, in job order. ``on_result(job,
    result)`` is called in this process the moment each job ends (its episode in
    ``config.out``)."""
    if workers < 1:
        raise ConfigError("--workers must be ≥ 1")
    if not jobs:
        return []
    results: dict[Job, dict[str, Any]] = {}
    with Progress(len(jobs), f"{config.suite}", progress) as bar:

        def finish(job: Job, result: dict[str, Any]) -> None:
            if job in results:
                return  # one result per job
            results[job] = result
            if on_result is not None:
                on_result(job, result)
            bar.update(_note(result))

        if ray is not None:
            run_ray(jobs, config, workers, ray, finish, ray_options)
        elif workers == 1:
            _run_here(jobs, config, finish)
        else:
            _run_processes(jobs, config, workers, finish)
    order = {job: i for i, job in enumerate(jobs)}
    return [results[j] for j in sorted(results, key=order.__getitem__)]


def _run_here(jobs: list[Job], config: BenchConfig, finish: Finish) -> None:
    worker = Worker(config)
    try:
        for job in jobs:
            finish(job, worker.run(job))
    finally:
        worker.close()


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


def _run_processes(jobs: list[Job], config: BenchConfig, workers: int, finish: Finish) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=ctx,
        initializer=_init_process,
        initargs=(config,),
    ) as pool:
        futures = {pool.submit(_process_job, job): job for job in jobs}
        for fut in as_completed(futures):
            finish(futures[fut], fut.result())


def bench(
    config: BenchConfig,
    jobs: list[Job],
    *,
    workers: int = 1,
    ray: str | None = None,
    progress: bool = True,
    resume: bool = False,
    ray_options: RayOptions | None = None,
) -> dict[str, Any]:
    """Run ``jobs`` (sequentially, in ``workers`` processes, or as Ray tasks when ``ray``
    is an address or ``"local"``); each result is appended to ``results.jsonl`` as its job
    ends; at the end results.json / results.md under ``config.out``, with p50 / p90 of each
    step phase over every recorded step. With ``resume``, the jobs already in
    ``results.jsonl`` are kept (the settings must match the recorded ones) and only the
    missing ones run."""
    if ray not in (None, "", "local"):
        check_address(ray)  # before anything is written to --out
    journal = Journal(config.out)
    done = journal.start(config, jobs, resume=resume)
    todo = [j for j in jobs if j.key not in done]
    journal.clear_stale(todo)  # a killed run's half-written episodes
    new = run_jobs(
        todo,
        config,
        workers=workers,
        ray=ray,
        progress=progress,
        on_result=lambda _job, result: journal.append(result),
        ray_options=ray_options,
    )
    by_key = {**done, **{r["episode"]: r for r in new}}
    results = [by_key[j.key] for j in jobs]
    phases = phase_stats(config.out, results)
    path = write_results(Path(config.out), config, results, phases)
    return {
        "results": results,
        "summary": summarize(results),
        "phases": phases,
        "path": str(path),
        "ran": [j.key for j in todo],
    }
