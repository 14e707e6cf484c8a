"""An OpenAI-compatible server around a :class:`~model.backends.hf.TransformersModel`.

``POST /v1/chat/completions`` takes messages with text and ``image_url`` data URLs (PNG, as
:class:`~model.backends.openai_backend.OpenAIModel` sends them), decodes the images to
Observations and runs the model's own generation on exactly those messages — same chat
template, same pixel tensors, same stop-at-first-action — so a remote agent gets what the
in-process backend would produce. Also ``GET /v1/models`` and ``GET /health``.

Images are taken as model input: an image whose sides are already multiples of 28 (what our
client sends) is used as-is; any other is padded (or smart-resized for formats that need
it) by the same Frame rules as in-process, honouring ``min_pixels`` / ``max_pixels``.

Decoding is greedy; ``stop`` and ``include_stop_str_in_output`` work as in vLLM; ``stream``
answers server-sent events (:mod:`agent.serve.stream`). Every other parameter is either
honoured or refused with a 400 naming it (:mod:`agent.serve.params`). One generation runs at
a time.

Hardening (every limit answers 4xx/503 before any large allocation): a bearer token when
``api_key`` is set (compared in constant time, before any body byte is read; a wrong one
closes the connection: :mod:`agent.serve.body`); a body cap (413, from
Content-Length or while streaming) and a deadline for receiving it (408); at most
``limit_images`` images per request; each image's pixel count read from its header (PNG
IHDR, or PIL's lazy header read for other formats) and refused above ``max_image_pixels``
before anything is decoded (decompression bombs); ``max_tokens`` capped; a bounded queue
(503 with Retry-After when full or when the wait exceeds ``queue_timeout_s``).
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from agent.core.errors import ConfigError, ModelError, NativeAgentError
from agent.serve.body import BodyLimit
from agent.serve.images import BadRequest, image_parts, server_budget
from agent.serve.limits import (
    BODY_TIMEOUT_S,
    LIMIT_IMAGES,
    MAX_BODY_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_NEW_TOKENS_LIMIT,
    MAX_PENDING,
    MAX_REQUEST_PIXELS,
    QUEUE_TIMEOUT_S,
)
from agent.serve.params import ChatRequest, ParamError, check_params, check_values
from agent.serve.stream import stream_response
from model.backends.hf import TransformersModel
from model.prompts import Message, text_part


def _error(
    message: str,
    status: int,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | int | None = None,
) -> JSONResponse:
    """OpenAI's error shape: ``error.param`` names the parameter at fault, ``error.code``
    says why (the HTTP status where nothing more precise applies)."""
    error = {"message": message, "type": kind, "param": param, "code": code or status}
    return JSONResponse({"error": error}, status_code=status)


def to_messages(
    req: ChatRequest,
    model: TransformersModel,
    limit_images: int | None,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    max_request_pixels: int = MAX_REQUEST_PIXELS,
) -> list[Message]:
    """OpenAI chat messages → the neutral message list the model renders. The structure is
    checked first, then every image header under one budget, then the images decoded."""
    kw = req.mm_processor_kwargs or {}
    budget = server_budget(model.max_tokens, model.min_pixels, model.grid).narrowed(
        kw.get("min_pixels", req.min_pixels), kw.get("max_pixels", req.max_pixels)
    )
    out: list[Message] = []
    urls: list[str] = []
    for i, m in enumerate(req.messages):
        if not isinstance(m, dict):
            raise BadRequest(f"messages[{i}] must be an object")
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
                if role != "user":
                    raise BadRequest(f"messages[{i}]: images are only accepted in user messages")
                spec = p.get("image_url")
                url = spec.get("url") if isinstance(spec, dict) else spec
                if not isinstance(url, str):
                    raise BadRequest(f"messages[{i}].content[{j}].image_url.url is missing")
                urls.append(url)
                if limit_images is not None and len(urls) > limit_images:
                    raise BadRequest(
                        f"At most {limit_images} image(s) may be provided in one request."
                    )
                parts.append({"type": "image", "index": len(urls) - 1})
            else:
                raise BadRequest(
                    f"messages[{i}].content[{j}]: unsupported part type {kind!r} "
                    "(text and image_url data URLs are supported)"
                )
        if role != "user":
            out.append({"role": role, "content": "".join(p["text"] for p in parts)})
        else:
            out.append({"role": role, "content": parts})
    if not out:
        raise BadRequest("messages must not be empty")
    images = image_parts(
        urls,
        budget=budget,
        input_mode=model.input_mode,
        convention=model.convention,
        max_image_pixels=max_image_pixels,
        max_request_pixels=max_request_pixels,
    )
    for m in out:
        if isinstance(m["content"], list):
            m["content"] = [images[p["index"]] if p["type"] == "image" else p for p in m["content"]]
    return out


def model_context(model: TransformersModel) -> int:
    """The checkpoint's context length (text config), the ceiling of any prompt cap."""
    cfg = model.model.config
    text = getattr(cfg, "text_config", None) or cfg
    return int(getattr(text, "max_position_embeddings", 0) or 32768)


