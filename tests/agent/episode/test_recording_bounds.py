"""Hostile recordings, sizes and bytes (issue 22, item 8): a model answer of 50 MB leaves a
small ``steps.jsonl`` and one attachment holding the answer once; every reader that needs the
whole text (resume, replay, export) gets it back, the viewer shows the cut one; a tampered
attachment is a RecordingError, never a read outside the episode; bytes that are not UTF-8
never crash ``agent view``, ``load_episode`` or ``--resume``; a disk that cannot take an
attachment ends the episode with a clear error and keeps what was written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.core.errors import RecordingError
from agent.episode.bounds import DEFAULT_LIMIT, FLOOR, LIMITS, MAX_LINE_BYTES, bound
from agent.episode.recording import load_episode
from agent.episode.resume import resume_episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.scripted import ScriptedModel

EXAMPLES = str(Path(__file__).resolve().parents[3] / "examples")
MB = 1024 * 1024
OK = json.dumps({"type": "click", "point": [100, 65]})


def _attachments(ep: Path) -> list[Path]:
    return sorted((ep / "attachments").glob("*")) if (ep / "attachments").exists() else []


def test_a_50_mb_answer_leaves_a_small_steps_file_and_one_attachment(tmp_path: Path) -> None:
    answer = "A" * (50 * MB)  # a runaway generation, the same in every retry
    out = tmp_path / "ep"
    ep = run("press OK", env=BoardEnv(), model=ScriptedModel([answer] * 3), out=out,
             no_gate=True)  # fmt: skip
    assert ep.outcome["status"] == "parse_error"
    steps = (out / "steps.jsonl").stat().st_size
    assert steps <= MAX_LINE_BYTES  # was 4 × 50 MB: the line's raw and each attempt's
    assert (out / "episode.json").stat().st_size <= MAX_LINE_BYTES
    (att,) = _attachments(out)  # the answer once, whatever repeats it
    assert att.stat().st_size == len(answer) and att.read_text() == answer
    # the readers that need it get it whole; the viewer's reading keeps it cut
    full = ep.steps[0]
    assert full["raw"] == answer and [a["raw"] for a in full["attempts"]] == [answer] * 3
    assert "attachments" not in full
    cut = load_episode(out, full=False).steps[0]
    assert len(cut["raw"]) == LIMITS["raw"] and att.name in cut["raw"]
    assert set(cut["attachments"]) == {"/raw", "/attempts/0/raw", "/attempts/1/raw",
                                       "/attempts/2/raw"}  # fmt: skip
    page = tmp_path / "v.html"
    assert main(["view", str(out), "--out", str(page)]) == 0
    assert page.stat().st_size < MB and f"whole text: attachments/{att.name}" in page.read_text()


def test_a_long_typed_text_and_answer_come_back_whole_for_replay_and_resume(
    tmp_path: Path,
) -> None:
    text = "lorem ipsum " * 4000  # 48,000 chars: over the 16 KiB bound
    name = json.dumps({"type": "type", "text": text, "point": [100, 220]})
    done = json.dumps({"type": "finish", "status": "success", "answer": "Z" * 70_000})
    env = BoardEnv()
    ep = run("type a long name", env=env, model=ScriptedModel([name, done]),
             out=tmp_path / "ep", no_gate=True)  # fmt: skip
    assert env.state.text == text  # the env typed it all
    (typed,) = ep.records[0].executed_actions()
    assert typed["text"] == text  # what a replay or a resume re-executes
    assert ep.outcome["answer"] == "Z" * 70_000
    meta = json.loads((tmp_path / "ep" / "episode.json").read_text())
    assert len(meta["outcome"]["answer"]) == LIMITS["answer"]
    assert "/outcome/answer" in meta["attachments"]
    line = json.loads((tmp_path / "ep" / "steps.jsonl").read_text().splitlines()[0])
    assert len(line["actions"][0]["action"]["text"]) == LIMITS["text"]


def test_a_record_of_many_long_strings_is_cut_further_until_it_fits() -> None:
    spilled: list[str] = []

    def spill(text: str) -> dict[str, object]:
        spilled.append(text)
        return {"file": f"attachments/{len(spilled):032x}.txt", "chars": len(text)}

    record = {"index": 0, "actions": [{"error": "e" * 8000, "text": "t" * 9000}] * 50}
    out = bound(record, spill)
    size = len(json.dumps(out, ensure_ascii=False).encode())
    assert size <= MAX_LINE_BYTES and len(out["attachments"]) == 100
    assert all(len(a["error"]) <= DEFAULT_LIMIT and len(a["text"]) >= FLOOR
               for a in out["actions"])  # fmt: skip
    small = {"index": 1, "raw": "fine", "observation": {"title": "t" * LIMITS["title"]}}
    assert bound(small, spill) == small  # within every bound: unchanged


def _tamper(out: Path, edit: dict[str, object]) -> None:
    path = out / "steps.jsonl"
    line = json.loads(path.read_text().splitlines()[0])
    (ref,) = line["attachments"].values()
    ref.update(edit)
    path.write_text(json.dumps(line) + "\n")


@pytest.mark.parametrize(
    "edit",
    [
        {"file": "../episode.json"},  # a name outside the attachments folder
        {"file": "attachments/" + "0" * 32 + ".txt"},  # a file that is not there
        {"sha256": "0" * 64},  # the recorded hash no longer matches
        {"bytes": 10},  # nor the size
    ],
)
def test_a_tampered_attachment_is_a_recording_error(tmp_path: Path, edit: dict) -> None:
    out = tmp_path / "ep"
    run("x", env=BoardEnv(), model=ScriptedModel(["B" * 40_000]), out=out, no_gate=True,
        max_steps=1)  # fmt: skip
    _tamper(out, edit)
    with pytest.raises(RecordingError, match=r"attachment|SHA-256|missing|bytes"):
        load_episode(out)
    assert len(load_episode(out, full=False).steps) == 1  # the cut reading still works
    assert main(["view", str(out), "--out", str(tmp_path / "v.html")]) == 0


def test_bytes_that_are_not_utf8_never_crash_a_reader(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"format": "json", "outputs": [OK, OK, OK]}))
    out = tmp_path / "ep"
    run("press OK", env=BoardEnv(), model=f"scripted:{script}", out=out, max_steps=2,
        no_gate=True)  # fmt: skip
    path = out / "steps.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2
    # a stranger's bytes inside the first line's strings: a lone continuation byte, an
    # overlong form, a cut sequence, an encoded surrogate
    junk = b'"raw": "\x80\xc0\xaf\xe2\x82\xed\xa0\x80'
    path.write_bytes(lines[0].replace(b'"raw": "', junk, 1) + lines[1])
    ep = load_episode(out)
    assert [s["index"] for s in ep.steps] == [0, 1]
    assert ep.steps[0]["raw"].startswith("\ufffd") and ep.steps[0]["raw"].endswith(OK)
    page = tmp_path / "v.html"
    assert main(["view", str(out), "--out", str(page)]) == 0
    assert "\ufffd" in page.read_text(encoding="utf-8")
    resumed = resume_episode(out, env=BoardEnv(), model=ScriptedModel([OK] * 3), max_steps=3,
                             no_gate=True)  # fmt: skip
    assert [s["index"] for s in resumed.steps] == [0, 1, 2] and "resumes" in resumed.meta
    assert resumed.steps[0]["raw"].startswith("\ufffd")


FILL = r"""
import json, resource, signal, sys
sys.path.insert(0, {examples!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
from board_env import BoardEnv
from agent.episode.runner import run
from agent.core.errors import RecordingError
from model.scripted import ScriptedModel
ok = json.dumps({{"type": "click", "point": [100, 65]}})
big = json.dumps({{"type": "type", "text": "C" * 2_000_000, "point": [100, 220]}})
try:
    run("press OK", env=BoardEnv(), model=ScriptedModel([ok, ok, ok, big, ok]), out={out!r},
        no_gate=True)
except RecordingError as err:
    print("RecordingError:", err, flush=True)
    sys.exit(3)
"""


def test_an_attachment_the_disk_cannot_take_ends_the_episode_clearly(tmp_path: Path) -> None:
    """The kernel's per-file size limit (RLIMIT_FSIZE) refuses the 2 MB attachment: a real
    write error, as a full disk gives."""
    out = tmp_path / "ep"
    script = tmp_path / "fill.py"
    script.write_text(FILL.format(examples=EXAMPLES, out=str(out)))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=240)  # fmt: skip
    assert res.returncode == 3, res.stdout + res.stderr[-2000:]
    assert "cannot write an attachment" in res.stdout
    ep = load_episode(out)  # what was written stays readable
    assert [s["index"] for s in ep.steps] == [0, 1, 2] and ep.torn_lines == 0
    o = ep.outcome
    assert o["status"] == "error" and o["error_type"] == "RecordingError"
    assert "attachment" in o["error"] and ep.meta["n_steps"] == 3
    assert not list(out.rglob("*.tmp")) and _attachments(out) == []  # no debris
