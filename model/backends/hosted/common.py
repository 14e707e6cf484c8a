"""What the three hosted computer-use backends share: the turn bookkeeping, image encoding,
the reply text, API keys and errors.

A hosted backend keeps the vendor's conversation for one episode and maps it onto our loop:

* each :meth:`HostedModel.act` answers the vendor's pending call (the new screenshot, the
  error the step reported, the safety checks a person approved), asks the vendor again, and
  turns the first computer action it chooses into our ``json`` reply text — a
  ``{"thought": …, "action": {…}}`` object whose points are in the vendor's advertised space
  (``abs``: the declared display; ``norm1000``: Gemini's 0–999 grid). The loop parses it with
  the normal parser against the Frame from :meth:`HostedModel.plan_frame`
  (:meth:`~agent.core.coords.Frame.resized_to`, tolerance :data:`EDGE`), so a point outside
  the declared display is a ParseError fed back to the vendor, never clamped;
* what needs no env action (a screenshot, Anthropic's ``zoom``, an action we do not offer)
  is answered inside the same ``act`` call, at most :data:`MAX_ROUNDS` times;
* a reply that ends without a computer call is ``finish`` with the vendor's text as answer;
* the vendor's safety checks go out as :class:`~agent.core.model.SafetyCheck` on the reply;
  the executor puts them to a person through the gate, and only the approved ids (in
  :attr:`~agent.core.model.HistoryItem.acknowledged`) are acknowledged on the next request;
* when the conversation and the loop's history do not line up (a resumed episode, a
  declined vendor check), the conversation starts again from a text recap of the steps.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PIL import Image

from agent.core.coords import Convention, Frame
from agent.core.errors import ConfigError, ModelError
from agent.core.model import HistoryItem, Model, ModelReply, ModelRequest, SafetyCheck
from agent.core.observation import Observation

M = TypeVar("M", bound="HostedModel")

MAX_ROUNDS = 8  # vendor turns one act() answers itself (screenshots, zooms, refusals)
# Screenshot px a parsed point may lie outside the screen: half a pixel, so the declared
# display's last pixel is in and one past it is out (every shrink factor ≥ 0.5).
EDGE = 0.5
SETTINGS = frozenset({"api_key", "base_url", "timeout", "retries", "max_new_tokens"})
SETTINGS |= {"history_images", "history_steps"}


@dataclass
class Turn:
    """What one vendor reply comes to: our reply text and the vendor's safety checks, or
    (``text`` None) something answered without the env, asking again."""

    text: str | None
    checks: list[SafetyCheck] = field(default_factory=list)


def reply_text(action: Mapping[str, Any], thought: str | None) -> str:
    """Our ``json`` format: ``{"thought": …, "action": {…}}``."""
    out: dict[str, Any] = {"action": dict(action)}
    if thought:
        out = {"thought": thought, **out}
    return json.dumps(out, ensure_ascii=False)


def finish_text(answer: str | None) -> str:
    """The vendor ended its turn without an action: the episode ends with its words."""
    return reply_text({"type": "finish", "status": "success", "answer": answer or None}, None)


def api_key(value: str | None, env_vars: tuple[str, ...], vendor: str) -> str:
    """The ``api_key`` setting, else the vendor's usual environment variable."""
    key = value or next((os.environ[v] for v in env_vars if os.environ.get(v)), None)
    if not key:
        raise ConfigError(
            f"the {vendor} backend needs an API key: set {' or '.join(env_vars)}, or the "
            f"api_key setting (NATIVE_AGENT_API_KEY, or api_key in the config file)"
        )
    return key


def split_spec(rest: str, base_url: str | None, prefix: str) -> tuple[str, str | None]:
    """``MODEL`` or ``MODEL@BASE_URL`` → (model, base URL or None: the vendor's own)."""
    model, sep, given = rest.partition("@")
    model = model.strip()
    url = given.strip() if sep else base_url
    if not model:
        raise ConfigError(f"{prefix} model spec needs a model name: --model {prefix}:MODEL")
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError(f"base URL must start with http:// or https://, got {url!r}")
    return model, url


