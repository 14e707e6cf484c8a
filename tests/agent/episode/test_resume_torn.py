"""Resume after a crash mid-write (issue 15): a steps.jsonl whose last line is torn resumes
from the last *complete* step — only the torn line is dropped, every complete step is
re-executed (the app's state is whole again), the model is asked from the first missing
step, and the new lines continue the indices. The board env's text field shows exactly
which typed letters were restored and which were typed again."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from agent.episode.recording import load_episode
from agent.episode.resume import resume_episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.scripted import ScriptedModel

LETTERS = "abcdef"
FINISH = json.dumps({"type": "finish", "status": "success"})


def _outputs() -> list[str]:
    field = {"type": "type", "point": [100, 220], "clear": False}
    return [json.dumps({**field, "text": c}) for c in LETTERS] + [FINISH]


def _record_and_tear(out: Path, steps: int, keep: int) -> bytes:
    """Record ``steps`` typed letters (budget ends the run), then cut the file ``keep``
    bytes into its last line: the crash wrote only part of it. Returns the kept bytes."""
    env = BoardEnv()
    ep = run("type the letters", env=env, model=ScriptedModel(_outputs()), out=out,
             max_steps=steps, no_gate=True)  # fmt: skip
    assert env.state.text == LETTERS[:steps] and not ep.success
    path = out / "steps.jsonl"
    data = path.read_bytes()
    lines = data.split(b"\n")[:-1]
    assert len(lines) == steps
    cut = len(data) - len(lines[-1]) - 1 + keep
    path.write_bytes(data[:cut])
    return data[:cut]


def test_a_torn_last_line_resumes_from_the_last_complete_step(tmp_path: Path) -> None:
    out = tmp_path / "ep"
    torn = _record_and_tear(out, steps=4, keep=37)  # step 3 only partly on disk
    complete = torn[: torn.rfind(b"\n") + 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = load_episode(out)
    assert [s["index"] for s in before.steps] == [0, 1, 2] and before.torn_lines == 1
    env = BoardEnv()
    ep = resume_episode(out, model=ScriptedModel(_outputs()), env=env, max_steps=20, no_gate=True)
    assert env.state.text == LETTERS  # a, b, c restored; d (the torn step) typed again
    assert [s["index"] for s in ep.steps] == list(range(len(LETTERS) + 1))
    assert ep.success and ep.torn_lines == 0
    data = (out / "steps.jsonl").read_bytes()
    assert data.startswith(complete)  # the complete lines are kept byte for byte
    typed = [s["actions"][0]["action"].get("text") for s in ep.steps]
    assert typed == [*LETTERS, None]
    ff = ep.meta["resumes"][-1]["fast_forward"]
    assert [e["step"] for e in ff] == [0, 1, 2]  # every complete step, none twice


def test_a_file_cut_right_after_a_newline_loses_nothing(tmp_path: Path) -> None:
    """The boundary: the crash hit between two lines (no torn bytes) — all 3 steps stay."""
    out = tmp_path / "ep"
    _record_and_tear(out, steps=4, keep=0)
    env = BoardEnv()
    ep = resume_episode(out, model=ScriptedModel(_outputs()), env=env, max_steps=20, no_gate=True)
    assert env.state.text == LETTERS and ep.success
    assert [s["index"] for s in ep.steps] == list(range(len(LETTERS) + 1))
    assert [e["step"] for e in ep.meta["resumes"][-1]["fast_forward"]] == [0, 1, 2]
