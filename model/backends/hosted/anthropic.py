"""``anthropic:MODEL``: Claude's computer-use tool through the official ``anthropic`` SDK.

Wire format (docs: platform.claude.com, "Computer use tool"): the beta Messages API with a
``computer`` tool of type ``computer_20251124`` (beta ``computer-use-2025-11-24``: Claude
Opus 4.5 and later, Sonnet 4.6 and later; it offers ``zoom`` when ``enable_zoom`` is set) or
``computer_20250124`` (beta ``computer-use-2025-01-24``: Sonnet 4.5, Haiku 4.5, Opus 4.1,
Sonnet 4, Opus 4, Sonnet 3.7), declaring ``display_width_px`` / ``display_height_px``.
Claude answers in pixels of that display; each action's result is a ``tool_result`` carrying
the new screenshot.

Scaling (docs: "Images and vision"): the API shrinks an image whose long edge exceeds
1568 px or that costs more than ~1,600 tokens (w·h/750, about 1.15 MP) before Claude sees it,
and Claude then answers in the shrunk image's pixels; Claude Opus 4.7 reads up to 2576 px on
the long edge (about 3.75 MP). So this backend shrinks the screenshot to fit that model's
limit itself (:data:`STANDARD` / :data:`HIGH_RES`), declares the shrunk size as the display,
and records it in the step's Frame (``resized_to``): Claude's point ×(screen / display) is
the screenshot pixel, converted by :mod:`agent.core.coords`.

``zoom`` is served here, from the full-resolution screenshot (the region cropped by
:mod:`agent.core.crops`, shrunk only if it exceeds the same limit), inside the same ``act``
call; ``screenshot`` and ``cursor_position`` too. Anthropic has no vendor safety checks: our
gate alone decides.
"""

from __future__ import annotations

from typing import Any

from agent.core.coords import fit_within, model_box_to_screen, screen_to_model
from agent.core.crops import crop_observation, region_crop
from agent.core.errors import CoordinateError
from agent.core.model import HistoryItem, ModelRequest
from model.backends.hosted.common import (
    HostedModel,
    Turn,
    b64,
    finish_text,
    loader,
    png_bytes,
    reply_text,
    sdk,
)

STANDARD = {"long_edge": 1568, "max_pixels": 1_150_000}  # "Images and vision": 1.15 MP
HIGH_RES = {"long_edge": 2576, "max_pixels": 3_750_000}  # Claude Opus 4.7
HIGH_RES_MODELS = ("claude-opus-4-7",)
NEW_TOOL = ("computer_20251124", "computer-use-2025-11-24")
OLD_TOOL = ("computer_20250124", "computer-use-2025-01-24")
# models of the 2025-01-24 tool (the docs' list); any other model gets the newest tool
OLD_TOOL_MODELS: tuple[str, ...] = (
    "claude-3",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4-1",
)
OLD_TOOL_MODELS += ("claude-sonnet-4-2", "claude-opus-4-2", "claude-sonnet-4@", "claude-opus-4@")
CLICKS = {"left_click": "click", "right_click": "right_click", "middle_click": "middle_click"}
CLICKS |= {"double_click": "double_click", "mouse_move": "hover"}
REMOVED = "(an earlier screenshot, removed to keep the request small)"