def sdk(module: str, prefix: str) -> Any:
    """The vendor's SDK module, imported on first use; missing is a ConfigError naming the
    extra to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"the {prefix} backend needs the SDK: pip install 'native-agent[hosted]'"
        ) from err


def loader(cls: type[M]) -> Callable[..., M]:
    """The registry entry of a backend: ``PREFIX:MODEL`` (or ``MODEL@BASE_URL``) and the
    settings it takes (any other is a ConfigError)."""

    def load(rest: str, **settings: Any) -> M:
        check_settings(cls.prefix, settings)
        model, url = split_spec(rest, settings.pop("base_url", None), cls.prefix)
        return cls(model, base_url=url, **settings)

    load.__doc__ = f"Registry entry: ``{cls.prefix}:MODEL`` (or ``MODEL@BASE_URL``)."
    return load


def check_settings(vendor: str, settings: Mapping[str, Any]) -> None:
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        raise ConfigError(
            f"the {vendor} backend does not take {', '.join(unknown)}; its settings: "
            f"{', '.join(sorted(SETTINGS))}"
        )


def png_bytes(obs: Observation, frame: Frame) -> bytes:
    """PNG of the screenshot at the frame's input size (the screenshot's own PNG when that
    is the screenshot's size)."""
    if (frame.input_w, frame.input_h) == obs.size and obs.has_png:
        return obs.png
    from model.vision import to_model_image

    return encode_png(to_model_image(obs.array, frame))


