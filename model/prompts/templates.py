"""Prompt texts per family, byte-equal to each model's published prompt (models follow the
exact wording they were trained with). The official texts are data files in ``official/``:

* UI-TARS-1.5: ``COMPUTER_USE`` / ``MOBILE_USE`` / ``GROUNDING`` of bytedance/UI-TARS
  ``codes/prompts.py`` (commit 6b315cc, the last before the library moved to DOUBAO
  templates), rendered with ``.format(language=…, instruction=…)``;
* UI-TARS v1: the computer and mobile templates of bytedance/UI-TARS ``README_v1.md``
  (raw strings, sent as ``prompt + instruction``; their literal ``\\n`` and ``\\"``
  artefacts are part of the published text and kept) and its grounding prompt;
* Qwen2.5-VL and Qwen3-VL: the ``computer_use`` / ``mobile_use`` tools of each repository's
  ``cookbooks/utils/agent_function_call.py`` (``tools.json``), wrapped by qwen-agent 0.0.34's
  ``NousFnCallPrompt`` (``nous_fncall_template.txt``) after the system text "You are a helpful
  assistant."; Qwen3-VL's computer cookbook states a 1000x1000 screen (0–1000 coordinates);
  Qwen3-VL's mobile cookbook (``cookbooks/mobile_agent.ipynb``) sends its own system prompt
  (999x999, 0–999) — ``qwen3vl_mobile_cookbook_system.txt``;
* Qwen2-VL / Qwen-VL: no published agent prompt; a grounding instruction in their
  reference/box syntax (coordinates 0–1000);
* json: the action schema of :mod:`agent.core.actions`, points in screenshot pixels.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from agent.core.coords import Frame


@functools.cache
def official(name: str) -> str:
    """An official prompt text shipped in ``model/prompts/official/`` (exact bytes)."""
    return resources.files("model.prompts").joinpath("official", name).read_text("utf-8")


@functools.cache
def _tools() -> dict[str, Any]:
    return json.loads(official("tools.json"))


SYSTEM_DEFAULT = "You are a helpful assistant."

# ---- UI-TARS --------------------------------------------------------------------------------

_UITARS_15 = {
    "computer": "uitars15_computer_use.txt",
    "mobile": "uitars15_mobile_use.txt",
    "grounding": "uitars15_grounding.txt",
}
_UITARS_V1 = {
    "computer": ("uitars_v1_computer.txt", "Chinese"),  # the published text says Chinese
    "mobile": ("uitars_v1_mobile.txt", "English"),
    "grounding": ("uitars_v1_grounding.txt", None),
}


def ui_tars_prompt(
    task: str, *, v15: bool, mobile: bool = False, language: str = "English", space: str = ""
) -> str:
    """The UI-TARS user prompt: the official template for the action space ("computer",
    "mobile" or "grounding"; ``mobile`` is the short form), with the language and the task."""
    space = space or ("mobile" if mobile else "computer")
    if v15:
        text = official(_UITARS_15[space])
        if space == "grounding":
            return text.format(instruction=task)
        return text.format(language=language, instruction=task)
    name, said = _UITARS_V1[space]
    text = official(name)
    if said is not None:
        text = text.replace(f"- Use {said} in `Thought`", f"- Use {language} in `Thought`")
    return text + task


# ---- Qwen2.5-VL / Qwen3-VL function calling -------------------------------------------------


def tool(family: str, name: str, width: int, height: int) -> dict[str, Any]:
    """A cookbook tool (``family`` "qwen2.5-vl" or "qwen3-vl", ``name`` "computer_use" or
    "mobile_use") with the screen size its prompt states."""
    fn = dict(_tools()[f"{family}/{name}"])
    fn["description"] = fn["description"].replace("{width}x{height}", f"{width}x{height}")
    return fn


def nous_system(fn: dict[str, Any], system: str = SYSTEM_DEFAULT) -> str:
    """qwen-agent's ``NousFnCallPrompt`` system message for one tool."""
    descs = json.dumps({"type": "function", "function": fn}, ensure_ascii=False)
    return system + "\n\n" + official("nous_fncall_template.txt").format(tool_descs=descs)


