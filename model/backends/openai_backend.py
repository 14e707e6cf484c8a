"""``OpenAIModel``: any ``/v1/chat/completions`` server (vLLM, SGLang, ``agent serve``).

Images go as lossless PNG data URLs of the model input (already padded to multiples of 28,
or smart-resized where the format needs it), and ``min_pixels`` / ``max_pixels`` are sent
(vLLM: ``mm_processor_kwargs``; also top-level for servers that read them there) so the
server's processor keeps those pixels as they are. Connect errors, 5xx and 429 are retried
with exponential backoff; every failure is a :class:`~agent.core.errors.ModelError` that says
what to do. Several endpoints (``openai:MODEL@URL1,URL2``) are balanced per episode with
failover (:mod:`model.backends.endpoints`); each reply names the endpoint that answered.

Each screenshot is PNG-encoded once (:class:`~model.backends.images.ImageCache`) and reused
while it stays in the history window, and the messages keep the system prompt (with the tool
definitions) first and unchanged between steps, so a server's prefix cache can hit. With
``constrained`` on, the request carries vLLM's ``structured_outputs`` (see
:mod:`model.backends.constrain`) so the sampler can only emit a parseable action.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Sequence
from typing import Any

import httpx

from agent.core.coords import DEFAULT_MAX_TOKENS, FACTOR, MIN_PIXELS, Frame
from agent.core.errors import ConfigError, ModelError
from agent.core.model import Model, ModelReply, ModelRequest
from model.backends.constrain import load_schema, request_constraint, structured_outputs
from model.backends.endpoints import DEFAULT_COOLDOWN_S, EndpointPool, Session, shared_pool
from model.backends.images import ImageCache
from model.backends.resample import ResampleGuard, refused_mm_kwargs, without_mm_kwargs
from model.config import BACKENDS, check_backend
from model.parsers import convention_for, mode_for, spec_for
from model.prompts import Family, ImagePart, Message, build_messages, iter_images, resolve_family

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
_IMAGE_LIMIT = re.compile(r"at most (\d+) image", re.IGNORECASE)


def split_spec(rest: str, base_url: str | None = None) -> tuple[str, str]:
    """``MODEL@BASE_URL`` → (model, base_url); without ``@`` the base URL comes from
    settings / ``NATIVE_AGENT_BASE_URL`` / the default. A URL without a path gets ``/v1``.
    ``MODEL@URL1,URL2,...`` names several endpoints of one model: each is checked, and
    the base URL returned is their comma-separated list."""
    idx = rest.find("@http")
    if idx < 0:
        idx = rest.rfind("@")
    if idx >= 0:
        model, url = rest[:idx], rest[idx + 1 :]
    else:
        model, url = rest, base_url or os.environ.get("NATIVE_AGENT_BASE_URL") or DEFAULT_BASE_URL
    model = model.strip()
    if not model:
        raise ConfigError("openai model spec needs a model name: openai:MODEL@BASE_URL")
    return model, ",".join(endpoint_urls(url))


def endpoint_urls(urls: str | Sequence[str]) -> list[str]:
    """``URL`` or ``URL1,URL2,...`` (or a list) → the checked base URLs, each with ``/v1``
    when it has no path; an empty entry or one that is not http(s) is a ConfigError."""
    parts = urls.split(",") if isinstance(urls, str) else list(urls)
    out: list[str] = []
    for part in parts:
        url = str(part).strip().rstrip("/")
        where = f" (in {urls!r}: separate endpoints with commas)" if len(parts) > 1 else ""
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL must start with http:// or https://, got {url!r}{where}")
        try:
            path = httpx.URL(url).path
        except httpx.InvalidURL as err:
            raise ConfigError(f"base URL {url!r} is not a valid URL ({err}){where}") from err
        if path in ("", "/"):
            url += "/v1"
        out.append(url)
    return out


class OpenAIModel(Model):
    """A VLM behind an OpenAI-compatible chat endpoint."""

    def __init__(
        self,
        model: str,
        base_url: str | Sequence[str] = DEFAULT_BASE_URL,
        *,
        family: str | None = None,
        format: str | None = None,
        api_key: str | None = None,
        max_new_tokens: int = 512,
        temperature: float = 0.0,
        history_images: int | None = None,
        history_steps: int | None = None,
        history_block: int | None = None,
        max_image_tokens: int | None = None,
        action_space: str = "computer",
        language: str = "English",
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
        constrained: bool = False,
        action_schema: str | dict[str, Any] | None = None,
        check_resample: bool = True,
        transport: httpx.BaseTransport | None = None,
        endpoints: EndpointPool | None = None,
        cooldown: float = DEFAULT_COOLDOWN_S,
    ) -> None:
        self.model_name = model
        # one or more servers of this model (comma-separated): balanced per episode
        self.pool = endpoints or shared_pool(endpoint_urls(base_url), cooldown)
        self.session = Session(self.pool)
        self.base_url = self.pool.urls[0]
        self.route: dict[str, Any] | None = None  # the last request's endpoint (and failures)
        self.family: Family = resolve_family(model, family=family)
        self.format = format or self.family.format_for(action_space)
        self.grid, self.min_pixels = self.family.grid, self.family.min_pixels  # profile data
        self.input_mode = mode_for(self.format)
        self.convention = convention_for(self.format)
        # the family's pixel budget unless set: its authors' resize is reproduced exactly
        self.max_tokens = max_image_tokens or self.family.max_tokens
        self.name = f"openai:{model}"
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        # the family's own history window unless the settings give one
        self.history_steps, self.history_images = self.family.history(history_steps, history_images)
        self.history_block = self.family.block(history_block, self.history_images)
        self.action_space = action_space
        self.language = language
        self.retries = max(0, retries)
        self.backoff = backoff
        self.constrained = bool(constrained)
        self.action_schema = load_schema(action_schema)
        if self.constrained:  # a format without a grammar is refused now, not at step 1
            self._constraint(Frame.for_screen(28, 28))
        self.images = ImageCache()
        key = api_key or os.environ.get("NATIVE_AGENT_API_KEY") or os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            transport=transport,
        )
        self.send_mm_kwargs = True  # False once the server refused mm_processor_kwargs
        self.resample = ResampleGuard(self.base_url, self.post, self._client, check_resample)

    # ---- request building -------------------------------------------------------------
    def payload(self, messages: list[Message], frame: Frame | None = None) -> dict[str, Any]:
        """The chat-completions body for a neutral message list (``frame``: the current
        screenshot's, for the constraint; default the last image's)."""
        images: list[ImagePart] = list(iter_images(messages))
        urls = iter(self.images.data_urls(images))
        largest = max((i.frame.input_w * i.frame.input_h for i in images), default=0)
        wire: list[dict[str, Any]] = []
        for m in messages:
            content = m["content"]
            if isinstance(content, str):
                wire.append({"role": m["role"], "content": content})
                continue
            parts = []
            for p in content:
                if p["type"] == "image":
                    parts.append({"type": "image_url", "image_url": {"url": next(urls)}})
                else:
                    parts.append({"type": "text", "text": p["text"]})
            wire.append({"role": m["role"], "content": parts})
        pixels = {
            "min_pixels": MIN_PIXELS,
            "max_pixels": max(
                largest, (self.max_tokens or DEFAULT_MAX_TOKENS) * (self.grid or FACTOR) ** 2
            ),
        }
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": wire,
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "mm_processor_kwargs": pixels,
            **pixels,
        }
        if self.family.keep_special_tokens:
            body["skip_special_tokens"] = False  # vLLM: keep <|box_start|> ... in the text
        if stops := spec_for(self.format).stop:  # the dialect's own (kept in the text)
            body["stop"] = list(stops)
            body["include_stop_str_in_output"] = True
        if self.constrained:
            frame = frame or (images[-1].frame if images else None)
            if frame is None:
                raise ModelError("constrained output needs the screenshot's frame")
            body["structured_outputs"] = self._constraint(frame)
        return body

    def _constraint(self, frame: Frame) -> dict[str, Any]:
        return structured_outputs(
            self.format,
            frame,
            self.action_schema,
            mobile=self.action_space == "mobile",
            grounding=self.action_space == "grounding",
        )

    # ---- HTTP with retries and failover -------------------------------------------------
    def _url(self, base: str | None = None) -> str:
        return f"{base or self.base_url}/chat/completions"

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the episode's endpoint. A refused or dropped connection, a connect
        timeout or a 5xx marks that endpoint down and sends the request on to the next one
        at once; when every endpoint failed, the round is retried with backoff (``retries``
        times; 429 is retried where it was). Errors become ModelError. :attr:`route`
        records the endpoint that answered and those that failed before it."""
        failures: list[dict[str, str]] = []  # every endpoint that failed, in order, and why
        failed: str | None = None  # a 5xx answered before the server went away
        attempt = 0
        queue = self.session.order()
        while True:
            ep = queue.pop(0)
            url = self._url(ep.url)
            try:
                with self.pool.request(ep):
                    resp = self._client.post(url, json=body)
            except httpx.HTTPError as err:
                if isinstance(err, httpx.TimeoutException) and not isinstance(
                    err, httpx.ConnectTimeout
                ):  # a slow answer: not the server's death (another would be as slow)
                    raise ModelError(
                        f"{url} did not answer within the timeout ({err}); raise --timeout or "
                        f"lower max_new_tokens"
                    ) from err
                why = f"{type(err).__name__}: {err}"
                self.pool.mark_down(ep, why)
                failures.append({"url": ep.url, "error": why})
                if queue:
                    continue  # failover: the next endpoint, now
                if attempt == self.retries:
                    raise self._unreachable(err, failures, failed, attempt) from err
                self._sleep(attempt, None)
                attempt, queue = attempt + 1, self.session.order()
                continue
            if resp.status_code >= 500:
                failed = f"HTTP {resp.status_code}: {server_message(resp)}"
                self.pool.mark_down(ep, failed)
                failures.append({"url": ep.url, "error": failed})
                if queue:
                    continue
                if attempt == self.retries:
                    if len(self.pool) == 1:
                        raise self._http_error(resp, ep.url)
                    raise self._unreachable(None, failures, None, attempt)
                self._sleep(attempt, resp.headers.get("retry-after"))
                attempt, queue = attempt + 1, self.session.order()
                continue
            if resp.status_code == 429 and attempt < self.retries:
                self._sleep(attempt, resp.headers.get("retry-after"))
                attempt += 1
                queue.insert(0, ep)  # busy, not down: the same server again
                continue
            if resp.status_code >= 400:
                if (
                    self.send_mm_kwargs
                    and "mm_processor_kwargs" in body
                    and refused_mm_kwargs(resp)
                ):
                    # vLLM without --trust-request-mm-kwargs: its own pixel bounds apply, and
                    # the resample guard checks what they did to our images
                    self.send_mm_kwargs = False
                    return self.post(without_mm_kwargs(body))
                raise self._http_error(resp, ep.url)
            try:
                data = resp.json()
            except ValueError as err:
                raise ModelError(f"{url} answered non-JSON: {resp.text[:200]!r}") from err
            if not isinstance(data, dict):
                raise ModelError(f"{url} answered {type(data).__name__}, not a JSON object")
            self.session.answered(ep)
            self.route = {"url": ep.url, **({"failed": failures} if failures else {})}
            return data

    def _unreachable(
        self,
        err: httpx.HTTPError | None,
        failures: list[dict[str, str]],
        failed: str | None,
        attempt: int,
    ) -> ModelError:
        """The error when no endpoint answered: each one tried, with its last failure."""
        start = (
            f"`vllm serve {self.model_name} --port 8000` (no GPU: `python tools/vllm_cpu.py "
            f"serve MODEL_DIR`) or `agent serve MODEL --port 8000`"
        )
        if len(self.pool) > 1:
            last = {f["url"]: f["error"] for f in failures}
            tried = "; ".join(f"{u} ({e})" for u, e in last.items())
            return ModelError(
                f"no endpoint of {self.model_name!r} answered after {attempt + 1} round(s): "
                f"{tried}. Are the servers running? Start one with {start}, or drop the dead "
                f"URLs from --model / base_url."
            )
        url = self._url()
        if not isinstance(err, httpx.ConnectError | httpx.ConnectTimeout):
            return ModelError(f"request to {url} failed: {err}")
        before = f" Before it stopped answering it said ({failed}): see its log." if failed else ""
        return ModelError(
            f"cannot connect to {url} ({type(err).__name__}: {err}) after {attempt + 1} "
            f"attempt(s). Is the server running? Start one with {start}, or set "
            f"--base-url.{before}"
        )

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.backoff * 2**attempt, 30.0)
        if retry_after:
            with contextlib.suppress(ValueError):  # an HTTP date: keep our own backoff
                delay = min(max(delay, float(retry_after)), 60.0)
        time.sleep(delay)

    def _http_error(self, resp: httpx.Response, base: str) -> ModelError:
        msg = server_message(resp)
        url = self._url(base)
        m = _IMAGE_LIMIT.search(msg)
        if m:  # the most a request holds: history_images + (history_block - 1) / 2 + 1
            most = self.history_images + (self.history_block - 1) // 2 + 1
            return ModelError(
                f"{url} refused the request: {msg}. The server accepts at most {m.group(1)} "
                f"image(s) per prompt: restart vLLM with --limit-mm-per-prompt "
                f"'{{\"image\": {most}}}' or lower the history window "
                f"(history_images={max(0, int(m.group(1)) - 1)}, history_block=1)."
            )
        hint = ""
        if resp.status_code in (401, 403):
            hint = " (set NATIVE_AGENT_API_KEY or OPENAI_API_KEY)"
        elif resp.status_code == 404:
            hint = f" (is {self.model_name!r} the served model name? see {base}/models)"
        return ModelError(f"{url} answered HTTP {resp.status_code}: {msg}{hint}")

    # ---- the Model API ----------------------------------------------------------------
    def messages(self, request: ModelRequest) -> list[Message]:
        return build_messages(
            request,
            self.family,
            history_images=self.history_images,
            history_steps=self.history_steps,
            history_block=self.history_block,
            action_space=self.action_space,
            language=self.language,
        )

    def act(self, request: ModelRequest) -> ModelReply:
        t0 = time.perf_counter()
        encodes = self.images.encodes
        messages = self.messages(request)
        body = self.payload(messages, request.frame)
        if request.constraint is not None:  # the request's own (a planner's, a judge's)
            body["structured_outputs"] = request_constraint(request.constraint)
        if not self.send_mm_kwargs:
            body = without_mm_kwargs(body)
        t1 = time.perf_counter()
        data = self.post(body)
        route = self.route  # before the resample guard's probes (which post too)
        if not self.send_mm_kwargs:
            body = without_mm_kwargs(body)
        t2 = time.perf_counter()
        if route is not None:
            self.resample.at(route["url"])  # the server that answered counts the tokens
        # before the parser sees the reply: a resampled image raises ResampledInputError
        self.resample.check(body, [p.frame for p in iter_images(messages)], data)
        text = completion_text(data, self._url(route["url"] if route else None))
        timings = {
            "encode_s": t1 - t0,
            "request_s": t2 - t1,
            "png_encodes": float(self.images.encodes - encodes),
        }
        server = data.get("timings")
        if isinstance(server, dict):
            timings.update(
                {f"server.{k}": float(v) for k, v in server.items() if isinstance(v, int | float)}
            )
        usage = {
            k: int(v)
            for k, v in (data.get("usage") or {}).items()
            if isinstance(v, int) and not isinstance(v, bool)
        }
        return ModelReply(text=text, timings=timings, usage=usage, endpoint=route)

    def new_episode(self) -> None:
        """The next request starts a new episode: it is balanced afresh."""
        self.session.end()

    def close(self) -> None:
        self.session.end()
        self._client.close()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "backend": "openai",
            "model": self.model_name,
            "base_url": self.base_url,
            **({"endpoints": self.pool.urls} if len(self.pool) > 1 else {}),
            "family": self.family.name,
            "history_images": self.history_images,
            "constrained": self.constrained,
            "input_check": self.resample.status,
            **({"action_schema": "custom"} if self.action_schema is not None else {}),
        }


