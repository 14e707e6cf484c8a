"""Stand-ins for the three hosted computer-use APIs (fakes, named as such: no vendor API is
reachable here). Each is a real HTTP server on 127.0.0.1 (tests/model/chat_server.py) that
speaks its vendor's wire format well enough for the official SDK, answers from a script of
replies, and reads back what the backend sent: the declared display, the images, the safety
acknowledgements."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from agent.core.model import Model
from agent.core.observation import Observation
from model.registry import load_model
from tests.model.chat_server import ChatServer

RED = (230, 20, 20)


def screenshot(w: int, h: int, target: tuple[float, float], scale: float = 1.0) -> Observation:
    """A grey screenshot with a red square (16 px a side at scale 1) centred on ``target``."""
    img = Image.new("RGB", (w, h), (200, 200, 200))
    r = 8 * scale
    x, y = target
    ImageDraw.Draw(img).rectangle((x - r, y - r, x + r - 1, y + r - 1), fill=RED)
    return Observation(array=np.asarray(img), scale=scale, url="http://board.test/")


def red_centre(png: bytes) -> tuple[float, float]:
    """Centre of the red pixels of an image (where the target ended up after scaling)."""
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    mask = (a[:, :, 0] > 150) & (a[:, :, 1] < 110) & (a[:, :, 2] < 110)
    ys, xs = np.nonzero(mask)
    return float(xs.mean()) + 0.5, float(ys.mean()) + 0.5


def size_of(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as im:
        return im.size


class Fake:
    """One vendor's stand-in: ``script`` replies in order (then the last forever)."""

    prefix = ""
    model_name = ""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = list(script)
        self.served = 0
        self.server = ChatServer(self._answer)
        self.root = self.server.url.removesuffix("/v1")

    def _answer(self, request: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        reply = self.script[min(self.served, len(self.script) - 1)]
        self.served += 1
        return 200, reply, {}

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.server.requests]

    def base_url(self) -> str:
        return self.root

    def model(self, **settings: Any) -> Model:
        spec = f"{self.prefix}:{self.model_name}"
        return load_model(spec, api_key="test-key", base_url=self.base_url(), **settings)

    def close(self) -> None:
        self.server.close()

    # what a request carried (per vendor)
    def display(self, body: dict[str, Any]) -> tuple[int, int] | None:
        raise NotImplementedError

    def images(self, body: dict[str, Any]) -> list[bytes]:
        """The PNGs of the request's newest turn."""
        raise NotImplementedError

    def acks(self, body: dict[str, Any]) -> list[Any]:
        raise NotImplementedError


def _b64png(data: str) -> bytes:
    """Standard or URL-safe base64 (the Gemini SDK sends the latter), or a data URL."""
    data = data.split(",", 1)[1] if data.startswith("data:") else data
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


class FakeAnthropic(Fake):
    prefix, model_name = "anthropic", "claude-sonnet-4-6"

    @staticmethod
    def click(n: int, x: int, y: int, action: str = "left_click") -> dict[str, Any]:
        return FakeAnthropic.tool(n, {"action": action, "coordinate": [x, y]})

    @staticmethod
    def tool(n: int, inp: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [
                {"type": "text", "text": "On it."},
                {"type": "tool_use", "id": f"toolu_{n}", "name": "computer", "input": inp},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 1000, "output_tokens": 20},
        }

    @staticmethod
    def done(text: str) -> dict[str, Any]:
        return {
            "id": "msg_done",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1000, "output_tokens": 5},
        }

    def display(self, body: dict[str, Any]) -> tuple[int, int] | None:
        t = body["tools"][0]
        return t["display_width_px"], t["display_height_px"]

    def images(self, body: dict[str, Any]) -> list[bytes]:
        out = []
        for block in body["messages"][-1]["content"]:
            inner = block.get("content") if block["type"] == "tool_result" else [block]
            for b in inner or []:
                if isinstance(b, dict) and b.get("type") == "image":
                    out.append(_b64png(b["source"]["data"]))
        return out

    def acks(self, body: dict[str, Any]) -> list[Any]:
        return []  # Anthropic has no vendor safety checks


