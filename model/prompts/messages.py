"""One backend-neutral message list per model request.

Messages are OpenAI-style dicts — ``{"role": ..., "content": str | [part, ...]}`` — whose
parts are ``{"type": "text", "text": ...}`` or ``{"type": "image", "image": ImagePart}``.
An :class:`ImagePart` carries the Observation and its Frame, so each backend renders the
same conversation its own way (the HF backend: chat template + our pixel tensors; the
OpenAI backend: lossless PNG data URLs of the model image).

Shape (consecutive user messages are merged)::

    [system]  family system prompt (may be absent: the chat template adds its default)
    user      task (+ older steps as text lines, or UI-TARS: the prompt)
    (user image_i, assistant raw_i)  for the last ``history_images`` steps
    user      current screenshot (+ last action error, + feedback to correct)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agent.core.coords import Frame
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.prompts import templates
from model.prompts.families import Family, get_family

Message = dict[str, Any]
LINE_CHARS = 300  # an older step as a text line is cut to this


@dataclass(frozen=True)
class ImagePart:
    """A screenshot for the model: pixels and how they become model input."""

    observation: Observation
    frame: Frame


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def image_part(observation: Observation, frame: Frame) -> dict[str, Any]:
    return {"type": "image", "image": ImagePart(observation, frame)}


def _line(item: HistoryItem) -> str:
    raw = " ".join(item.raw.split())
    if len(raw) > LINE_CHARS:
        raw = raw[: LINE_CHARS - 3] + "..."
    line = f"Step {item.index + 1}: {raw or '(no output)'}"
    if item.error:
        line += f" (failed: {' '.join(item.error.split())[:200]})"
    return line


def _split_history(history: list[HistoryItem], images: int) -> tuple[list, list]:
    """(older steps, steps shown with their screenshot): the last ``images`` steps that
    still hold an observation go in the image window."""
    windowed: list[HistoryItem] = []
    if images > 0:
        for item in reversed(history):
            if len(windowed) >= images or item.observation is None:
                break
            windowed.append(item)
        windowed.reverse()
    cut = len(history) - len(windowed)
    return history[:cut], windowed


def _screen_size(frame: Frame) -> tuple[int, int]:
    """The screen size in the model's coordinate space (what a tool prompt must state)."""
    if frame.convention == "screen":
        return frame.screen_w, frame.screen_h
    if frame.convention == "norm1000":
        return 1000, 1000
    return frame.input_w, frame.input_h


def _notes(request: ModelRequest) -> list[str]:
    notes = []
    if request.observation.last_action_error:
        notes.append(f"The previous action failed: {request.observation.last_action_error}")
    if request.feedback:
        notes.append(f"Note: {request.feedback}")
    return notes


def build_messages(
    request: ModelRequest,
    family: Family | str,
    *,
    history_images: int = 2,
    action_space: str = "computer",
    language: str = "English",
) -> list[Message]:
    """The conversation for one decision, in the family's prompt style (see module doc)."""
    fam = get_family(family) if isinstance(family, str) else family
    mobile = action_space == "mobile"
    frame = request.frame
    older, windowed = _split_history(request.history, history_images)
    messages: list[Message] = []
    lines = [_line(h) for h in older]

    if fam.name in ("ui-tars", "ui-tars-1.5"):
        messages.append({"role": "system", "content": "You are a helpful assistant."})
        prompt = templates.ui_tars_prompt(
            request.task, v15=fam.name == "ui-tars-1.5", mobile=mobile, language=language
        )
        messages.append({"role": "user", "content": [text_part(prompt)]})
    elif fam.name == "qwen2.5-vl":
        w, h = _screen_size(frame)
        messages.append({"role": "system", "content": templates.qwen25_system(w, h, mobile=mobile)})
        text = f"The user query: {request.task}"
        if lines:
            text += (
                "\nTask progress (You have done the following operation on the current "
                "device):\n" + "\n".join(lines)
            )
        messages.append({"role": "user", "content": [text_part(text)]})
    elif fam.name in ("qwen2-vl", "qwen-vl"):
        tags = (
            (("<|object_ref_start|>", "<|object_ref_end|>"), ("<|box_start|>", "<|box_end|>"))
            if fam.name == "qwen2-vl"
            else (("<ref>", "</ref>"), ("<box>", "</box>"))
        )
        text = templates.grounding_instruction(request.task, ref=tags[0], box=tags[1])
        if lines:
            text += "\nPrevious steps:\n" + "\n".join(lines)
        messages.append({"role": "user", "content": [text_part(text)]})
    else:  # json
        messages.append({"role": "system", "content": templates.json_system(frame)})
        text = f"Task: {request.task}"
        if lines:
            text += "\nPrevious steps:\n" + "\n".join(lines)
        messages.append({"role": "user", "content": [text_part(text)]})

    if fam.history_as_turns:  # UI-TARS: older responses stay as assistant turns, no image
        for item in older:
            messages.append({"role": "assistant", "content": item.raw})
    for item in windowed:
        assert item.observation is not None
        item_frame = item.frame or item.observation.frame(
            mode=frame.mode, convention=frame.convention
        )
        messages.append({"role": "user", "content": [image_part(item.observation, item_frame)]})
        messages.append({"role": "assistant", "content": item.raw})
    final: list[dict[str, Any]] = [image_part(request.observation, frame)]
    final += [text_part(n) for n in _notes(request)]
    messages.append({"role": "user", "content": final})
    return _merge_users(messages)


def _merge_users(messages: list[Message]) -> list[Message]:
    """Join consecutive user messages (the task text and the first screenshot become one
    turn, as the models' reference code sends them)."""
    out: list[Message] = []
    for m in messages:
        if out and m["role"] == "user" and out[-1]["role"] == "user":
            out[-1] = {"role": "user", "content": [*out[-1]["content"], *m["content"]]}
        else:
            out.append(m)
    return out


def iter_images(messages: list[Message]) -> Iterator[ImagePart]:
    """Every image of the conversation, in order."""
    for m in messages:
        if isinstance(m["content"], list):
            for part in m["content"]:
                if part.get("type") == "image":
                    yield part["image"]


def describe(messages: list[Message]) -> str:
    """The conversation as text with ``<image WxH>`` placeholders (logs, tests, debugging)."""
    out = []
    for m in messages:
        content = m["content"]
        if isinstance(content, str):
            body = content
        else:
            body = "".join(
                p["text"]
                if p["type"] == "text"
                else f"<image {p['image'].frame.input_w}x{p['image'].frame.input_h}>"
                for p in content
            )
        out.append(f"[{m['role']}] {body}")
    return "\n".join(out)