class AnthropicModel(HostedModel):
    """Claude with the computer-use tool (see the module doc)."""

    prefix = "anthropic"
    vendor = "Anthropic"
    env_vars = ("ANTHROPIC_API_KEY",)
    convention = "abs"

    def __init__(self, model: str, **kw: Any) -> None:
        super().__init__(model, **kw)
        anthropic = sdk("anthropic", self.prefix)
        old = model.startswith(OLD_TOOL_MODELS)
        self.tool_type, self.beta = OLD_TOOL if old else NEW_TOOL
        self.zoom = not old
        self.limits = HIGH_RES if model.startswith(HIGH_RES_MODELS) else STANDARD
        self._client = anthropic.Anthropic(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.retries,
        )
        self._errors: tuple[type[Exception], ...] = (anthropic.AnthropicError,)
        self._messages: list[dict[str, Any]] = []
        self._others: list[dict[str, Any]] = []  # results owed to extra tool_use blocks
        self._display = (0, 0)

    def display_size(self, width: int, height: int) -> tuple[int, int]:
        return fit_within(width, height, **self.limits)

    def size_reason(self) -> str:
        return (
            f"Anthropic image limit ({self.limits['long_edge']} px long edge, "
            f"{self.limits['max_pixels'] / 1e6:.2f} MP)"
        )

    # ---- conversation ------------------------------------------------------------------
    def _image(self, request: ModelRequest, frame: Any) -> dict[str, Any]:
        self._display = (frame.input_w, frame.input_h)
        return _image_block(png_bytes(request.observation, frame))

    def _start(self, request: ModelRequest, frame: Any, note: str) -> None:
        text = request.task + (f"\n\n{note}" if note else "")
        content = [{"type": "text", "text": text}, self._image(request, frame)]
        self._messages = [{"role": "user", "content": content}]
        self._others = []

    def _answer(
        self, request: ModelRequest, frame: Any, last: HistoryItem, acknowledged: list[str]
    ) -> None:
        content: list[dict[str, Any]] = []
        if last.error:
            content.append({"type": "text", "text": f"Error: {last.error}"})
        content.append(self._image(request, frame))
        blocks = [_result(self._pending, content, bool(last.error)), *self._others]
        if request.feedback:
            blocks.append({"type": "text", "text": request.feedback})
        self._messages.append({"role": "user", "content": blocks})

    def _retry(self, request: ModelRequest, frame: Any, feedback: str) -> None:
        self._display = (frame.input_w, frame.input_h)
        error = [{"type": "text", "text": f"Not run: {feedback}"}]
        blocks = [_result(self._pending, error, True), *self._others]
        self._messages.append({"role": "user", "content": blocks})

    def _call(self) -> dict[str, Any]:
        _prune(self._messages, self.history_images + 1)
        tool: dict[str, Any] = {
            "type": self.tool_type,
            "name": "computer",
            "display_width_px": self._display[0],
            "display_height_px": self._display[1],
        }
        if self.zoom:
            tool["enable_zoom"] = True
        create: Any = self._client.beta.messages.create  # plain dicts on the wire
        try:
            resp = create(
                model=self.model_name,
                max_tokens=self.max_new_tokens,
                messages=self._messages,
                tools=[tool],
                betas=[self.beta],
            )
        except self._errors as err:
            raise self._fail(err) from err
        data: dict[str, Any] = resp.model_dump(mode="json", exclude_none=True)
        return data

    def _read(self, data: dict[str, Any], request: ModelRequest, frame: Any) -> Turn:
        content = [b for b in data.get("content") or [] if isinstance(b, dict)]
        self._messages.append({"role": "assistant", "content": content})
        thought = "\n".join(b["text"] for b in content if b.get("type") == "text").strip()
        uses = [b for b in content if b.get("type") == "tool_use"]
        if not uses:
            return Turn(finish_text(thought or None))
        first, rest = uses[0], uses[1:]
        self._others = [
            _result(u["id"], [{"type": "text", "text": "Not run: one action per turn."}], True)
            for u in rest
        ]
        inp = first.get("input") or {}
        kind: str
        out: Any
        if first.get("name") != "computer" or not isinstance(inp, dict):
            kind, out = "error", f"unknown tool {first.get('name')!r}: use the computer tool"
        else:
            kind, out = self._translate(inp, request, frame)
        if kind == "action":
            self._pending = first["id"]
            return Turn(reply_text(out, thought or None))
        blocks = out if kind == "internal" else [{"type": "text", "text": out}]
        answer = [_result(first["id"], blocks, kind == "error"), *self._others]
        self._messages.append({"role": "user", "content": answer})
        self._others = []
        return Turn(None)

    # ---- actions -----------------------------------------------------------------------
    def _translate(self, inp: dict[str, Any], request: ModelRequest, frame: Any) -> tuple[str, Any]:
        """("action", our action dict) | ("internal", result blocks) | ("error", text)."""
        a = inp.get("action")
        xy: Any = inp.get("coordinate")
        if a in CLICKS:
            if inp.get("text"):
                return "error", "clicks with held keys are not supported here"
            if not _pair(xy):
                return "error", f"{a} needs a coordinate [x, y]"
            return "action", {"type": CLICKS[a], "point": [xy[0], xy[1]]}
        if a == "left_click_drag":
            start: Any = inp.get("start_coordinate")
            if not (_pair(start) and _pair(xy)):
                return "error", "left_click_drag needs start_coordinate and coordinate"
            return "action", {"type": "drag", "start": [start[0], start[1]], "end": [xy[0], xy[1]]}
        if a == "type":
            return "action", {"type": "type", "text": str(inp.get("text", ""))}
        if a == "key":
            return "action", {"type": "key", "keys": str(inp.get("text", ""))}
        if a == "scroll":
            out: dict[str, Any] = {
                "type": "scroll",
                "direction": inp.get("scroll_direction"),
                "amount": max(1, min(100, int(inp.get("scroll_amount") or 3))),
            }
            if _pair(xy):
                out["point"] = [xy[0], xy[1]]
            return "action", out
        if a == "wait":
            return "action", {"type": "wait", "seconds": min(60.0, float(inp.get("duration", 1)))}
        if a == "screenshot":
            return "internal", [self._image(request, frame)]
        if a == "zoom" and self.zoom:
            return self._zoom(inp.get("region"), request, frame)
        if a == "cursor_position":
            p = request.observation.pointer
            if p is None:
                return "error", "the cursor position is not known here"
            x, y = screen_to_model(frame, p[0], p[1])
            return "internal", [{"type": "text", "text": f"X={round(x)},Y={round(y)}"}]
        return "error", f"action {a!r} is not supported here"

    def _zoom(self, region: Any, request: ModelRequest, frame: Any) -> tuple[str, Any]:
        """The region (display px) of the full-resolution screenshot: a Crop of it
        (agent/core/crops.py, the agent's one crop code: widened to whole px, clipped to the
        screen) read pixel for pixel, shrunk only past the image limit (:meth:`plan_frame`)."""
        if not (isinstance(region, list | tuple) and len(region) == 4):
            return "error", "zoom needs region [x0, y0, x1, y1]"
        obs = request.observation
        try:
            box = model_box_to_screen(frame, *(float(v) for v in region))
        except (TypeError, ValueError, CoordinateError) as err:
            return "error", f"bad zoom region: {err}"
        try:
            crop = region_crop(*obs.size, box)
        except CoordinateError:
            return "error", f"zoom region {list(region)} is empty or off the display"
        view = crop_observation(obs, crop)
        return "internal", [_image_block(png_bytes(view, self.plan_frame(view, view.frame())))]


def _pair(v: Any) -> bool:
    return isinstance(v, list | tuple) and len(v) == 2


def _result(tool_use_id: Any, content: list[dict[str, Any]], error: bool) -> dict[str, Any]:
    out = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if error:
        out["is_error"] = True
    return out


def _image_block(png: bytes) -> dict[str, Any]:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": b64(png)},
    }


def _prune(messages: list[dict[str, Any]], keep: int) -> None:
    """Replace all but the last ``keep`` images of the conversation with a short note."""
    seen = 0
    note = {"type": "text", "text": REMOVED}
    for m in reversed(messages):
        content = m.get("content")
        if not isinstance(content, list):
            continue
        for j in range(len(content) - 1, -1, -1):
            block = content[j]
            inner = block.get("content")
            if block.get("type") == "tool_result" and isinstance(inner, list):
                for i in range(len(inner) - 1, -1, -1):
                    if inner[i].get("type") == "image":
                        seen += 1
                        if seen > keep:
                            inner[i] = dict(note)
            elif block.get("type") == "image":
                seen += 1
                if seen > keep:
                    content[j] = dict(note)


load_anthropic_model = loader(AnthropicModel)
