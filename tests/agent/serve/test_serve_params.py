"""No request parameter silently ignored (issue 22), with the official ``openai`` client over
real HTTP on 127.0.0.1 against the real tiny Qwen2-VL: ``stream=true`` answers server-sent
events the client's iterator reads; every parameter the server cannot honour is a 400
naming it (``error.param``) and why (``error.code``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from test_serve_hardening import KEY, QWEN2, png, url

from agent.serve import BackgroundServer, create_app
from agent.serve.params import HONOURED, UNSUPPORTED, ChatRequest, check_params
from model.backends.hf import load_hf_model


@pytest.fixture(scope="module")
def server(tiny_qwen: dict[str, Path]) -> Iterator[BackgroundServer]:
    model = load_hf_model(str(tiny_qwen["qwen2-vl"]), device="cpu", force_text=QWEN2)
    with BackgroundServer(create_app(model, served_name="tiny", api_key=KEY)) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: BackgroundServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0) as c:
        yield c


MESSAGES: list[Any] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Click OK"},
            {"type": "image_url", "image_url": {"url": url(png())}},
        ],
    }
]


def test_stream_true_is_read_by_the_official_iterator(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="tiny", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == QWEN2
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason is not None
    assert all(c.usage is None for c in chunks)
    plain = client.chat.completions.create(model="tiny", messages=MESSAGES)
    assert plain.choices[0].message.content == text  # the same answer, streamed or not
    assert plain.choices[0].finish_reason == chunks[-1].choices[0].finish_reason


def test_stream_options_include_usage_adds_a_last_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="tiny",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_greedy_settings_are_honoured(client: openai.OpenAI) -> None:
    """temperature 0, a seed, top_p, logprobs false and a user id ask nothing greedy
    decoding does not already do."""
    r = client.chat.completions.create(
        model="tiny",
        messages=MESSAGES,
        temperature=0,
        seed=7,
        top_p=0.5,
        logprobs=False,
        frequency_penalty=0.0,
        user="someone",
    )
    assert r.choices[0].message.content == QWEN2


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
        "tools",
        "unsupported_parameter",
    ),
    ({"tool_choice": "auto"}, "tool_choice", "unsupported_parameter"),
    ({"response_format": {"type": "json_object"}}, "response_format", "unsupported_parameter"),
    ({"logprobs": True}, "logprobs", "unsupported_parameter"),
    ({"top_logprobs": 2}, "top_logprobs", "unsupported_parameter"),
    ({"presence_penalty": 0.5}, "presence_penalty", "unsupported_parameter"),
    ({"temperature": 0.7}, "temperature", "unsupported_value"),
    ({"n": 2}, "n", "unsupported_value"),
    ({"extra_body": {"guided_json": {}}}, "guided_json", "unknown_parameter"),
    (
        {"extra_body": {"structured_outputs": {"json": {}}}},
        "structured_outputs",
        "unsupported_parameter",
    ),
    ({"extra_body": {"skip_special_tokens": True}}, "skip_special_tokens", "unsupported_value"),
    (
        {"extra_body": {"mm_processor_kwargs": {"fps": 2}}},
        "mm_processor_kwargs.fps",
        "unknown_parameter",
    ),
    (
        {"stream": True, "stream_options": {"include_obfuscation": True}},
        "stream_options.include_obfuscation",
        "unknown_parameter",
    ),
]


@pytest.mark.parametrize(("extra", "param", "code"), REFUSED, ids=[r[1] for r in REFUSED])
def test_what_cannot_be_honoured_is_a_400_naming_the_parameter(
    client: openai.OpenAI, extra: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="tiny", messages=MESSAGES, **extra)
    err = info.value
    assert err.status_code == 400
    assert (err.param, err.code, err.type) == (param, code, "invalid_request_error")


def test_every_honoured_parameter_is_typed_and_every_refusal_has_a_fix() -> None:
    """The lists agree with the request model: nothing accepted goes unread."""
    assert set(ChatRequest.model_fields) == set(HONOURED)
    assert not set(UNSUPPORTED) & HONOURED
    for name, (neutral, fix) in UNSUPPORTED.items():
        assert None in neutral and fix, name
        check_params({name: neutral[-1]})  # the value that asks for nothing passes