def encode_png(array: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def recap(history: list[HistoryItem], note: str | None = None) -> str:
    """The earlier steps as text, for a conversation that starts again mid-episode."""
    lines = []
    for h in history:
        what = "no action" if h.action is None else str(h.action.get("type"))
        if h.action is not None:
            for k in ("text", "keys", "url", "direction"):
                if h.action.get(k) is not None:
                    what += f" {k}={h.action[k]!r}"[:120]
        lines.append(f"step {h.index}: {what}" + (f" — error: {h.error}" if h.error else ""))
    text = ("Steps so far:\n" + "\n".join(lines)) if lines else ""
    return (text + (f"\n{note}" if note else "")).strip()


class HostedModel(Model):
    """Base of the hosted backends: one vendor conversation per episode (see module doc).

    Subclasses say how big the declared display is (:meth:`display_size`) and speak the
    wire format: :meth:`_start`, :meth:`_answer`, :meth:`_retry`, :meth:`_call` and
    :meth:`_read`.
    """

    format = "json"
    input_mode = "resize"
    vendor = "hosted"
    env_vars: tuple[str, ...] = ()
    history_images = 3

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        retries: int = 2,
        max_new_tokens: int = 1024,
        history_images: int = 3,
        history_steps: int = 20,
    ) -> None:
        self.model_name = model
        self.name = f"{self.prefix}:{model}"
        self.base_url = base_url
        self.api_key = api_key_or(api_key, self)
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.max_new_tokens = int(max_new_tokens)
        self.history_images = history_images
        self.history_steps = history_steps
        self._answered: int | None = None  # len(history) when the pending call was made
        self._pending: Any = None  # the vendor call our last reply stands for
        self._checks: list[SafetyCheck] = []  # its safety checks

    prefix = "hosted"
    convention: Convention = "abs"

    # ---- the frame ---------------------------------------------------------------------
    @abstractmethod
    def display_size(self, width: int, height: int) -> tuple[int, int]:
        """The size a ``width`` × ``height`` screenshot is sent at (the declared display)."""

    def size_reason(self) -> str:
        return f"{self.vendor} image limit"

    def plan_frame(self, observation: Observation, frame: Frame) -> Frame:
        w, h = self.display_size(frame.screen_w, frame.screen_h)
        return frame.resized_to(
            w, h, convention=self.convention, reason=self.size_reason(), tolerance=EDGE
        )

    def _frame(self, request: ModelRequest) -> Frame:
        f = request.frame
        want = self.display_size(f.screen_w, f.screen_h)
        if (f.input_w, f.input_h) != want or f.convention != self.convention:
            raise ModelError(
                f"{self.name} got a frame it did not plan ({f.input_w}x{f.input_h}, "
                f"{f.convention}; it declares {want[0]}x{want[1]}, {self.convention}): build "
                f"the request's frame with model.plan_frame(observation, frame)"
            )
        return f

    # ---- the turn ----------------------------------------------------------------------
    def act(self, request: ModelRequest) -> ModelReply:
        frame = self._frame(request)
        t0 = time.perf_counter()
        n = len(request.history)
        last = request.history[-1] if request.history else None
        kind = "start"
        if self._pending is not None and self._answered == n and request.feedback:
            kind = "retry"  # our last reply did not parse: the call never ran
        elif self._pending is not None and self._answered == n - 1 and last is not None:
            kind = "answer"
        if kind == "retry":
            self._retry(request, frame, request.feedback or "")
        elif kind == "answer" and last is not None:
            approved = set(last.acknowledged)
            declined = [c for c in self._checks if c.id not in approved]
            if declined:  # a person said no: never acknowledged; the conversation restarts
                why = "; ".join(c.message or c.code or c.id for c in declined)[:300]
                note = f"The user declined the last action ({why}); do not repeat it."
                self._start(request, frame, recap(request.history, note))
            else:
                self._answer(request, frame, last, [c.id for c in self._checks])
        else:
            self._start(request, frame, recap(request.history, request.feedback))
        self._pending, self._checks = None, []
        usage: dict[str, int] = {}
        request_s, rounds = 0.0, 0
        turn: Turn | None = None
        while turn is None or turn.text is None:
            if rounds == MAX_ROUNDS:
                raise ModelError(
                    f"{self.name} answered {MAX_ROUNDS} turns without an action we can run"
                )
            t1 = time.perf_counter()
            data = self._call()
            request_s += time.perf_counter() - t1
            rounds += 1
            for k, v in self._usage(data).items():
                usage[k] = usage.get(k, 0) + v
            turn = self._read(data, request, frame)
        self._answered = n
        self._checks = turn.checks
        timings = {
            "request_s": request_s,
            "other_s": time.perf_counter() - t0 - request_s,
            "rounds": float(rounds),
        }
        return ModelReply(turn.text, timings, usage, list(turn.checks))

    # ---- the wire format (per vendor) --------------------------------------------------
    @abstractmethod
    def _start(self, request: ModelRequest, frame: Frame, note: str) -> None:
        """A new conversation: the task, ``note`` (a recap) and the screenshot."""

    @abstractmethod
    def _answer(
        self, request: ModelRequest, frame: Frame, last: HistoryItem, acknowledged: list[str]
    ) -> None:
        """The pending call's result: the new screenshot, ``last.error``, the approved
        safety checks (``acknowledged``, every check of the call)."""

    @abstractmethod
    def _retry(self, request: ModelRequest, frame: Frame, feedback: str) -> None:
        """The pending call was not run: our parser refused it (``feedback``)."""

    @abstractmethod
    def _call(self) -> dict[str, Any]:
        """One API request with the conversation; the response as a dict."""

    @abstractmethod
    def _read(self, data: dict[str, Any], request: ModelRequest, frame: Frame) -> Turn:
        """The response → a Turn; sets ``_pending``; answers internal calls itself."""

    def _usage(self, data: dict[str, Any]) -> dict[str, int]:
        u = data.get("usage") or {}
        return {k: int(v) for k, v in u.items() if isinstance(v, int) and not isinstance(v, bool)}

    def _fail(self, err: Exception) -> ModelError:
        """An SDK error as a ModelError that says what to do."""
        status = getattr(err, "status_code", None) or getattr(err, "code", None)
        hint = ""
        if status in (401, 403):
            hint = f" (check the API key: {' or '.join(self.env_vars)} or api_key)"
        elif status == 404:
            hint = f" (is {self.model_name!r} a {self.vendor} model with computer use?)"
        elif "connect" in type(err).__name__.lower():
            where = self.base_url or f"the {self.vendor} API"
            hint = f" (cannot reach {where}: check the network or base_url)"
        return ModelError(f"{self.name}: {type(err).__name__}: {str(err)[:300]}{hint}")

    def reset(self) -> None:
        """Forget the conversation (the next act starts a new one)."""
        self._answered, self._pending, self._checks = None, None, []

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "backend": self.prefix,
            "model": self.model_name,
            "base_url": self.base_url,
            "convention": self.convention,
        }


def api_key_or(value: str | None, model: HostedModel) -> str:
    return api_key(value, model.env_vars, model.vendor)
