"""``gemini:MODEL``: Gemini's computer use through the official ``google-genai`` SDK.

Wire format (docs: ai.google.dev, "Computer Use"): ``generate_content`` with a
``computer_use`` tool (environment ``ENVIRONMENT_BROWSER``). The model answers with function
calls — ``click_at``, ``hover_at``, ``type_text_at``, ``key_combination``,
``scroll_document``, ``scroll_at``, ``drag_and_drop``, ``navigate``, ``go_back``, ``search``,
``wait_5_seconds``, ``open_web_browser`` — whose x, y lie on a 0–999 grid over the image
(pixel = x / 1000 × width: our ``norm1000`` convention). Each call gets a
``function_response`` holding the page URL and the new screenshot.

Safety: a call whose ``safety_decision`` says ``require_confirmation`` becomes a
:class:`~agent.core.model.SafetyCheck` on the reply; the executor asks a person through our
gate, and only when approved does the function response carry
``safety_acknowledgement: "true"``. A declined call is never acknowledged: the conversation
starts again with a note saying the user declined.

Scaling: Gemini's coordinates are normalised, so the image size only costs tokens; the docs
recommend a 1440×900 screen, so the screenshot is sent fitted into 1440×900
(:data:`LIMITS`) and the Frame records that size (``resized_to``, ``norm1000``).
"""

from __future__ import annotations

from typing import Any

from agent.core.coords import fit_within
from agent.core.model import HistoryItem, ModelRequest, SafetyCheck
from model.backends.hosted.common import (
    HostedModel,
    Turn,
    finish_text,
    loader,
    png_bytes,
    recap,
    reply_text,
    sdk,
)

LIMITS = {"long_edge": 1440, "short_edge": 900}
POINTS = {"click_at": "click", "hover_at": "hover"}


