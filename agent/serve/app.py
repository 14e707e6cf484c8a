"""An OpenAI-compatible server around a :class:`~model.backends.hf.TransformersModel`.

``POST /v1/chat/completions`` takes messages with text and ``image_url`` data URLs (PNG, as
:class:`~model.backends.openai_backend.OpenAIModel` sends them), decodes the images to
Observations and runs the model's own generation on exactly those messages — same chat
template, same pixel tensors, same stop-at-first-action — so a remote agent gets what the
in-process backend would produce. Also ``GET /v1/models`` and ``GET /health``.

Images are taken as model input: an image whose sides are already multiples of 28 (what our
client sends) is used as-is; any other is padded (or smart-resized for formats that need
it) by the same Frame rules as in-process, honouring ``min_pixels`` / ``max_pixels``.

Decoding is greedy (``temperature`` and sampling fields are accepted and ignored); ``stop``
and ``include_stop_str_in_output`` work as in vLLM. One generation runs at a time.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from agent.coords import DEFAULT_MAX_TOKENS, FACTOR, MIN_PIXELS, Frame
from agent.errors import ModelError, NativeAgentError, VisionInputError
from envs.base import Observation
from model.backends.hf import TransformersModel
from model.backends.images import decode_data_url, to_png
from model.prompts import Message, image_part, text_part


class ChatRequest(BaseModel):
    """The fields we use; unknown OpenAI/vLLM fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    stop: str | list[str] | None = None
    include_stop_str_in_output: bool = False
    stream: bool = False
    n: int = 1
    min_pixels: int | None = None
    max_pixels: int | None = None
    mm_processor_kwargs: dict[str, Any] | None = None


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error(message: str, status: int, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}}, status_code=status
    )


def _pixels(req: ChatRequest) -> tuple[int, int | None]:
    kw = req.mm_processor_kwargs or {}
    lo = kw.get("min_pixels", req.min_pixels)
    hi = kw.get("max_pixels", req.max_pixels)
    for name, v in (("min_pixels", lo), ("max_pixels", hi)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
            raise BadRequest(f"{name} must be a positive integer, got {v!r}")
    return (lo or MIN_PIXELS), hi


def _image(url: str, model: TransformersModel, min_pixels: int, max_pixels: int | None) -> dict:
    try:
        png = to_png(decode_data_url(url))
        obs = Observation(png=png)
        w, h = obs.size
        cap = max_pixels // FACTOR**2 if max_pixels else (model.max_tokens or DEFAULT_MAX_TOKENS)
        frame = Frame.for_screen(
            w,
            h,
            mode=model.input_mode,
            max_tokens=max(4, cap),
            convention=model.convention or "norm1000",
            min_pixels=min_pixels,
        )
    except VisionInputError as err:
        raise BadRequest(f"bad image: {err}") from err
    return image_part(obs, frame)


def to_messages(
    req: ChatRequest, model: TransformersModel, limit_images: int | None
) -> list[Message]:
    """OpenAI chat messages → the neutral message list the model renders."""
    min_pixels, max_pixels = _pixels(req)
    out: list[Message] = []
    images = 0
    for i, m in enumerate(req.messages):
        role = m.get("role")
        if role not in ("system", "user", "assistant"):
            raise BadRequest(f"messages[{i}].role must be system, user or assistant, got {role!r}")
        content = m.get("content")
        if content is None:
            content = ""
        if isinstance(content, str):
            out.append({"role": role, "content": content})
            continue
        if not isinstance(content, list):
            raise BadRequest(f"messages[{i}].content must be a string or a list of parts")
        parts: list[dict[str, Any]] = []
        for j, p in enumerate(content):
            kind = p.get("type") if isinstance(p, dict) else None
            if kind == "text" and isinstance(p.get("text"), str):
                parts.append(text_part(p["text"]))
            elif kind == "image_url":
                spec = p.get("image_url")
                url = spec.get("url") if isinstance(spec, dict) else spec
                if not isinstance(url, str):
                    raise BadRequest(f"messages[{i}].content[{j}].image_url.url is missing")
                images += 1
                if limit_images is not None and images > limit_images:
                    raise BadRequest(
                        f"At most {limit_images} image(s) may be provided in one request."
                    )
                parts.append(_image(url, model, min_pixels, max_pixels))
            else:
                raise BadRequest(
                    f"messages[{i}].content[{j}]: unsupported part type {kind!r} "
                    "(text and image_url data URLs are supported)"
                )
        if role != "user" and any(p["type"] == "image" for p in parts):
            raise BadRequest(f"messages[{i}]: images are only accepted in user messages")
        if role != "user":
            out.append({"role": role, "content": "".join(p["text"] for p in parts)})
        else:
            out.append({"role": role, "content": parts})
    if not out:
        raise BadRequest("messages must not be empty")
    return out


def create_app(
    model: TransformersModel,
    *,
    served_name: str | None = None,
    limit_images: int | None = None,
    api_key: str | None = None,
) -> FastAPI:
    """The FastAPI app serving ``model``; run it with uvicorn (see :mod:`agent.serve.runner`)."""
    name = served_name or model.name
    created = int(time.time())
    app = FastAPI(title="native-agent serve", version="1")

    def _auth(request: Request) -> JSONResponse | None:
        if api_key and request.headers.get("authorization") != f"Bearer {api_key}":
            return _error("missing or wrong API key (Authorization: Bearer ...)", 401, "auth")
        return None

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model": name, "family": model.family.name, "format": model.format}

    @app.get("/v1/models")
    def models(request: Request) -> Any:
        if (denied := _auth(request)) is not None:
            return denied
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": created, "owned_by": "native-agent"}
            ],
        }

    @app.post("/v1/chat/completions")
    def chat(request: Request, body: dict[str, Any]) -> Any:
        if (denied := _auth(request)) is not None:
            return denied
        try:
            req = ChatRequest.model_validate(body)
        except ValidationError as err:
            return _error(f"invalid request: {err.errors(include_url=False)}", 400)
        if req.stream:
            return _error("stream=true is not supported by agent serve", 400)
        if req.n != 1:
            return _error("n must be 1", 400)
        if req.model not in (None, name, model.name):
            return _error(f"The model `{req.model}` does not exist; this server has `{name}`", 404)
        try:
            messages = to_messages(req, model, limit_images)
            stops = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
            g = model.generate(
                messages,
                max_new_tokens=req.max_completion_tokens or req.max_tokens,
                stop=stops,
                include_stop=req.include_stop_str_in_output,
            )
        except BadRequest as err:
            return _error(err.message, err.status)
        except ModelError as err:
            return _error(str(err), 500, "server_error")
        except NativeAgentError as err:
            return _error(str(err), 400)
        usage = {
            "prompt_tokens": g.usage["prompt_tokens"],
            "completion_tokens": g.usage["completion_tokens"],
            "total_tokens": g.usage["total_tokens"],
            "image_tokens": g.usage["image_tokens"],
        }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": g.text},
                    "finish_reason": g.finish_reason,
                }
            ],
            "usage": usage,
            "timings": g.timings,
        }

    return app
