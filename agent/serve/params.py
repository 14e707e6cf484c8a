"""Which request parameters ``agent serve`` honours, and the 400 for every other one.

No parameter is silently ignored. A request may carry:

* what the server does: ``model``, ``messages``, ``max_tokens`` / ``max_completion_tokens``,
  ``stop``, ``include_stop_str_in_output``, ``stream`` and ``stream_options.include_usage``
  (server-sent events), ``n`` = 1, and the pixel settings ``min_pixels`` / ``max_pixels``
  (top level or in ``mm_processor_kwargs``);
* what greedy decoding honours by its nature: ``temperature`` 0 (greedy *is* temperature 0),
  ``seed`` (greedy is deterministic), ``top_p`` / ``top_k`` / ``min_p`` (truncation never
  removes the most likely token), ``skip_special_tokens`` false (the server keeps them), and
  ``user`` (an identifier the API defines as informational);
* any other known OpenAI or vLLM parameter only at the value that asks for nothing
  (``logprobs`` false, ``frequency_penalty`` 0, ``tools`` [] ...).

Everything else — ``tools``, ``tool_choice``, ``response_format``, ``logprobs``,
``top_logprobs``, sampling with ``temperature`` > 0, penalties, vLLM's
``structured_outputs`` and any unknown parameter — is a 400 in OpenAI's error shape
(``error.param`` names the parameter, ``error.code`` says why) with the fix in the message.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from agent.serve.images import BadRequest

GREEDY = "this server decodes greedily (one answer, the most likely tokens)"

# parameters that are honoured at any valid value (the model below checks the types)
HONOURED = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "include_stop_str_in_output",
        "stream",
        "stream_options",
        "n",
        "min_pixels",
        "max_pixels",
        "mm_processor_kwargs",
        "temperature",
        "seed",
        "top_p",
        "top_k",
        "min_p",
        "skip_special_tokens",
        "user",
    }
)

# known parameters this server cannot honour: (the values that ask for nothing, the fix)
UNSUPPORTED: dict[str, tuple[tuple[Any, ...], str]] = {
    "tools": ((None, []), "this server has no tool calling; the agent's prompt carries its tools"),
    "tool_choice": ((None, "none"), "this server has no tool calling; remove tool_choice"),
    "parallel_tool_calls": ((None,), "this server has no tool calling; remove it"),
    "functions": ((None, []), "this server has no function calling; remove functions"),
    "function_call": ((None, "none"), "this server has no function calling; remove it"),
    "response_format": (
        (None, {"type": "text"}),
        "this server cannot constrain the output; remove response_format (or serve the model "
        "with vLLM, whose structured outputs do)",
    ),
    "structured_outputs": (
        (None,),
        "this server cannot constrain the output; serve the model with vLLM and its xgrammar "
        "backend, or set constrained = false",
    ),
    "logprobs": ((None, False), "this server returns no log-probabilities; remove logprobs"),
    "top_logprobs": ((None, 0), "this server returns no log-probabilities; remove it"),
    "logit_bias": ((None, {}), f"{GREEDY} without biases; remove logit_bias"),
    "frequency_penalty": ((None, 0), f"{GREEDY} without penalties; remove it or send 0"),
    "presence_penalty": ((None, 0), f"{GREEDY} without penalties; remove it or send 0"),
    "repetition_penalty": ((None, 1), f"{GREEDY} without penalties; remove it or send 1"),
    "best_of": ((None, 1), f"{GREEDY}; remove best_of or send 1"),
    "echo": ((None, False), "this server does not echo the prompt; remove echo"),
    "store": ((None, False), "this server stores nothing; remove store"),
    "audio": ((None,), "this server answers text only; remove audio"),
    "modalities": ((None, ["text"]), "this server answers text only; remove modalities"),
    "prediction": ((None,), "this server has no predicted outputs; remove prediction"),
    "reasoning_effort": ((None,), "this server has no reasoning setting; remove it"),
    "web_search_options": ((None,), "this server has no web search; remove it"),
}

STREAM_OPTIONS = frozenset({"include_usage"})
MM_KWARGS = frozenset({"min_pixels", "max_pixels"})


class ParamError(BadRequest):
    """A 400 naming the parameter (``error.param``) and why (``error.code``)."""

    def __init__(self, param: str, code: str, message: str) -> None:
        super().__init__(message, 400)
        self.param, self.code = param, code


class ChatRequest(BaseModel):
    """The parameters the server honours, typed (the others are refused by
    :func:`check_params` before this model is built)."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    stop: str | list[str] | None = None
    include_stop_str_in_output: bool = False
    skip_special_tokens: bool | None = None
    stream: bool | None = False
    stream_options: dict[str, bool | None] | None = None
    n: int | None = 1
    user: str | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    mm_processor_kwargs: dict[str, Any] | None = None

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


def check_params(body: dict[str, Any]) -> None:
    """Refuse any parameter the server would not honour (a :class:`ParamError`)."""
    for name, value in body.items():
        if name in HONOURED:
            continue
        if name in UNSUPPORTED:
            neutral, fix = UNSUPPORTED[name]
            if any(value == v and isinstance(value, bool) == isinstance(v, bool) for v in neutral):
                continue
            raise ParamError(name, "unsupported_parameter", f"`{name}` is not supported: {fix}")
        raise ParamError(
            name,
            "unknown_parameter",
            f"unknown parameter `{name}`: agent serve would not honour it; remove it "
            "(docs/guides/serving.md lists the parameters it takes)",
        )


def check_values(req: ChatRequest) -> None:
    """Refuse honoured parameters at values the server cannot honour."""
    if req.temperature not in (None, 0):
        raise ParamError(
            "temperature",
            "unsupported_value",
            f"temperature {req.temperature:g} asks for sampling, but {GREEDY}: "
            "send temperature 0 or leave it out",
        )
    if req.n not in (None, 1):
        raise ParamError("n", "unsupported_value", f"n must be 1: {GREEDY}")
    if req.skip_special_tokens:
        raise ParamError(
            "skip_special_tokens",
            "unsupported_value",
            "this server keeps special tokens in the text (the action formats need them); "
            "send skip_special_tokens false or leave it out",
        )
    for key in sorted(set(req.stream_options or {}) - STREAM_OPTIONS):
        raise ParamError(
            f"stream_options.{key}",
            "unknown_parameter",
            f"unknown stream option `{key}`: only include_usage is supported; remove it",
        )
    if req.stream_options is not None and not req.stream:
        raise ParamError(
            "stream_options",
            "unsupported_value",
            "stream_options needs stream true; remove it or stream",
        )
    for key in sorted(set(req.mm_processor_kwargs or {}) - MM_KWARGS):
        raise ParamError(
            f"mm_processor_kwargs.{key}",
            "unknown_parameter",
            f"unknown mm_processor_kwargs key `{key}`: only min_pixels and max_pixels are "
            "supported; remove it",
        )
