"""``stream=true``: the completion as server-sent events, the way OpenAI streams it.

The events are ``chat.completion.chunk`` objects: the assistant role, the text, then the
finish reason (and, with ``stream_options.include_usage``, a last chunk with no choices and
the usage), then ``data: [DONE]``. The generation runs before the first event is sent, so
every refusal is still an ordinary JSON 4xx, and the text comes as one chunk when it is
complete (the transformers backend has no token-by-token hook): a streaming client reads
the same text a plain request returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def chunks(completion: dict[str, Any], *, include_usage: bool = False) -> Iterator[dict[str, Any]]:
    """The chunk objects of a finished ``chat.completion``."""
    head = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
    }
    choice = completion["choices"][0]
    steps: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": ""}, None),
        ({"content": choice["message"]["content"]}, None),
        ({}, choice["finish_reason"]),
    ]
    for delta, finish in steps:
        part = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        yield {**head, "choices": [part]}
    if include_usage:
        yield {**head, "choices": [], "usage": completion["usage"]}


def stream_response(completion: dict[str, Any], *, include_usage: bool) -> StreamingResponse:
    def events() -> Iterator[bytes]:
        for chunk in chunks(completion, include_usage=include_usage):
            yield _event(chunk)
        yield b"data: [DONE]\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