def check_prompt(messages: list[Message], model: TransformersModel, max_tokens: int) -> int:
    """The prompt's length in tokens (text tokens of the rendered chat template plus each
    image's tokens), refused over ``max_tokens`` before any generation. A text far longer
    than the cap could ever tokenize to (more than 64 characters a token) is refused
    without tokenizing it."""
    chars = sum(
        len(p["text"]) if p["type"] == "text" else 0
        for m in messages
        for p in (m["content"] if isinstance(m["content"], list) else [text_part(m["content"])])
    )
    if chars > 64 * max_tokens:
        raise BadRequest(f"the prompt is too long: {chars} characters for a {max_tokens}-token cap")
    text, images = model.render(messages)
    ids = model.tokenizer(text, add_special_tokens=False)["input_ids"]
    n = len(ids) - len(images) + sum(im.frame.tokens for im in images)
    if n > max_tokens:
        raise BadRequest(
            f"the prompt is {n} tokens, above this server's cap of {max_tokens} "
            "(shorten the history, or send fewer or smaller images)"
        )
    return n


def create_app(
    model: TransformersModel,
    *,
    served_name: str | None = None,
    limit_images: int | None = LIMIT_IMAGES,
    api_key: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    max_request_pixels: int = MAX_REQUEST_PIXELS,
    max_prompt_tokens: int | None = None,
    max_new_tokens_limit: int = MAX_NEW_TOKENS_LIMIT,
    max_pending: int = MAX_PENDING,
    queue_timeout_s: float = QUEUE_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> FastAPI:
    """The FastAPI app serving ``model``; run it with uvicorn (see :mod:`agent.serve.runner`).
    The limits are described in the module docstring."""
    name = served_name or model.name
    created = int(time.time())
    context = model_context(model)
    if max_prompt_tokens is not None and not 0 < max_prompt_tokens <= context:
        raise ConfigError(f"max_prompt_tokens must be in 1..{context} (the model's context)")
    prompt_cap = max_prompt_tokens or context
    app = FastAPI(title="native-agent serve", version="1")
    expected = f"Bearer {api_key}".encode() if api_key else None
    app.add_middleware(
        BodyLimit, max_bytes=max_body_bytes, timeout_s=body_timeout_s, token=expected
    )
    pending = threading.BoundedSemaphore(max(1, max_pending))
    slot = threading.Lock()

    def _auth(request: Request) -> JSONResponse | None:
        if expected is None:
            return None
        got = (request.headers.get("authorization") or "").encode()
        if not hmac.compare_digest(got, expected):
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
            check_params(body)
            req = ChatRequest.model_validate(body)
            check_values(req)
        except ValidationError as err:
            return _error(f"invalid request: {err.errors(include_url=False)}", 400)
        except ParamError as err:
            return _error(err.message, 400, param=err.param, code=err.code)
        if req.model not in (None, name, model.name):
            return _error(f"The model `{req.model}` does not exist; this server has `{name}`", 404)
        limit = req.max_completion_tokens or req.max_tokens
        if limit is not None and not 0 < limit <= max_new_tokens_limit:
            return _error(f"max_tokens must be in 1..{max_new_tokens_limit}, got {limit}", 400)
        if not pending.acquire(blocking=False):
            return _busy("too many requests are waiting for the model")
        try:
            messages = to_messages(req, model, limit_images, max_image_pixels, max_request_pixels)
            room = context - (limit or model.max_new_tokens)  # the completion must fit too
            check_prompt(messages, model, max(1, min(prompt_cap, room)))
            stops = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
            if not slot.acquire(timeout=queue_timeout_s):
                return _busy(f"the model stayed busy for {queue_timeout_s:g} s")
            try:
                g = model.generate(
                    messages,
                    max_new_tokens=limit,
                    stop=stops,
                    include_stop=req.include_stop_str_in_output,
                )
            finally:
                slot.release()
        except BadRequest as err:
            return _error(err.message, err.status)
        except ModelError as err:
            return _error(str(err), 500, "server_error")
        except NativeAgentError as err:
            return _error(str(err), 400)
        finally:
            pending.release()
        usage = {
            "prompt_tokens": g.usage["prompt_tokens"],
            "completion_tokens": g.usage["completion_tokens"],
            "total_tokens": g.usage["total_tokens"],
            "image_tokens": g.usage["image_tokens"],
        }
        completion = {
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
        if req.stream:
            return stream_response(completion, include_usage=req.include_usage)
        return completion

    return app


def _busy(message: str) -> JSONResponse:
    resp = _error(f"server busy: {message}; retry later", 503, "server_busy")
    resp.headers["Retry-After"] = "1"
    return resp
