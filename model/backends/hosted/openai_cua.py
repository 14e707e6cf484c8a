"""``openai-cua:MODEL``: OpenAI's computer-using agent through the official ``openai`` SDK.

Wire format (docs: platform.openai.com, "Computer use"): the Responses API with the
``computer_use_preview`` tool declaring ``display_width`` / ``display_height`` and an
``environment`` (``browser`` when the screen has a URL, else ``linux``), ``truncation:
"auto"``, and each turn chained by ``previous_response_id``. The model answers with
``computer_call`` items (``click``, ``double_click``, ``drag``, ``keypress``, ``move``,
``scroll``, ``type``, ``wait``, ``screenshot``) in pixels of the declared display; each call
gets a ``computer_call_output`` with the new screenshot.

Safety: a call's ``pending_safety_checks`` become :class:`~agent.core.model.SafetyCheck` s on
the reply; the executor asks a person through our gate, and only the checks approved there
are sent back as ``acknowledged_safety_checks`` on the call's output. A declined check is
never acknowledged: the conversation starts again with a note saying the user declined.

Scaling (docs: "Images and vision", ``detail: high``): an image is fitted into 2048×2048 and
then its short side brought to 768 px before the model sees it. This backend sends the
screenshot at that size (:data:`LIMITS`) and declares it as the display, so the model's
points are pixels of the image it saw; the factor is in the step's Frame (``resized_to``).
"""

from __future__ import annotations

from typing import Any

from agent.core.coords import fit_within
from agent.core.model import HistoryItem, ModelRequest, SafetyCheck
from model.backends.hosted.common import (
    HostedModel,
    Turn,
    b64,
    finish_text,
    loader,
    png_bytes,
    recap,
    reply_text,
    sdk,
)

LIMITS = {"long_edge": 2048, "short_edge": 768}
BUTTONS = {"left": "click", "right": "right_click", "wheel": "middle_click"}
NOTCH_PX = 100  # scroll px per wheel notch of our scroll action


class OpenAICUAModel(HostedModel):
    """OpenAI's computer-use model (see the module doc)."""

    prefix = "openai-cua"
    vendor = "OpenAI"
    env_vars = ("OPENAI_API_KEY",)
    convention = "abs"

    def __init__(self, model: str, **kw: Any) -> None:
        super().__init__(model, **kw)
        openai = sdk("openai", self.prefix)
        self._client = openai.OpenAI(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.retries,
        )
        self._errors: tuple[type[Exception], ...] = (openai.OpenAIError,)
        self._input: list[dict[str, Any]] = []
        self._prev: str | None = None
        self._others: list[str] = []  # call ids of extra computer calls (answered, not run)
        self._display = (0, 0)
        self._environment = "browser"

    def display_size(self, width: int, height: int) -> tuple[int, int]:
        return fit_within(width, height, **LIMITS)

    def size_reason(self) -> str:
        return "OpenAI image limit (2048 px box, 768 px short side)"

    # ---- conversation ------------------------------------------------------------------
    def _url(self, request: ModelRequest, frame: Any) -> str:
        self._display = (frame.input_w, frame.input_h)
        self._environment = "browser" if request.observation.url else "linux"
        return "data:image/png;base64," + b64(png_bytes(request.observation, frame))

    def _output(self, call_id: str, url: str, acked: list[SafetyCheck]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "computer_call_output",
            "call_id": call_id,
            "output": {"type": "computer_screenshot", "image_url": url},
        }
        if acked:
            out["acknowledged_safety_checks"] = [
                {k: v for k, v in vars(c).items() if v is not None} for c in acked
            ]
        return out

    def _start(self, request: ModelRequest, frame: Any, note: str) -> None:
        text = request.task + (f"\n\n{note}" if note else "")
        image = {"type": "input_image", "image_url": self._url(request, frame)}
        self._input = [{"role": "user", "content": [{"type": "input_text", "text": text}, image]}]
        self._prev, self._others = None, []

    def _answer(
        self, request: ModelRequest, frame: Any, last: HistoryItem, acknowledged: list[str]
    ) -> None:
        url = self._url(request, frame)
        acked = [c for c in self._checks if c.id in acknowledged]
        self._input = [self._output(self._pending, url, acked)]
        self._input += [self._output(c, url, []) for c in self._others]
        notes = [f"Error: {last.error}" if last.error else "", request.feedback or ""]
        if any(notes):
            text = "\n".join(n for n in notes if n)
            self._input.append({"role": "user", "content": [{"type": "input_text", "text": text}]})

    def _retry(self, request: ModelRequest, frame: Any, feedback: str) -> None:
        if self._checks:  # its checks were never put to a person: they stay unacknowledged
            self._start(request, frame, recap(request.history, f"Not run: {feedback}"))
            return
        url = self._url(request, frame)
        self._input = [self._output(self._pending, url, [])]
        self._input += [self._output(c, url, []) for c in self._others]
        text = f"Your last action was not run: {feedback}"
        self._input.append({"role": "user", "content": [{"type": "input_text", "text": text}]})

    def _call(self) -> dict[str, Any]:
        tool = {
            "type": "computer_use_preview",
            "display_width": self._display[0],
            "display_height": self._display[1],
            "environment": self._environment,
        }
        kw: dict[str, Any] = {}
        if self._prev is not None:
            kw["previous_response_id"] = self._prev
        create: Any = self._client.responses.create  # plain dicts on the wire
        try:
            resp = create(
                model=self.model_name,
                input=self._input,
                tools=[tool],
                truncation="auto",
                max_output_tokens=self.max_new_tokens,
                **kw,
            )
        except self._errors as err:
            raise self._fail(err) from err
        data: dict[str, Any] = resp.model_dump(mode="json", exclude_none=True)
        return data

    def _read(self, data: dict[str, Any], request: ModelRequest, frame: Any) -> Turn:
        self._prev = data.get("id")
        items = [i for i in data.get("output") or [] if isinstance(i, dict)]
        texts: list[str] = []
        for i in items:
            if i.get("type") == "message":
                texts += [c.get("text", "") for c in i.get("content") or [] if "text" in c]
            elif i.get("type") == "reasoning":
                texts += [s.get("text", "") for s in i.get("summary") or [] if "text" in s]
        thought = "\n".join(t for t in texts if t).strip() or None
        calls = [i for i in items if i.get("type") == "computer_call"]
        if not calls:
            return Turn(finish_text(thought))
        first = calls[0]
        self._others = [c["call_id"] for c in calls[1:]]
        checks = [
            SafetyCheck(str(c.get("id")), c.get("code"), c.get("message"))
            for c in first.get("pending_safety_checks") or []
        ]
        kind, out = _translate(first.get("action") or {})
        self._pending = first["call_id"]
        if kind != "action" and checks:  # nothing to run, but the checks need a person
            kind, out = "action", {"type": "wait", "seconds": 0}
        if kind == "action":
            return Turn(reply_text(out, thought), checks)
        url = self._url(request, frame)
        self._input = [self._output(self._pending, url, [])]
        self._input += [self._output(c, url, []) for c in self._others]
        if kind == "error":
            note = [{"type": "input_text", "text": f"Not run: {out}"}]
            self._input.append({"role": "user", "content": note})
        self._others = []
        return Turn(None)


