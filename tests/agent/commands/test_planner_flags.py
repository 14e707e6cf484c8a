"""``agent run --planner P [--grounder G]``: the pair is built from the flags (default
grounder for a scripted planner: OCR), and wrong combinations are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import build_parser, main
from agent.commands.run import _load_model
from model.grounders.ocr import OcrDescriptionGrounder
from model.planner import PlannedModel


def _plan(tmp_path: Path, fmt: str = "instructions") -> Path:
    f = tmp_path / "plan.json"
    f.write_text(json.dumps({"format": fmt, "outputs": ['click "OK"']}))
    return f


def test_a_scripted_planner_defaults_to_the_ocr_grounder(tmp_path: Path) -> None:
    f = _plan(tmp_path)
    args = build_parser().parse_args(["run", "--task", "x", "--planner", f"scripted:{f}"])
    model, spec = _load_model(args)
    assert isinstance(model, PlannedModel) and isinstance(model.grounder, OcrDescriptionGrounder)
    assert spec == f"planner=scripted:{f} grounder=ocr"
    assert model.planner.format == "instructions"
    assert (args.planner, args.grounder) == (f"scripted:{f}", "ocr")  # recorded in episode.json
    model.close()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--grounder", "ocr"], "--planner"),  # a grounder without a planner
        (["--text-planner"], "--planner"),
        (["--planner", "scripted:{f}", "--model", "ocr"], "not both"),
        (["--model", "scripted:{f}"], "--planner scripted:"),  # instructions are for planners
        (["--planner", "scripted:{f}", "--grounder", "ocr:nonsense=1"], "unknown ocr grounder"),
    ],
)
def test_wrong_combinations_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    f = _plan(tmp_path)
    argv = ["run", "--task", "x", "--out", str(tmp_path / "ep"), *extra]
    assert main([a.replace("{f}", str(f)) for a in argv]) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "ep").exists()  # refused before anything ran
