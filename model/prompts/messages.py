"""One backend-neutral message list per model request.

Messages are OpenAI-style dicts — ``{"role": ..., "content": str | [part, ...]}`` — whose
parts are ``{"type": "text", "text": ...}`` or ``{"type": "image", "image": ImagePart}``.
An :class:`ImagePart` carries the Observation and its Frame, so each backend renders the
same conversation its own way (the HF backend: chat template + our pixel tensors; the
OpenAI backend: lossless PNG data URLs of the model image).

Shape (consecutive user messages are merged unless the profile keeps ``separate_turns``)::

    [system]  family system prompt (may be absent: the chat template adds its default)
    user      task (+ older steps as text lines, or UI-TARS: the prompt)
    (user image_i, assistant raw_i)  for the last ``history_images`` steps
    (of at most ``history_steps`` earlier steps; ``history_block`` > 1: a window that grows
    by one step per request and drops its screenshots in blocks, see
    :func:`agent.core.model.history_window`)
    user      current screenshot (+ last action error, + feedback to correct)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from agent.core.coords import Frame
from agent.core.model import HistoryItem, ModelRequest, history_window
from agent.core.observation import Observation
from model.parsers import spec_for
from model.prompts import gelab, grounders, holo, maiui, opencua, owl, templates, venus
from model.prompts.families import Family, get_family
from model.prompts.opening import Builder, Opening, PromptInput

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


def _split_history(
    history: list[HistoryItem], images: int, steps: int | None = None, block: int = 1
) -> tuple[list, list]:
    """(older steps, steps shown with their screenshot) of the window
    :func:`agent.core.model.history_window` defines (``steps``: None = every given step):
    of its image window, the steps that still hold an observation keep their screenshot."""
    items, shown = history_window(history, steps=steps, images=images, block=block)
    windowed: list[HistoryItem] = []
    for item in reversed(shown):
        if item.observation is None:
            break
        windowed.append(item)
    windowed.reverse()
    cut = len(items) - len(windowed)
    return items[:cut], windowed


def _notes(request: ModelRequest) -> list[str]:
    notes = []
    if request.observation.last_action_error:
        notes.append(f"The previous action failed: {request.observation.last_action_error}")
    if request.feedback:
        notes.append(f"Note: {request.feedback}")
    return notes


_PROGRESS = "Task progress (You have done the following operation on the current device): "


def _uitars(v15: bool) -> Callable[[PromptInput], Opening]:
    def build(p: PromptInput) -> Opening:
        text = templates.ui_tars_prompt(p.task, v15=v15, language=p.language, space=p.space)
        return Opening(templates.SYSTEM_DEFAULT, text)

    return build


def _qwen25(p: PromptInput) -> Opening:
    task, lines, space = p.task, p.lines, p.space
    if space == "grounding":  # no tool prompt: the chat template's default system turn
        return Opening(None, templates.bbox_instruction(task))
    w, h = p.size
    text = f"The user query: {task}"
    if lines:  # the mobile cookbook's history: "Step 1: …; Step 2: …; "
        text += "\n" + _PROGRESS + "".join(f"{line}; " for line in lines)
    return Opening(templates.qwen25_system(w, h, mobile=space == "mobile"), text)


def _qwen3(p: PromptInput) -> Opening:
    task, lines, space = p.task, p.lines, p.space
    if space == "grounding":
        return Opening(None, templates.point_instruction(task), image_first=True)
    w, h = p.size
    if space == "mobile":  # cookbooks/mobile_agent.ipynb's user query, verbatim shape
        history = "".join(f"{line}; " for line in lines)
        text = f"The user query: {task}.\n{_PROGRESS}{history}.\n"
        return Opening(templates.qwen3_system(w, h, mobile=True), text)
    text = task
    if lines:
        text += "\n" + _PROGRESS + "".join(f"{line}; " for line in lines)
    return Opening(templates.qwen3_system(w, h, mobile=False), text, image_first=True)


def _grounding(ref: tuple[str, str], box: tuple[str, str]) -> Callable[[PromptInput], Opening]:
    def build(p: PromptInput) -> Opening:
        text = templates.grounding_instruction(p.task, ref=ref, box=box)
        if p.lines:
            text += "\nPrevious steps:\n" + "\n".join(p.lines)
        return Opening(None, text)  # the chat template adds its default system prompt

    return build


def _json(p: PromptInput) -> Opening:
    text = f"Task: {p.task}"
    if p.lines:
        text += "\nPrevious steps:\n" + "\n".join(p.lines)
    return Opening(templates.json_system(p.frame), text)


# prompt style (a profile's ``prompt`` field) → its first turn
PROMPTS: dict[str, Builder] = {
    "ui-tars-1.5": _uitars(True),
    "ui-tars-v1": _uitars(False),
    "qwen2.5-vl": _qwen25,
    "qwen3-vl": _qwen3,
    "qwen2-vl": _grounding(
        ("<|object_ref_start|>", "<|object_ref_end|>"), ("<|box_start|>", "<|box_end|>")
    ),
    "qwen-vl": _grounding(("<ref>", "</ref>"), ("<box>", "</box>")),
    "json": _json,
}


# the GUI fine-tunes' prompt styles, one module per group
for _group in (owl, maiui, venus, opencua, holo, gelab, grounders):
    PROMPTS.update(_group.PROMPTS)


def strip_think(text: str) -> str:
    """A reply without its ``<think>…</think>`` block (Qwen3 thinking variants): history
    keeps what the model decided, not how (as the Qwen3 chat templates do)."""
    end = text.rfind("</think>")
    return text[end + len("</think>") :].lstrip("\n") if end >= 0 else text


def build_messages(
    request: ModelRequest,
    family: Family | str,
    *,
    history_images: int = 2,
    history_steps: int | None = None,
    history_block: int = 1,
    action_space: str = "computer",
    language: str = "English",
) -> list[Message]:
    """The conversation for one decision, in the profile's prompt style and chat structure
    (see module doc): ``separate_turns`` keeps the prompt and each screenshot as their own
    user turns, as UI-TARS's official examples send them. At most ``history_steps`` earlier
    steps (None: every step of the request) appear, the last ``history_images`` of them
    with their screenshot (a backend passes its own :class:`~agent.core.model.Model`
    settings); ``history_block`` > 1 drops them in blocks, so that consecutive requests
    share their prefix (:func:`~agent.core.model.history_window`)."""
    fam = get_family(family) if isinstance(family, str) else family
    frame = request.frame
    older, windowed = _split_history(request.history, history_images, history_steps, history_block)
    lines = [] if fam.history_as_turns else [_line(h) for h in older]
    size = spec_for(fam.format_for(action_space)).coords.prompt_size(frame)
    replies = tuple(h.raw for h in request.history)
    opening = PROMPTS[fam.prompt](
        PromptInput(request.task, frame, lines, action_space, language, size, replies)
    )
    reply = strip_think if fam.strip_think else (lambda text: text)

    messages: list[Message] = []
    if opening.system is not None:
        messages.append({"role": "system", "content": opening.system})
    messages.append({"role": "user", "content": [text_part(opening.text)]})
    if fam.history_as_turns:  # UI-TARS: older responses stay as assistant turns, no image
        for item in older:
            messages.append({"role": "assistant", "content": reply(item.raw)})
    for item in windowed:
        assert item.observation is not None
        item_frame = item.frame or item.observation.frame(
            mode=frame.mode, convention=frame.convention, factor=frame.factor
        )
        messages.append({"role": "user", "content": [image_part(item.observation, item_frame)]})
        messages.append({"role": "assistant", "content": reply(item.raw)})
    final: list[dict[str, Any]] = [image_part(request.observation, frame)]
    if opening.after is not None:
        final.append(text_part(opening.after))
    final += [text_part(n) for n in _notes(request)]
    messages.append({"role": "user", "content": final})
    if request.text_only:
        messages = _without_images(messages)
    if fam.separate_turns:
        return messages
    return _merge_users(messages, image_first=opening.image_first)


def _without_images(messages: list[Message]) -> list[Message]:
    """A text-only request: every image part dropped, and a turn left empty with it."""
    out: list[Message] = []
    for m in messages:
        content = m["content"]
        if isinstance(content, list):
            content = [p for p in content if p.get("type") != "image"]
            if not content:
                continue
        out.append({**m, "content": content})
    return out


def _merge_users(messages: list[Message], *, image_first: bool = False) -> list[Message]:
    """Join consecutive user messages (the task text and the first screenshot become one
    turn, as the cookbooks send them); ``image_first`` moves the opening text after the
    screenshot it was joined with."""
    out: list[Message] = []
    for m in messages:
        if out and m["role"] == "user" and out[-1]["role"] == "user":
            prev = out[-1]["content"]
            if image_first and len(prev) == 1 and prev[0]["type"] == "text" and m["content"]:
                content = [m["content"][0], prev[0], *m["content"][1:]]
            else:
                content = [*prev, *m["content"]]
            out[-1] = {"role": "user", "content": content}
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


def describe(messages: list[Message], image: Callable[[ImagePart], str] | None = None) -> str:
    """The conversation as text with ``<image WxH>`` placeholders (logs, tests, debugging);
    ``image`` labels each image part otherwise."""
    label = image or (lambda p: f"<image {p.frame.input_w}x{p.frame.input_h}>")
    out = []
    for m in messages:
        content = m["content"]
        if isinstance(content, str):
            body = content
        else:
            body = "".join(p["text"] if p["type"] == "text" else label(p["image"]) for p in content)
        out.append(f"[{m['role']}] {body}")
    return "\n".join(out)
