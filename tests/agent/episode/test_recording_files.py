"""What the recorder leaves on disk, file by file: episode.json before and after the end, the
space reserve, scrubbing, screenshot names and their failures, a resumed episode, and the
errors for a directory that is taken, missing or broken."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.core.errors import RecordingError
from agent.core.observation import Observation
from agent.episode.recording import (
    RESERVE_NAME,
    EpisodeWriter,
    json_line,
    load_episode,
    screenshot_name,
)


def _obs(v: int) -> Observation:
    return Observation(array=np.full((12, 16, 3), v, np.uint8))


def _meta(d: Path) -> dict:
    return json.loads((d / "episode.json").read_text())


def test_episode_json_says_running_then_the_outcome(tmp_path: Path) -> None:
    d = tmp_path / "e"
    w = EpisodeWriter(d, {"task": {"goal": "g"}}, reserve_bytes=1000)
    m = _meta(d)
    assert m["schema_version"] == 1 and m["versions"]["schema"] == "1"
    assert m["versions"]["python"].count(".") == 2
    assert (m["outcome"], m["ended_at"], m["task"]) == ({"status": "running"}, None, {"goal": "g"})
    assert (d / RESERVE_NAME).stat().st_size == 1000  # kept free for the final episode.json
    w.write_step({"index": 0, "actions": [{"type": "click"}]})
    w.write_step({"index": 1, "actions": [{"type": "wait"}, {"type": "key"}]})
    w.finish({"status": "success"})
    m = _meta(d)
    assert (m["outcome"], m["n_steps"]) == ({"status": "success"}, 2)
    assert m["ended_at"] >= m["started_at"] > 0
    assert not (d / RESERVE_NAME).exists()
    ep = load_episode(d)
    assert ep.success and ep.outcome == {"status": "success"}
    assert [a["type"] for a in ep.actions()] == ["click", "wait", "key"]
    assert [json.loads(line) for line in (d / "steps.jsonl").read_text().splitlines()] == ep.steps


def test_no_reserve_when_asked_for_none(tmp_path: Path) -> None:
    EpisodeWriter(tmp_path / "e", {}, reserve_bytes=0).finish({"status": "failure"})
    assert not (tmp_path / "e" / RESERVE_NAME).exists()
    assert not load_episode(tmp_path / "e").success


def test_a_taken_or_impossible_directory_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "e"
    EpisodeWriter(d, {}).write_step({"index": 0})
    with pytest.raises(RecordingError, match="already holds an episode; choose another --out"):
        EpisodeWriter(d, {})
    EpisodeWriter(d, {"resumed": True}).finish({"status": "success"})  # a resume may
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecordingError, match="cannot create episode directory"):
        EpisodeWriter(tmp_path / "file" / "e", {})


def test_scrub_reaches_step_lines_and_episode_json(tmp_path: Path) -> None:
    d = tmp_path / "e"

    def scrub(obj: object) -> object:
        return json.loads(json.dumps(obj).replace("hunter2", "[secret]"))

    w = EpisodeWriter(d, {"note": "hunter2"}, scrub=scrub)
    w.write_step({"typed": "hunter2"})
    w.finish({"status": "success", "why": "hunter2"})
    raw = (d / "steps.jsonl").read_text() + (d / "episode.json").read_text()
    assert "hunter2" not in raw and raw.count("[secret]") == 3


def test_json_lines_are_utf8_and_lone_surrogates_are_escaped() -> None:
    assert json_line({"t": "héllo"}) == '{"t": "héllo"}\n'.encode()
    assert json_line({"t": "a\ud800b"}) == b'{"t": "a\\ud800b"}\n'
    assert json_line({"p": Path("/x")}) == b'{"p": "/x"}\n'  # anything else as its str


def test_screenshots_are_numbered_and_written_as_given(tmp_path: Path) -> None:
    assert screenshot_name(7) == "0007.png" and screenshot_name(12345) == "12345.png"
    d = tmp_path / "e"
    w = EpisodeWriter(d, {})
    obs = _obs(200)
    assert w.save_screenshot(3, obs) == "0003.png"
    w.finish({"status": "success"})
    assert (d / "0003.png").read_bytes() == obs.png
    assert load_episode(d).screenshot_path(3) == d / "0003.png"


def test_a_screenshot_that_cannot_be_written_is_named_in_the_outcome(tmp_path: Path) -> None:
    d = tmp_path / "e"
    w = EpisodeWriter(d, {})
    (d / "0000.png").mkdir()  # the rename onto it fails
    w.save_screenshot(0, _obs(1))
    with pytest.raises(RecordingError, match="could not write a screenshot"):
        w.finish({"status": "success"})
    outcome = _meta(d)["outcome"]
    assert outcome["status"] == "success" and outcome["error_type"] == "RecordingError"
    assert "could not write a screenshot" in outcome["error"]
    assert not (d / "0000.png.tmp").exists()  # no debris


def test_a_later_screenshot_error_surfaces_on_the_next_step(tmp_path: Path) -> None:
    d = tmp_path / "e"
    w = EpisodeWriter(d, {})
    (d / "0000.png").mkdir()
    w.save_screenshot(0, _obs(1))
    w._png._q.join()  # the writer thread has tried
    with pytest.raises(RecordingError, match="could not write a screenshot"):
        w.write_step({"index": 0})
    w.save_screenshot(1, _obs(2))  # the error was raised once, not again
    w.finish({"status": "failure", "error": "mine"})
    assert _meta(d)["outcome"] == {"status": "failure", "error": "mine"}


def test_reopen_cuts_a_torn_line_and_appends(tmp_path: Path) -> None:
    d = tmp_path / "e"
    w = EpisodeWriter(d, {"task": "t"})
    w.write_step({"index": 0})
    w.write_step({"index": 1})
    w.finish({"status": "interrupted"})
    with open(d / "steps.jsonl", "ab") as fh:
        fh.write(b'{"index": 2, "tor')
    r = EpisodeWriter.reopen(d)
    assert r.n_steps == 2
    m = _meta(d)
    assert (m["outcome"], m["ended_at"], m["task"]) == ({"status": "running"}, None, "t")
    (resume,) = m["resumes"]
    assert resume["from_step"] == 2 and resume["previous_outcome"] == {"status": "interrupted"}
    r.write_step({"index": 2})
    r.finish({"status": "success"})
    ep = load_episode(d)
    assert [s["index"] for s in ep.steps] == [0, 1, 2] and ep.torn_lines == 0
    assert ep.meta["n_steps"] == 3


def test_broken_episode_directories_are_errors_that_say_why(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="is not an episode directory"):
        load_episode(tmp_path)
    (tmp_path / "episode.json").write_text("{nope")
    with pytest.raises(RecordingError, match=r"episode\.json is not valid JSON"):
        load_episode(tmp_path)
    (tmp_path / "episode.json").write_text('{"outcome": {"status": "success"}}')
    ep = load_episode(tmp_path)  # no steps file yet: no steps
    assert (ep.steps, ep.torn_lines, ep.success) == ([], 0, True)


def test_reopen_of_an_intact_or_empty_episode_changes_no_step(tmp_path: Path) -> None:
    d = tmp_path / "e"
    w = EpisodeWriter(d, {})
    w.write_step({"index": 0, "actions": [{"type": "click"}]})
    w.finish({"status": "interrupted"})
    before = (d / "steps.jsonl").read_bytes()
    ended = _meta(d)["ended_at"]
    r = EpisodeWriter.reopen(d)
    assert (d / "steps.jsonl").read_bytes() == before and r.n_steps == 1
    assert _meta(d)["resumes"][0]["at"] >= ended
    r.finish({"status": "interrupted"})
    e = tmp_path / "empty"
    EpisodeWriter(e, {}).finish({"status": "interrupted"})
    (e / "steps.jsonl").write_bytes(b"")
    assert EpisodeWriter.reopen(e).n_steps == 0


def test_reopen_drops_a_last_line_without_its_newline_and_counts_what_is_kept(
    tmp_path: Path,
) -> None:
    # a write cut just before its newline: the line parses, but appending to it would glue
    # the next step onto it, so reopen cuts it and the count follows what is kept
    d = tmp_path / "e"
    w = EpisodeWriter(d, {})
    w.write_step({"index": 0})
    w.finish({"status": "interrupted"})
    with open(d / "steps.jsonl", "ab") as fh:
        fh.write(b'{"index": 1}')
    r = EpisodeWriter.reopen(d)
    assert (d / "steps.jsonl").read_bytes() == b'{"index": 0}\n'
    assert r.n_steps == 1 and _meta(d)["resumes"][0]["from_step"] == 1
    r.write_step({"index": 1})
    r.finish({"status": "success"})
    assert [s["index"] for s in load_episode(d).steps] == [0, 1]


def test_reopen_keeps_scrubbing_and_the_writer_options(tmp_path: Path) -> None:
    d = tmp_path / "e"
    EpisodeWriter(d, {}).finish({"status": "interrupted"})
    r = EpisodeWriter.reopen(d, scrub=lambda o: {"scrubbed": True}, reserve_bytes=123)
    assert (d / RESERVE_NAME).stat().st_size == 123
    r.write_step({"typed": "hunter2"})
    r.finish({"status": "success"})
    assert (d / "steps.jsonl").read_text() == '{"scrubbed": true}\n'


def test_a_step_without_actions_has_none(tmp_path: Path) -> None:
    d = tmp_path / "e"
    w = EpisodeWriter(d, {})
    w.write_step({"index": 0})
    w.write_step({"index": 1, "actions": [{"type": "wait"}]})
    w.finish({"status": "success"})
    assert load_episode(d).actions() == [{"type": "wait"}]
