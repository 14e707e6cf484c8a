"""Masking: the screenshot recorded (and shown to the model) hides what must stay private.

Painted over, before any PNG is written:

* browser (DOM, every step, a few ms): non-empty ``input[type=password]`` fields, any field
  whose value contains a secret, and any visible text node containing a secret;
* android (``uiautomator dump``, only when secrets are set): ``password="true"`` nodes and
  nodes whose text contains a secret;
* desktop and other envs (OCR, only when secrets are set): text lines that read as a secret.

Decision: the model sees the masked screenshot too — one image per step, so a recording
shows exactly what the model saw and a secret in a plain text field never reaches the model.
An empty password field is left alone (its placeholder text helps grounding). When the
sensitive parts cannot be located, the whole screen is masked for that step (fail closed).
Limitations: on desktop/android a secret is found only where OCR / the view hierarchy read
it; boxes are read right after the screenshot, so content that moves in between (an
animation) can be masked slightly off.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from agent.coords import input_to_screen
from agent.errors import ConfigError, EnvClosedError, NativeAgentError
from agent.policy_targets import TargetReader, node_bounds
from agent.secrets import Secrets
from envs.base import Env, Observation

Box = tuple[float, float, float, float]
MASK_RGB = (48, 48, 48)
PAD = 2  # screenshot px added around each box


def sensitive_boxes(
    env: Env, obs: Observation, secrets: Secrets | None, reader: TargetReader | None = None
) -> list[Box]:
    """Screenshot-px boxes to paint over in ``obs``. When the sensitive parts cannot be
    located (a page mid-navigation, a failed dump), it tries once more, then fails closed:
    the whole screen is masked for that step. A dead env gives [] (the step truncates)."""
    values = secrets.values if secrets else []
    browser = hasattr(env, "input_fields")
    if not browser and not values:
        return []
    reader = reader or TargetReader()
    for attempt in range(2):
        try:
            if browser:
                return _browser(env, obs, values)
            if hasattr(env, "shell") and env.name == "android":
                return _android(env, obs, values, reader)
            return _ocr(obs, values, reader)
        except EnvClosedError:
            return []
        except ConfigError as err:  # e.g. no OCR installed: masking cannot work at all
            raise ConfigError(f"secrets need masking on the {env.name} env: {err}") from err
        except (NativeAgentError, ValueError, TypeError, KeyError, AttributeError):
            if attempt == 0:
                time.sleep(0.1)
    w, h = obs.size
    return [(0.0, 0.0, float(w), float(h))]


def _browser(env: Any, obs: Observation, values: list[str]) -> list[Box]:
    frame = obs.frame()
    boxes = [
        tuple(f["box"])
        for f in env.input_fields(frame)
        if (f["password"] and f["value"]) or any(v in f["value"] for v in values)
    ]
    if values:
        page_text = env.page.evaluate("() => document.body ? document.body.innerText : ''")
        if any(v in (page_text or "") for v in values):
            texts = env.text_boxes(frame)
            boxes += [tuple(t["box"]) for t in texts if any(v in t["text"] for v in values)]
    return boxes  # type: ignore[return-value]


def _android(env: Any, obs: Observation, values: list[str], reader: TargetReader) -> list[Box]:
    frame = obs.frame()
    boxes: list[Box] = []
    for node in reader.hierarchy(env, obs).iter("node"):
        text = (node.get("text") or "") + " " + (node.get("content-desc") or "")
        if node.get("password") == "true" or any(v in text for v in values):
            b = node_bounds(node)
            if b:
                x1, y1 = input_to_screen(frame, b[0], b[1])
                x2, y2 = input_to_screen(frame, b[2], b[3])
                boxes.append((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
    return boxes


def _ocr(obs: Observation, values: list[str], reader: TargetReader) -> list[Box]:
    folded = [v.casefold() for v in values]
    lines = reader.ocr.read(obs.array).lines
    return [ln.box for ln in lines if any(v in ln.text.casefold() for v in folded)]


def paint(obs: Observation, boxes: list[Box]) -> Observation:
    """A copy of ``obs`` with ``boxes`` filled (the original is left untouched)."""
    arr = np.array(obs.array, copy=True)
    h, w = arr.shape[:2]
    for x1, y1, x2, y2 in boxes:
        a, b = max(0, int(x1) - PAD), max(0, int(y1) - PAD)
        c, d = min(w, int(np.ceil(x2)) + PAD), min(h, int(np.ceil(y2)) + PAD)
        if c > a and d > b:
            arr[b:d, a:c] = MASK_RGB
    return _copy(obs, array=arr)


def _copy(obs: Observation, **changes: Any) -> Observation:
    kw: dict[str, Any] = {
        "scale": obs.scale,
        "offset": obs.offset,
        "rotation": obs.rotation,
        "url": obs.url,
        "title": obs.title,
        "app": obs.app,
        "last_action_error": obs.last_action_error,
        "extra": dict(obs.extra),
        "size": obs.size,
    }
    if "array" not in changes:
        kw["png"] = obs._png
        kw["array"] = obs._array
    kw.update(changes)
    out = Observation(**kw)
    out.captured_at = obs.captured_at
    return out


def screen(
    env: Env, obs: Observation, secrets: Secrets | None, reader: TargetReader | None = None
) -> Observation:
    """``obs`` as the model and the recorder get it: sensitive boxes painted, secret values
    in its strings (URL, title, error, dialogs) replaced by placeholders."""
    boxes = sensitive_boxes(env, obs, secrets, reader)
    out = paint(obs, boxes) if boxes else obs
    if secrets:
        fields = {
            k: secrets.scrub(getattr(out, k)) for k in ("url", "title", "last_action_error", "app")
        }
        if any(fields[k] != getattr(out, k) for k in fields) or out.extra:
            out = _copy(out, **fields, extra=secrets.scrub(out.extra))
    if boxes:
        out.extra["masked"] = len(boxes)
    return out
