"""Masking: the screenshot recorded (and shown to the model) hides what must stay private.

Painted over, before any PNG is written:

* browser (DOM, every step, a few ms): non-empty ``input[type=password]`` fields, any field
  whose value contains a secret, and any visible text node containing a secret; the DOM
  read is tied to the screenshot by a version counter (a page that changed since the
  capture is captured again, see ``_browser``);
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

from agent.core.coords import input_to_screen
from agent.core.env import Env
from agent.core.errors import ConfigError, EnvClosedError, NativeAgentError
from agent.core.observation import Observation
from agent.safety.secrets import Secrets
from agent.safety.targets import TargetReader, node_bounds

Box = tuple[float, float, float, float]
MASK_RGB = (48, 48, 48)
PAD = 2  # screenshot px added around each box


RECAPTURES = 3  # browser: fresh screenshots tried before masking the whole screen


class _Unmaskable(Exception):
    """The sensitive parts could not be tied to one screenshot: mask everything."""


def locate(
    env: Env, obs: Observation, secrets: Secrets | None, reader: TargetReader | None = None
) -> tuple[Observation, list[Box]]:
    """Screenshot-px boxes to paint over, and the observation they belong to (in a browser
    whose DOM changed after the capture, a fresh one). When the sensitive parts cannot be
    located (a page mid-navigation, a failed dump), it tries once more, then fails closed:
    the whole screen is masked for that step. A dead env gives [] (the step truncates)."""
    values = secrets.values if secrets else []
    browser = hasattr(env, "privacy_snapshot")
    if not browser and not values:
        return obs, []
    reader = reader or TargetReader()
    for attempt in range(2):
        try:
            if browser:
                return _browser(env, obs, values)
            if hasattr(env, "shell") and env.name == "android":
                return obs, _android(env, obs, values, reader)
            return obs, _ocr(obs, values, reader)
        except EnvClosedError:
            return obs, []
        except ConfigError as err:  # e.g. no OCR installed: masking cannot work at all
            raise ConfigError(f"secrets need masking on the {env.name} env: {err}") from err
        except _Unmaskable:
            break
        except (NativeAgentError, ValueError, TypeError, KeyError, AttributeError):
            if attempt == 0:
                time.sleep(0.1)
    w, h = obs.size
    return obs, [(0.0, 0.0, float(w), float(h))]


def _browser(env: Any, obs: Observation, values: list[str]) -> tuple[Observation, list[Box]]:
    """DOM boxes that match the screenshot. The DOM is read after the capture, so a page
    that changed in between (a redirect after sign-in) would get boxes of the next view over
    pixels of the old one. Then: capture again and accept when the sensitive boxes read just
    before and just after that screenshot agree (pages that never stop changing, such as a
    ticking clock, pass this way too); after RECAPTURES tries, mask everything."""
    snap = env.privacy_snapshot(obs, texts=bool(values))
    if snap["fresh"]:
        return obs, _dom_boxes(snap, values)
    before = _dom_boxes(snap, values)
    for _ in range(RECAPTURES):
        obs = _recapture(env, obs)
        after = env.privacy_snapshot(obs, texts=bool(values))
        boxes = _dom_boxes(after, values)
        if after["fresh"] or boxes == before:
            return obs, boxes
        before = boxes
    raise _Unmaskable


def _dom_boxes(snap: dict[str, Any], values: list[str]) -> list[Box]:
    boxes = [
        tuple(f["box"])
        for f in snap["fields"]
        if (f["password"] and f["value"]) or any(v in f["value"] for v in values)
    ]
    texts = snap["texts"] or []
    hits = [t for t in texts if any(v in t["text"] for v in values)]
    joined = "".join(t["text"] for t in texts)
    if any(joined.count(v) > sum(t["text"].count(v) for t in hits) for v in values):
        raise _Unmaskable  # split over several nodes ("demo<b>123</b>"): no box to paint
    return boxes + [tuple(t["box"]) for t in hits]  # type: ignore[misc]


def _recapture(env: Env, obs: Observation) -> Observation:
    """A new screenshot that keeps what the first one reported (error, dialogs)."""
    new = env.observe(last_action_error=obs.last_action_error)
    dialogs = obs.extra.get("dialogs", []) + new.extra.get("dialogs", [])
    new.extra = {**obs.extra, **new.extra, **({"dialogs": dialogs} if dialogs else {})}
    new.extra["recaptured"] = obs.extra.get("recaptured", 0) + 1
    return new


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
    obs, boxes = locate(env, obs, secrets, reader)
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
