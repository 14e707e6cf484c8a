"""``agent parse`` through the real console script: one example per format, and malformed
text → exit 2 with a one-line reason on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(sys.executable).parent / "agent"


def agent(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``agent`` script (``python -m agent.cli`` if it is not installed)."""
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "agent.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*cmd, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )


def ok(*args: str, stdin: str | None = None) -> list[dict]:
    res = agent(*args, stdin=stdin)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert isinstance(out, list) and out
    return out


EXAMPLES = [
    (
        "qwen2-vl",
        "1920x1080",
        "1",
        "<|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>",
        {"type": "click", "target": "OK", "input_point": [290, 164]},
    ),
    (
        "qwen-vl",
        "1920x1080",
        "1",
        "<ref>OK</ref><box>(100,100),(200,200)</box>",
        {"type": "click", "input_point": [290, 164]},
    ),
    (
        "ui-tars-1.5",
        "1920x1080",
        "1",
        "Thought: go\nAction: click(start_box='(197,525)')",
        {"type": "click", "input_point": [196, 519]},
    ),
    (
        "ui-tars",
        "1920x1080",
        "1",
        "Action: right_single(start_box='<|box_start|>(100,100)<|box_end|>')",
        {"type": "right_click", "input_point": [193, 109]},
    ),
    (
        "qwen2.5-vl",
        "2560x1600",
        "2",
        '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [500, 300]}}</tool_call>',
        {"type": "click", "point": [500.0, 300.0], "input_point": [250, 150]},
    ),
    (
        "json",
        "2560x1600",
        "2",
        '{"type": "click", "point": [500, 300]}',
        {"type": "click", "point": [500.0, 300.0], "input_point": [250, 150]},
    ),
]


@pytest.mark.parametrize(("fmt", "screen", "dsf", "text", "expected"), EXAMPLES)
def test_parse_one_example_per_format(fmt, screen, dsf, text, expected):
    (action,) = ok("parse", "--format", fmt, "--screen", screen, "--dsf", dsf, text)
    for key, value in expected.items():
        assert action[key] == value, action


def test_drag_from_stdin_has_input_start_and_end():
    text = "Action: drag(start_box='(100,100)', end_box='(1000,600)')"
    (action,) = ok(
        "parse", "-f", "ui-tars-1.5", "--screen", "2560x1600", "--dsf", "2", "-", stdin=text
    )
    assert action["type"] == "drag"
    assert set(action) >= {"start", "end", "input_start", "input_end"}


def test_mode_defaults_to_the_formats_and_can_be_overridden():
    text = "Action: click(start_box='(197,525)')"
    (resized,) = ok("parse", "-f", "ui-tars-1.5", "--screen", "1920x1080", text)
    (padded,) = ok("parse", "-f", "ui-tars-1.5", "--screen", "1920x1080", "--mode", "pad", text)
    assert resized["input_point"] == [196, 519] and padded["input_point"] == [197, 525]


QWEN3_CLICK = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": '
    "[500, 500]}}\n</tool_call>"
)


def test_qwen3_vl_resize_mode_clicks_the_screen_centre():
    """The issue's example: 0–1000 of the smart-resized 1920x1088 input → (960, 540)."""
    args = ("parse", "--format", "qwen3-vl", "--screen", "1920x1080")
    (action,) = ok(*args, "--mode", "resize", QWEN3_CLICK)
    assert action["type"] == "click"
    assert action["point"] == [960.0, 540.0] and action["input_point"] == [960, 540]
    # pad mode: 0–1000 of the 1920x1088 padded input (the model saw the black strip)
    (padded,) = ok(*args, QWEN3_CLICK)
    assert padded["point"] == [960.0, 544.0]
    # mobile cookbook: 0–999
    mobile = QWEN3_CLICK.replace("computer_use", "mobile_use").replace("left_click", "click")
    (m,) = ok("parse", "-f", "qwen3-vl-mobile", "--screen", "1920x1080", "--mode", "resize", mobile)
    assert m["point"] == pytest.approx([500 / 999 * 1920, 500 / 999 * 1080])


def test_a_call_without_coordinate_acts_at_the_pointer():
    bare = '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click"}}</tool_call>'
    (action,) = ok("parse", "-f", "qwen2.5-vl", "--screen", "800x600", "--pointer", "12,34", bare)
    assert action["point"] == [12.0, 34.0]
    res = agent("parse", "-f", "qwen2.5-vl", "--screen", "800x600", bare)
    assert res.returncode == 2 and "pointer" in res.stderr and len(res.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("-f", "ui-tars", "--screen", "1920x1080", "Action: click(start_box='(1,1)'"),
        ("-f", "qwen2-vl", "--screen", "1920x1080", "<|box_start|>(5000,5000)<|box_end|>"),
        ("-f", "json", "--screen", "1920x1080", "not json\nat all"),
        ("-f", "nope", "--screen", "1920x1080", "x"),
        ("-f", "json", "--screen", "big", '{"type": "wait"}'),
    ],
)
def test_malformed_exits_2_with_one_line(args):
    res = agent("parse", *args)
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agent parse: error:"), res.stderr
