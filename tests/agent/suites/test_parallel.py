"""The same bench jobs run sequentially, in 2 spawned worker processes and as Ray actors on
a private local Ray instance give equal results (the oracle is deterministic), and every
episode is recorded. Real headless Chromium, real bundled sites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.episode.recording import load_episode
from agent.suites.bench import BenchConfig, comparable, make_jobs
from agent.suites.journal import JobLostError
from agent.suites.parallel import Progress, bench, run_jobs
from agent.suites.ray_runner import RayOptions

TASKS = ["account/change-display-name", "account/enable-newsletter"]


def _config(out: Path) -> BenchConfig:
    return BenchConfig(suite="sites", model="oracle", out=str(out), viewport=(900, 640))


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("seq")
    results = run_jobs(make_jobs("sites", TASKS, 1), _config(out), progress=False)
    return out, results


@pytest.mark.browser
def test_sequential_run_records_every_episode(sequential: tuple[Path, list[dict]]) -> None:
    out, results = sequential
    assert [r["task"] for r in results] == TASKS
    assert all(r["success"] and r["status"] == "success" for r in results), results
    for r in results:
        ep = load_episode(out / r["episode"])
        assert ep.success and ep.meta["task"]["id"] == r["task"]
        assert ep.meta["bench"] == {"suite": "sites", "seed": 0}


@pytest.mark.browser
def test_two_worker_processes_equal_sequential(
    sequential: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    seq_out, seq = sequential
    results = run_jobs(make_jobs("sites", TASKS, 1), _config(tmp_path), workers=2, progress=False)
    assert len({r["pid"] for r in results}) == 2  # both workers ran a job
    assert comparable(results, tmp_path) == comparable(seq, seq_out)


@pytest.mark.browser
def test_ray_equals_sequential(sequential: tuple[Path, list[dict]], tmp_path: Path) -> None:
    import ray

    seq_out, seq = sequential
    # "local": run_jobs starts a private instance (num_cpus=2, no dashboard), shuts it down
    results = run_jobs(
        make_jobs("sites", TASKS, 1), _config(tmp_path), workers=2, ray="local", progress=False
    )
    assert not ray.is_initialized()
    assert comparable(results, tmp_path) == comparable(seq, seq_out)
    assert json.loads((tmp_path / results[0]["episode"] / "episode.json").read_text())["bench"]


@pytest.mark.browser
def test_ray_job_past_its_deadline_is_lost_with_a_clear_error(tmp_path: Path) -> None:
    """Every wait is bounded: a job without a result within --job-timeout is cancelled and
    retried, and once its retries are used up the bench ends with JobLostError naming it."""
    import ray

    opts = RayOptions(retries=1, job_timeout_s=0.05, resources={"bench_slot": 1})
    jobs = make_jobs("sites", TASKS[:1], 1)
    with pytest.raises(JobLostError, match=r"change-display-name seed 0 \(no result within"):
        bench(_config(tmp_path), jobs, ray="local", progress=False, ray_options=opts)
    assert not ray.is_initialized()
    assert (tmp_path / "results.jsonl").read_text() == "" and not (
        tmp_path / "results.json"
    ).exists()


def test_progress_without_tqdm_prints_a_line(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name: str, *a, **k):
        if name == "tqdm":
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    with Progress(2, "bench") as bar:
        bar.update("a")
        bar.update("b")
    err = capsys.readouterr().err
    assert "bench: 1/2" in err and "bench: 2/2" in err