def _translate(a: dict[str, Any]) -> tuple[str, Any]:
    """("action", our action dict) | ("internal", None) | ("error", text)."""
    t = a.get("type")
    if a.get("keys") and t != "keypress":
        return "error", "actions with held keys are not supported here"
    if t == "click":
        button = a.get("button", "left")
        if button == "back":
            return "action", {"type": "back"}
        if button not in BUTTONS:
            return "error", f"the {button} button is not supported here"
        return "action", {"type": BUTTONS[button], "point": [a.get("x"), a.get("y")]}
    if t in ("double_click", "move"):
        kind = "double_click" if t == "double_click" else "hover"
        return "action", {"type": kind, "point": [a.get("x"), a.get("y")]}
    if t == "drag":
        path = a.get("path") or []
        if len(path) < 2:
            return "error", "drag needs a path of at least two points"
        p0, p1 = path[0], path[-1]
        return "action", {"type": "drag", "start": [p0["x"], p0["y"]], "end": [p1["x"], p1["y"]]}
    if t == "keypress":
        return "action", {"type": "key", "keys": "+".join(str(k) for k in a.get("keys") or [])}
    if t == "type":
        return "action", {"type": "type", "text": str(a.get("text", ""))}
    if t == "scroll":
        sx, sy = int(a.get("scroll_x") or 0), int(a.get("scroll_y") or 0)
        if not (sx or sy):
            return "error", "scroll by 0 px"
        if abs(sy) >= abs(sx):
            direction, px = ("down" if sy > 0 else "up"), abs(sy)
        else:
            direction, px = ("right" if sx > 0 else "left"), abs(sx)
        amount = max(1, min(100, round(px / NOTCH_PX)))
        point = [a.get("x"), a.get("y")]
        return "action", {
            "type": "scroll",
            "direction": direction,
            "amount": amount,
            "point": point,
        }
    if t == "wait":
        return "action", {"type": "wait", "seconds": 1.0}
    if t == "screenshot":
        return "internal", None
    return "error", f"action {t!r} is not supported here"


load_openai_cua_model = loader(OpenAICUAModel)