def server_message(resp: httpx.Response) -> str:
    """The server's own error message (OpenAI / vLLM / FastAPI shapes), else the body."""
    try:
        data = resp.json()
    except ValueError:
        return " ".join(resp.text.split())[:500] or resp.reason_phrase
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return " ".join(str(err).split())[:500]
    return " ".join(str(data).split())[:500]


def completion_text(data: dict[str, Any], url: str) -> str:
    """``choices[0].message.content`` (a string, or a list of text parts)."""
    try:
        content = data["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as err:
        raise ModelError(f"{url} answered without choices[0].message: {str(data)[:200]}") from err
    if content is None:
        return ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def load_openai_model(rest: str, **settings: Any) -> OpenAIModel:
    """Registry entry: ``openai:MODEL@BASE_URL`` or ``openai:MODEL@URL1,URL2,...``
    (settings as in :mod:`model.config`; one the backend does not take is a ConfigError
    naming it; ``endpoints``: a pool of your own, e.g. a test's with a fixed turn)."""
    check_backend("openai", settings)
    unknown = sorted(set(settings) - BACKENDS["openai"] - {"base_url", "transport", "endpoints"})
    if unknown:
        raise ConfigError(
            f"the openai backend does not take {', '.join(unknown)}; "
            f"its settings: {', '.join(sorted(BACKENDS['openai']))}"
        )
    model, url = split_spec(rest, settings.pop("base_url", None))
    return OpenAIModel(model, url, **settings)
