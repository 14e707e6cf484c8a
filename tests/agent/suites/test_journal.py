"""The bench journal (bench.json + results.jsonl) and the episode archives Ray jobs return:
real files in a temp directory, no browser."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from agent.core.errors import ConfigError
from agent.suites.bench import BenchConfig, make_jobs
from agent.suites.journal import RESULTS, Journal
from agent.suites.ray_runner import RayOptions, pack, unpack

JOBS = make_jobs("sites", ["a/x", "b/y"], 2)


def _cfg(out: Path, **kw: object) -> BenchConfig:
    return BenchConfig(**{"suite": "sites", "model": "oracle", "out": str(out), **kw})  # type: ignore[arg-type]


def _row(key: str, **kw: object) -> dict:
    return {"episode": key, "status": "success", **kw}


def test_a_new_bench_records_its_settings_and_refuses_a_second_start(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    assert j.start(_cfg(tmp_path, viewport=(900, 640)), JOBS, resume=False) == {}
    record = json.loads((tmp_path / "bench.json").read_text())
    assert record["jobs"] == [job.key for job in JOBS]
    assert record["settings"]["viewport"] == [900, 640] and "out" not in record["settings"]
    assert (tmp_path / RESULTS).read_text() == ""
    with pytest.raises(ConfigError, match="--resume"):
        Journal(tmp_path).start(_cfg(tmp_path), JOBS, resume=False)


def test_resume_keeps_complete_lines_and_cuts_a_half_written_one(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, secrets={"pw": "hunter2"})
    j = Journal(tmp_path)
    j.start(cfg, JOBS, resume=False)
    j.append(_row(JOBS[0].key, run=1))
    j.append(_row(JOBS[1].key, run=1))
    j.append(_row(JOBS[0].key, run=2))  # a second copy of a job: the first one counts
    with (tmp_path / RESULTS).open("a") as f:
        f.write('{"episode": "' + JOBS[2].key + '", "sta')  # killed mid-write
    done = Journal(tmp_path).start(_cfg(tmp_path, secrets={"pw": "other"}), JOBS, resume=True)
    assert sorted(done) == [JOBS[0].key, JOBS[1].key]
    assert done[JOBS[0].key]["run"] == 1
    j.append(_row(JOBS[2].key, run=3))  # starts a line of its own
    lines = (tmp_path / RESULTS).read_text().splitlines()
    assert [json.loads(x)["episode"] for x in lines] == [JOBS[k].key for k in (0, 1, 0, 2)]
    assert "hunter2" not in (tmp_path / "bench.json").read_text()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"max_steps": 5}, "max_steps: recorded 20, now 5"),
        ({"model": "scripted:x.json"}, "model"),
        ({"viewport": (800, 600)}, "viewport"),
        ({"secrets": {"token": "t"}}, "secret_names"),
    ],
)
def test_resume_with_other_settings_is_refused(tmp_path: Path, change: dict, named: str) -> None:
    Journal(tmp_path).start(_cfg(tmp_path, viewport=(900, 640)), JOBS, resume=False)
    cfg = _cfg(tmp_path, **{"viewport": (900, 640), **change})
    with pytest.raises(ConfigError, match="first run's settings") as err:
        Journal(tmp_path).start(cfg, JOBS, resume=True)
    assert named in str(err.value)


def test_resume_with_other_jobs_or_no_bench_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no bench\.json"):
        Journal(tmp_path).start(_cfg(tmp_path), JOBS, resume=True)
    Journal(tmp_path).start(_cfg(tmp_path), JOBS, resume=False)
    with pytest.raises(ConfigError, match="--tasks and --seeds"):
        Journal(tmp_path).start(_cfg(tmp_path), JOBS[:3], resume=True)


def test_clear_stale_removes_half_written_episodes_of_the_jobs_to_rerun(tmp_path: Path) -> None:
    (tmp_path / JOBS[0].key).mkdir()
    (tmp_path / JOBS[0].key / "step_0001.png").write_bytes(b"x")
    (tmp_path / JOBS[1].key).mkdir()
    Journal(tmp_path).clear_stale([JOBS[0]])
    assert not (tmp_path / JOBS[0].key).exists() and (tmp_path / JOBS[1].key).exists()


def test_an_episode_archive_unpacks_once(tmp_path: Path) -> None:
    src = tmp_path / "worker" / "a__x-s000"
    src.mkdir(parents=True)
    (src / "episode.json").write_text('{"n": 1}')
    (src / "steps").mkdir()
    (src / "steps" / "0001.png").write_bytes(b"\x89PNG" + bytes(range(256)))
    archive = pack(src)
    out = tmp_path / "driver"
    out.mkdir()
    assert unpack(archive, out, "a__x-s000")
    assert (out / "a__x-s000" / "steps" / "0001.png").read_bytes().endswith(bytes(range(256)))
    (src / "episode.json").write_text('{"n": 2}')  # a second copy of the same job
    assert not unpack(pack(src), out, "a__x-s000")
    assert json.loads((out / "a__x-s000" / "episode.json").read_text()) == {"n": 1}
    assert sorted(p.name for p in out.iterdir()) == ["a__x-s000"]  # no staging left


def test_an_archive_with_other_paths_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar"
    (tmp_path / "f").write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(tmp_path / "f", arcname="a__x-s000/../../escape")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError, match="other paths"):
        unpack(evil.read_bytes(), out, "a__x-s000")
    assert list(out.iterdir()) == [] and not (tmp_path / "escape").exists()


def test_ray_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="--ray-retries"):
        RayOptions(retries=-1)
    with pytest.raises(ConfigError, match="--job-timeout"):
        RayOptions(job_timeout_s=0)


def test_cli_resume_flags_are_checked(tmp_path: Path, capsys) -> None:
    from agent.cli import main

    base = ["bench", "--suite", "sites", "--model", "oracle", "--tasks", "a/x"]
    assert main([*base, "--resume", str(tmp_path / "a"), "--out", str(tmp_path / "b")]) == 2
    assert "drop --out" in capsys.readouterr().err
    assert main([*base, "--resume", str(tmp_path / "none")]) == 2  # nothing started there
    assert "no bench.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--ray-resources", '{"bench_node": -1}'])
    assert "positive amounts" in capsys.readouterr().err


def test_an_unreachable_cluster_is_a_clear_error_before_anything_is_written(
    tmp_path: Path, capsys
) -> None:
    import socket

    from agent.cli import main

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "b"
    args = ["bench", "--suite", "sites", "--model", "oracle", "--tasks", "a/x", "--out", str(out)]
    assert main([*args, "--ray", f"127.0.0.1:{port}"]) == 2
    assert f"ray start --head --port {port}" in capsys.readouterr().err
    assert not out.exists()
