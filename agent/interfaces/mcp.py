"""MCP server: a native-agent env as Model Context Protocol tools (official ``mcp`` SDK).

Tools: ``screenshot`` (PNG image content + the screen's metadata), ``zoom`` (a region of
the screen at native resolution, or its recorded bicubic ×2: :mod:`agent.core.crops`, the
agent loop's own crop code), ``act`` (action JSON → result and the new screenshot),
``reset`` (a new recorded episode, optionally a bundled task), ``ground`` (a phrase → a
point, with the configured model) and ``run_task`` (the configured model runs a whole task,
with progress notifications). Every action passes the
same safety gate as ``agent run`` and is recorded as an episode; a denial, an invalid action
and a failed action come back as tool errors (``is_error``) the client model can read.

Transports: stdio (``agent mcp --env browser``) and streamable HTTP on 127.0.0.1 with a
bearer token (``agent mcp --http --port 8765``), checked before any byte of the body.

The env lives on one worker thread (Playwright's sync API is bound to the thread that made
it); the async tool handlers hand work to that thread.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ImageContent, TextContent

from agent.core.actions import OBSERVE_TYPES, Action
from agent.core.crops import crop_observation, crop_record, region_crop
from agent.core.env import Env
from agent.core.errors import ConfigError, CoordinateError, NativeAgentError
from agent.core.model import Model, ModelRequest
from agent.core.observation import Observation
from agent.episode.runner import resolve_gate
from agent.interfaces.session import ActionSession, grounding_task, model_frame, resolve_task
from agent.safety.gate import ConfirmMode, Gate
from agent.safety.policy import Policy
from agent.safety.secrets import Secrets

T = TypeVar("T")
INSTRUCTIONS = (
    "Operate a real program from its screenshots. Call `screenshot` to see the screen, then "
    "`act` with one action as JSON in screenshot pixels, e.g. "
    '{"type": "click", "point": [120, 48]} or {"type": "type", "text": "hi", "enter": true}. '
    "The action schema is the input schema of `act`. Denied or failed actions come back as "
    "tool errors with the reason. `zoom` shows a region [x1, y1, x2, y2] at full resolution."
)


class AgentTools:
    """The env, its gated recording session and the model, all used on one thread. The gate
    is ``agent run``'s (:func:`agent.episode.runner.resolve_gate`: the built-in policy unless
    ``gate`` / ``policy`` / ``allow_url`` / ``deny_url`` say otherwise, ``no_gate=True`` to
    opt out); a tool server has nobody to ask, so ``confirm="no"`` by default."""

    def __init__(
        self,
        make_env: Callable[[], Env],
        *,
        gate: Gate | None = None,
        secrets: Secrets | None = None,
        record_dir: str | Path = "runs",
        model: Callable[[], Model] | None = None,
        max_steps: int = 200,
        task: str | None = None,
        policy: Policy | str | Path | None = None,
        allow_url: Sequence[str] = (),
        deny_url: Sequence[str] = (),
        confirm: ConfirmMode = "no",
        no_gate: bool = False,
    ) -> None:
        self._make_env, self._make_model = make_env, model
        self.gate = resolve_gate(
            gate,
            policy=policy,
            allow_url=allow_url,
            deny_url=deny_url,
            confirm=confirm,
            no_gate=no_gate,
        )
        self.secrets = secrets or Secrets()
        self.record_dir, self.max_steps, self.task = Path(record_dir), max_steps, task
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcp-env")
        self.session: ActionSession | None = None
        self._model: Model | None = None
        self.started = False

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the env thread; our typed errors reach the client with their
        message (the SDK would hide any other exception behind "Error executing tool")."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn)
        except NativeAgentError as err:
            raise ToolError(f"{type(err).__name__}: {err}") from err

    # ---- on the env thread --------------------------------------------------------------
    def _session(self) -> ActionSession:
        if self.session is None:
            self.session = ActionSession(
                self._make_env(),
                gate=self.gate,
                secrets=self.secrets,
                record_dir=self.record_dir,
                max_steps=self.max_steps,
                meta={"interface": "mcp"},
            )
        return self.session

    def ensure(self) -> ActionSession:
        """The session with an episode in progress (first use: the task's start state;
        after an episode ended: a new recording of the screen as it is)."""
        session = self._session()
        if session.writer is None:
            self.start(self.task, reset=not self.started)
        return session

    def start(self, task: str | None, url: str | None = None, *, reset: bool = True) -> Observation:
        """A new recorded episode; ``reset=False`` keeps the screen."""
        obj, goal = resolve_task(task, None)
        self.started = True
        return self._session().start(obj, goal or "MCP session", url=url, reset=reset)

    def model(self) -> Model:
        if self._make_model is None:
            raise ToolError("no model configured: start the server with --model M")
        if self._model is None:
            self._model = self._make_model()
        return self._model

    def close(self) -> None:
        def shut() -> None:
            if self.session is not None:
                self.session.close()
            if self._model is not None:
                self._model.close()

        self.pool.submit(shut).result(timeout=60)
        self.pool.shutdown(wait=True)


def _meta(obs: Observation, extra: dict[str, Any] | None = None) -> TextContent:
    w, h = obs.size
    info = {"width": w, "height": h, "url": obs.url, "title": obs.title, "app": obs.app}
    info["last_action_error"] = obs.last_action_error
    info.update(extra or {})
    return TextContent(type="text", text=json.dumps({k: v for k, v in info.items() if v}))


def _image(obs: Observation) -> ImageContent:
    import base64

    data = base64.b64encode(obs.png).decode()
    return ImageContent(type="image", data=data, mime_type="image/png")


def build_server(tools: AgentTools, *, name: str = "native-agent") -> MCPServer:
    """The MCP server with its six tools bound to ``tools``."""
    server: MCPServer = MCPServer(name=name, instructions=INSTRUCTIONS)

    @server.tool(
        description="The current screen as a PNG at native resolution, plus its size, "
        "URL/app and the last action's error."
    )
    async def screenshot() -> CallToolResult:
        obs = await tools.call(lambda: tools.ensure().observe())
        return CallToolResult(content=[_meta(obs), _image(obs)])

    @server.tool(
        description="Perform one action (native-agent action JSON, points in screenshot "
        "px; see `agent schema`). Returns the result and the new screen."
    )
    async def act(action: Action) -> CallToolResult:
        def work() -> CallToolResult:
            if action.type in OBSERVE_TYPES:
                raise ToolError(f"{action.type!r} is not an env action: call the `zoom` tool")
            session = tools.ensure()
            res = session.act(action)
            if not res.executed:  # invalid, denied or an unknown secret: nothing ran
                raise ToolError(res.error or "the action was refused")
            extra: dict[str, Any] = {"step": session.steps, "terminated": res.terminated}
            extra |= {"truncated": res.truncated, "reward": res.reward}
            if res.terminated or res.truncated:
                extra["episode"] = str(session.last_dir)
            content: list[Any] = [
                _meta(res.observation, extra),
                _image(res.observation),
            ]
            return CallToolResult(content=content, is_error=bool(res.error))

        return await tools.call(work)

    @server.tool(
        description="A region of the current screen, [x1, y1, x2, y2] in screenshot px, as a "
        "PNG at native resolution (scale 2: enlarged x2, bicubic), plus where it lies. "
        "Nothing is executed."
    )
    async def zoom(region: list[float], scale: Literal[1, 2] = 1) -> CallToolResult:
        def work() -> CallToolResult:
            obs = tools.ensure().observe()  # masked like every screenshot
            w, h = obs.size
            try:
                crop = region_crop(w, h, tuple(region), upscale=scale)
            except CoordinateError as err:
                raise ToolError(
                    f"zoom: {err}; give a region [x1, y1, x2, y2] with x1 < x2 and y1 < y2 "
                    f"that overlaps the {w}x{h} screenshot"
                ) from err
            view = crop_observation(obs, crop)
            return CallToolResult(content=[_meta(view, crop_record(crop)), _image(view)])

        return await tools.call(work)

    @server.tool(
        description="Start a new recorded episode: a bundled task id "
        "(flights/book-cheapest) or free text, and optionally a URL to open."
    )
    async def reset(task: str | None = None, url: str | None = None) -> CallToolResult:
        def work() -> CallToolResult:
            obs = tools.start(task, url)
            assert tools.session is not None
            extra = {"goal": tools.session.goal, "episode": str(tools.session.episode_dir)}
            return CallToolResult(content=[_meta(obs, extra), _image(obs)])

        return await tools.call(work)

    @server.tool(
        description="Find a UI element by description with the configured model; "
        "returns its point (and box) in screenshot px. Nothing is clicked."
    )
    async def ground(phrase: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            from model.parsers import parse

            session, model = tools.ensure(), tools.model()
            obs = session.observe()
            frame = model_frame(obs, model)
            reply = model.act(ModelRequest(grounding_task(phrase), obs, frame))
            try:
                parsed = parse(model.format, reply.text, frame, convention=frame.convention)
            except NativeAgentError as err:
                raise ToolError(f"the model's answer has no point: {err}") from err
            act = next((a for a in parsed.actions if getattr(a, "point", None)), None)
            point = getattr(act, "point", None)
            if point is None:
                raise ToolError(f"the model did not point at anything: {reply.text[:300]}")
            out: dict[str, Any] = {"point": list(point), "raw": reply.text}
            if (box := getattr(act, "box", None)) is not None:
                out["box"] = list(box)
            return out

        return await tools.call(work)

    @server.tool(
        description="Let the configured model run a whole task on this env "
        "(progress per step); returns the outcome and the episode."
    )
    async def run_task(
        task: str, max_steps: int = 30, ctx: Context | None = None
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()

        def progress(ev: Any) -> None:
            if ctx is None:
                return
            what = ", ".join(a.get("type", "?") for a in ev.actions) or "no action"
            msg = f"step {ev.index + 1}: {what}" + (f" ({ev.error})" if ev.error else "")
            asyncio.run_coroutine_threadsafe(
                ctx.report_progress(ev.index + 1, max_steps, tools.secrets.scrub_text(msg)), loop
            )

        def work() -> dict[str, Any]:
            from agent.episode.runner import default_out_dir, run

            session, model = tools.ensure(), tools.model()
            session.end("handed over to run_task")
            episode = run(
                task,
                env=session.env,
                model=model,
                out=default_out_dir(task, tools.record_dir),
                max_steps=max_steps,
                gate=tools.gate,
                on_step=progress,
                secrets=tools.secrets,
                extra_meta={"interface": "mcp"},
            )
            tools.start(None, reset=False)  # the next tools see the screen the run left
            return {"outcome": tools.secrets.scrub(episode.outcome), "episode": str(episode.dir)}

        if max_steps < 1:
            raise ToolError("max_steps must be ≥ 1")
        return await tools.call(work)

    return server


class TokenGate:
    """ASGI middleware: a bearer token, compared in constant time before the body is read."""

    def __init__(self, app: Any, token: str) -> None:
        if not token:
            raise ConfigError(
                "the MCP HTTP transport needs a token: --token or $NATIVE_AGENT_MCP_TOKEN"
            )
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                body = b'{"error": "missing or wrong bearer token"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, token: str) -> Any:
    """The streamable-HTTP app (path ``/mcp``) behind the token check."""
    return TokenGate(server.streamable_http_app(host="127.0.0.1"), token)
