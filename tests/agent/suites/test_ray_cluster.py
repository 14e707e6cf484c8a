"""``agent bench --ray ADDRESS`` on a real Ray cluster of separate node processes (a head
without CPUs and two worker nodes running as ``nobody``, see ray_cluster.py): 8 oracle jobs
on the bundled sites (real headless Chromium on the workers). Once both worker nodes have
finished an episode and one of them is in the middle of another, that node is killed
(SIGKILL to every process of it). The bench still completes: every episode is in the
driver's ``--out`` (mode 700, owned by root: the workers could not have written there),
each job once in results.json and results.jsonl, the interrupted job rerun on the other
node, and episodes really ran on both nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agent.episode.recording import load_episode
from agent.suites.bench import make_jobs
from tests.agent.suites.ray_cluster import Node, as_worker, ray_cluster

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TASKS = ["account/change-display-name", "account/enable-newsletter"]
SEEDS = 4


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")]


def test_bench_survives_a_dead_worker_node(tmp_path: Path) -> None:
    out_root = tmp_path / "driver"
    out_root.mkdir(mode=0o700)
    out = out_root / "bench"
    keys = [j.key for j in make_jobs("sites", TASKS, SEEDS)]
    t_start = time.monotonic()
    with ray_cluster(out_root, workers=2) as (address, env, nodes, python):
        print(f"\ncluster of 3 nodes up in {time.monotonic() - t_start:.1f} s")
        # the worker nodes cannot write the driver's --out (nor its parent)
        probe = as_worker(["touch", str(out_root / "x")], out_root, python)
        assert subprocess.run(probe, capture_output=True).returncode != 0
        assert not (out_root / "x").exists()
        cmd = [sys.executable, "-m", "agent.cli", "bench", "--suite", "sites", "--model",
               "oracle", "--tasks", *TASKS, "--seeds", str(SEEDS), "--viewport", "900x640",
               "--ray", address, "--workers", "2", "--ray-resources", '{"bench_node": 1}',
               "--ray-retries", "2", "--job-timeout", "120", "--out", str(out),
               "--no-progress"]  # fmt: skip
        t0 = time.monotonic()
        log = tmp_path / "driver.log"
        with log.open("wb") as f:
            driver = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
        try:
            victim, interrupted = _kill_a_busy_node(out / "results.jsonl", nodes, driver, log)
            killed_at = time.monotonic() - t0
            driver.wait(timeout=240)
        finally:
            if driver.poll() is None:
                driver.kill()
        wall = time.monotonic() - t0
        print(f"bench: {len(keys)} jobs in {wall:.1f} s; {victim.name} killed at {killed_at:.1f} s")
        assert driver.returncode == 0, log.read_text()[-3000:]
    data = json.loads((out / "results.json").read_text())
    results = data["results"]
    assert [r["episode"] for r in results] == keys  # each job once, in job order
    jsonl = _lines(out / "results.jsonl")
    assert sorted(r["episode"] for r in jsonl) == sorted(keys)
    assert all(r["status"] == "success" for r in results), results
    for r in results:  # every episode arrived in the driver's --out, complete
        ep = load_episode(out / r["episode"])
        assert ep.success and len(ep.records) == r["steps"]
        assert os.stat(out / r["episode"]).st_uid == 0
    assert data["phases"]["step_s"]["n"] == sum(r["steps"] for r in results)
    by_node = {r["node"]["node_id"] for r in results}
    assert len(by_node) == 2, by_node  # both worker nodes ran episodes
    victim_pids = victim.killed
    redo = next(r for r in results if r["episode"] == interrupted)
    assert redo["pid"] not in victim_pids  # the interrupted job finished on the other node
    assert any(r["pid"] in victim_pids for r in results)  # the victim had finished one
    print(f"{interrupted} rerun on the other node: {redo['seconds']} s; per node:",
          sorted(Counter(r["pid"] in victim_pids for r in results).values()))  # fmt: skip


def _kill_a_busy_node(
    results: Path, nodes: list[Node], driver: subprocess.Popen, log: Path
) -> tuple[Node, str]:
    """Wait until both nodes have a result and one is writing another episode; kill it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if driver.poll() is not None:
            raise AssertionError(f"the bench ended before a kill: {log.read_text()[-2000:]}")
        rows = _lines(results)
        for node in nodes:
            pids = node.pids()
            busy = [k for k in node.in_flight() if k not in {r["episode"] for r in rows}]
            finished = [r for r in rows if r["pid"] in pids]
            others = [r for r in rows if r["pid"] not in pids]
            if busy and finished and others:
                node.kill()
                return node, busy[0]
        time.sleep(0.1)
    raise AssertionError("no moment with both nodes done once and one busy")