def qwen25_system(w: int, h: int, *, mobile: bool) -> str:
    """The Qwen2.5-VL cookbook's system prompt, the screen stated in model-input pixels."""
    return nous_system(tool("qwen2.5-vl", "mobile_use" if mobile else "computer_use", w, h))


def qwen3_system(w: int, h: int, *, mobile: bool) -> str:
    """Qwen3-VL: the computer cookbook's prompt (stated size 1000x1000 for 0–1000), or the
    mobile cookbook's own system prompt (999x999)."""
    if mobile:
        return official("qwen3vl_mobile_cookbook_system.txt")
    return nous_system(tool("qwen3-vl", "computer_use", w, h))


# ---- grounding-only models and JSON --------------------------------------------------------

_GROUNDING_VERBS = (
    'click, double click, right click, middle click, hover, long press, type "text" into, '
    "scroll up|down|left|right at, drag (then a second box to drag to)"
)


def bbox_instruction(description: str) -> str:
    """Qwen2.5-VL: its grounding cookbook's one-line request; the answer is
    ``[{"bbox_2d": [x1, y1, x2, y2], "label": ...}]`` in model-input px."""
    return f"Locate {description}, output its bbox coordinates using JSON format."


def point_instruction(description: str) -> str:
    """Qwen3-VL: the spatial-understanding cookbook's pointing request (QwenLM/Qwen3-VL@9658872,
    cookbooks/spatial_understanding.ipynb); the answer is ``[{"point_2d": [x, y], "label":
    ...}]``, 0–1000."""
    return f"Locate {description} in this image. Output the point coordinates in JSON format."


def grounding_instruction(task: str, *, ref: tuple[str, str], box: tuple[str, str]) -> str:
    """Qwen-VL / Qwen2-VL: one line, a verb then the grounded target (0–1000 coordinates)."""
    example = f'{ref[0]}the "OK" button{ref[1]}{box[0]}(x1,y1),(x2,y2){box[1]}'
    return (
        f"You operate software from screenshots. Task: {task}\n"
        "Answer with the next action on one line: an action verb followed by the target "
        f"element grounded as {example}, coordinates normalized to 0-1000 of the screenshot. "
        f"Verbs: {_GROUNDING_VERBS}."
    )


JSON_ACTIONS = (
    '{"type": "click", "point": [x, y]} (also double_click, right_click, middle_click, hover, '
    "long_press)\n"
    '{"type": "type", "text": "...", "point": [x, y], "enter": false} (point optional)\n'
    '{"type": "key", "keys": "ctrl+c"}\n'
    '{"type": "scroll", "direction": "down", "amount": 5, "point": [x, y]}\n'
    '{"type": "drag", "start": [x, y], "end": [x, y]}\n'
    '{"type": "swipe", "start": [x, y], "end": [x, y]}\n'
    '{"type": "navigate", "url": "..."}  {"type": "back"}  {"type": "home"}\n'
    '{"type": "open_app", "name": "..."}  {"type": "wait", "seconds": 1}\n'
    '{"type": "zoom", "region": [x1, y1, x2, y2], "scale": 1} (your next screenshot is that '
    "region at full resolution, scale 2 = enlarged x2; the step after shows the whole screen)\n"
    '{"type": "finish", "status": "success", "answer": "..."}  '
    '{"type": "call_user", "question": "..."}'
)


def coordinate_note(frame: Frame) -> str:
    """How the model must write points, in its convention and with the real sizes."""
    if frame.convention == "screen":
        return f"Points are [x, y] in pixels of the {frame.screen_w}x{frame.screen_h} screenshot."
    if frame.convention == "abs":
        return f"Points are [x, y] in pixels of the {frame.input_w}x{frame.input_h} image."
    if frame.convention == "norm1":
        return "Points are [x, y] normalized to 0-1 of the image width and height."
    full = "999" if frame.convention == "norm999" else "1000"
    return f"Points are [x, y] normalized to 0-{full} of the image width and height."


def json_system(frame: Frame) -> str:
    return (
        "You are a GUI agent: you operate software from screenshots, one action at a time. "
        "Answer with your reasoning in one short sentence, then exactly one JSON object "
        '{"thought": "...", "action": {...}} where the action is one of:\n'
        f"{JSON_ACTIONS}\n{coordinate_note(frame)} Use finish when the task is done."
    )