class GeminiModel(HostedModel):
    """Gemini with the computer-use tool (see the module doc)."""

    prefix = "gemini"
    vendor = "Gemini"
    env_vars = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    convention = "norm1000"

    def __init__(self, model: str, **kw: Any) -> None:
        super().__init__(model, **kw)
        genai = sdk("google.genai", self.prefix)
        errors, types = genai.errors, genai.types
        self.types = types
        options = types.HttpOptions(
            base_url=self.base_url,
            timeout=int(self.timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=self.retries + 1),
        )
        self._client = genai.Client(api_key=self.api_key, http_options=options)
        self._errors: tuple[type[Exception], ...] = (errors.APIError, OSError)
        self._contents: list[Any] = []
        self._calls: list[Any] = []  # the function calls of the last model turn
        self._last: Any = None

    def display_size(self, width: int, height: int) -> tuple[int, int]:
        return fit_within(width, height, **LIMITS)

    def size_reason(self) -> str:
        return "Gemini's recommended 1440x900 screen"

    # ---- conversation ------------------------------------------------------------------
    def _response(self, call: Any, request: ModelRequest, frame: Any, extra: dict[str, Any]) -> Any:
        t = self.types
        blob = t.FunctionResponseBlob(
            mime_type="image/png", data=png_bytes(request.observation, frame)
        )
        return t.Part(
            function_response=t.FunctionResponse(
                id=call.id,
                name=call.name,
                response={"url": request.observation.url or "", **extra},
                parts=[t.FunctionResponsePart(inline_data=blob)],
            )
        )

    def _reply(self, request: ModelRequest, frame: Any, first: dict[str, Any]) -> None:
        """The user turn answering every call of the last model turn."""
        parts = [self._response(self._calls[0], request, frame, first)]
        skipped = {"error": "not run: one action per turn"}
        parts += [self._response(c, request, frame, skipped) for c in self._calls[1:]]
        if request.feedback and "error" not in first:
            parts.append(self.types.Part(text=request.feedback))
        self._contents.append(self.types.Content(role="user", parts=parts))

    def _start(self, request: ModelRequest, frame: Any, note: str) -> None:
        t = self.types
        text = request.task + (f"\n\n{note}" if note else "")
        image = t.Part.from_bytes(data=png_bytes(request.observation, frame), mime_type="image/png")
        self._contents = [t.Content(role="user", parts=[t.Part(text=text), image])]
        self._calls = []

    def _answer(
        self, request: ModelRequest, frame: Any, last: HistoryItem, acknowledged: list[str]
    ) -> None:
        extra: dict[str, Any] = {}
        if last.error:
            extra["error"] = last.error
        if acknowledged:  # a person approved the call's require_confirmation
            extra["safety_acknowledgement"] = "true"
        self._reply(request, frame, extra)

    def _retry(self, request: ModelRequest, frame: Any, feedback: str) -> None:
        if self._checks:  # never put to a person: not acknowledged, start again
            self._start(request, frame, recap(request.history, f"Not run: {feedback}"))
            return
        self._reply(request, frame, {"error": f"not run: {feedback}"})

    def _call(self) -> dict[str, Any]:
        t = self.types
        config = t.GenerateContentConfig(
            tools=[
                t.Tool(computer_use=t.ComputerUse(environment=t.Environment.ENVIRONMENT_BROWSER))
            ],
            max_output_tokens=self.max_new_tokens,
        )
        try:
            resp = self._client.models.generate_content(
                model=self.model_name, contents=self._contents, config=config
            )
        except self._errors as err:
            raise self._fail(err) from err
        self._last = resp
        data: dict[str, Any] = resp.model_dump(mode="json", exclude_none=True)
        return data

    def _usage(self, data: dict[str, Any]) -> dict[str, int]:
        u = data.get("usage_metadata") or {}
        keys = {"prompt_token_count": "input_tokens", "candidates_token_count": "output_tokens"}
        keys["total_token_count"] = "total_tokens"
        return {v: int(u[k]) for k, v in keys.items() if isinstance(u.get(k), int)}

    def _read(self, data: dict[str, Any], request: ModelRequest, frame: Any) -> Turn:
        candidates = self._last.candidates or []
        content = candidates[0].content if candidates else None
        if content is None:
            return Turn(finish_text(None))
        self._contents.append(content)
        parts = content.parts or []
        thought = "\n".join(p.text for p in parts if p.text).strip() or None
        self._calls = [p.function_call for p in parts if p.function_call is not None]
        if not self._calls:
            return Turn(finish_text(thought))
        first = self._calls[0]
        args = dict(first.args or {})
        decision = args.pop("safety_decision", None)
        checks: list[SafetyCheck] = []
        if isinstance(decision, dict) and decision.get("decision") == "require_confirmation":
            cid = first.id or f"{first.name}:{len(request.history)}"
            checks = [SafetyCheck(cid, "require_confirmation", decision.get("explanation"))]
        kind, out = _translate(first.name or "", args)
        self._pending = first
        if kind != "action" and checks:  # nothing to run, but the check needs a person
            kind, out = "action", {"type": "wait", "seconds": 0}
        if kind == "action":
            return Turn(reply_text(out, thought), checks)
        self._reply(request, frame, {"error": out} if kind == "error" else {})
        return Turn(None)


def _translate(name: str, a: dict[str, Any]) -> tuple[str, Any]:
    """("action", our action dict) | ("internal", None) | ("error", text)."""
    if name in POINTS:
        return "action", {"type": POINTS[name], "point": [a.get("x"), a.get("y")]}
    if name == "type_text_at":
        return "action", {
            "type": "type",
            "text": str(a.get("text", "")),
            "point": [a.get("x"), a.get("y")],
            "enter": bool(a.get("press_enter", False)),
            "clear": bool(a.get("clear_before_typing", True)),
        }
    if name == "key_combination":
        return "action", {"type": "key", "keys": str(a.get("keys", ""))}
    if name == "scroll_document":
        return "action", {"type": "scroll", "direction": a.get("direction"), "amount": 5}
    if name == "scroll_at":
        amount = max(1, min(100, round(float(a.get("magnitude", 800)) / 100)))
        point = [a.get("x"), a.get("y")]
        return "action", {
            "type": "scroll",
            "direction": a.get("direction"),
            "amount": amount,
            "point": point,
        }
    if name == "drag_and_drop":
        start, end = [a.get("x"), a.get("y")], [a.get("destination_x"), a.get("destination_y")]
        return "action", {"type": "drag", "start": start, "end": end}
    if name == "navigate":
        return "action", {"type": "navigate", "url": str(a.get("url", ""))}
    if name == "search":
        return "action", {"type": "navigate", "url": "https://www.google.com/"}
    if name == "go_back":
        return "action", {"type": "back"}
    if name == "wait_5_seconds":
        return "action", {"type": "wait", "seconds": 5.0}
    if name == "open_web_browser":
        return "internal", None
    return "error", f"function {name!r} is not supported here"


load_gemini_model = loader(GeminiModel)