class FakeOpenAI(Fake):
    prefix, model_name = "openai-cua", "computer-use-preview"

    def base_url(self) -> str:
        return self.server.url

    @staticmethod
    def click(n: int, x: int, y: int, checks: list[dict[str, str]] | None = None) -> dict[str, Any]:
        return FakeOpenAI.call(n, {"type": "click", "button": "left", "x": x, "y": y}, checks)

    @staticmethod
    def call(n: int, action: dict[str, Any], checks: list[dict[str, str]] | None = None) -> dict:
        item = {
            "type": "computer_call",
            "id": f"cu_{n}",
            "call_id": f"call_{n}",
            "status": "completed",
            "action": action,
            "pending_safety_checks": checks or [],
        }
        return FakeOpenAI._response(n, [item])

    @staticmethod
    def done(text: str) -> dict[str, Any]:
        message = {
            "type": "message",
            "id": "msg_done",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        return FakeOpenAI._response(99, [message])

    @staticmethod
    def _response(n: int, output: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": f"resp_{n}",
            "object": "response",
            "created_at": 0,
            "model": "computer-use-preview",
            "status": "completed",
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": 1000,
                "output_tokens": 20,
                "total_tokens": 1020,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }

    def display(self, body: dict[str, Any]) -> tuple[int, int] | None:
        t = body["tools"][0]
        return t["display_width"], t["display_height"]

    def images(self, body: dict[str, Any]) -> list[bytes]:
        out = []
        for item in body["input"]:
            if item.get("type") == "computer_call_output":
                out.append(_b64png(item["output"]["image_url"]))
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "input_image":
                    out.append(_b64png(part["image_url"]))
        return out

    def acks(self, body: dict[str, Any]) -> list[Any]:
        return [
            a
            for item in body["input"]
            if item.get("type") == "computer_call_output"
            for a in item.get("acknowledged_safety_checks") or []
        ]


class FakeGemini(Fake):
    prefix, model_name = "gemini", "gemini-2.5-computer-use-preview-10-2025"

    @staticmethod
    def click(n: int, x: int, y: int, confirm: str | None = None) -> dict[str, Any]:
        return FakeGemini.call(n, "click_at", {"x": x, "y": y}, confirm)

    @staticmethod
    def call(n: int, name: str, args: dict[str, Any], confirm: str | None = None) -> dict:
        if confirm:
            args = {
                **args,
                "safety_decision": {"decision": "require_confirmation", "explanation": confirm},
            }
        part = {"functionCall": {"id": f"fc_{n}", "name": name, "args": args}}
        return FakeGemini._response([{"text": "On it."}, part])

    @staticmethod
    def done(text: str) -> dict[str, Any]:
        return FakeGemini._response([{"text": text}])

    @staticmethod
    def _response(parts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
            "usageMetadata": {
                "promptTokenCount": 1000,
                "candidatesTokenCount": 20,
                "totalTokenCount": 1020,
            },
        }

    def display(self, body: dict[str, Any]) -> tuple[int, int] | None:
        return None  # Gemini declares no display: its points are on a 0–999 grid

    def images(self, body: dict[str, Any]) -> list[bytes]:
        out = []
        for part in body["contents"][-1]["parts"]:
            inner = (part.get("functionResponse") or {}).get("parts", [])
            blobs = [p.get("inlineData") or p.get("inline_data") for p in [part, *inner]]
            out += [_b64png(b["data"]) for b in blobs if b]
        return out

    def acks(self, body: dict[str, Any]) -> list[Any]:
        return [
            part["functionResponse"]["response"]["safety_acknowledgement"]
            for c in body["contents"]
            for part in c["parts"]
            if "safety_acknowledgement" in (part.get("functionResponse") or {}).get("response", {})
        ]
