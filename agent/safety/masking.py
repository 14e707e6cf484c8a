"""Masking: the screenshot recorded (and shown to the model) hides what must stay private.

A pure function of the observation, the privacy snapshot the env handed over with it, and
the secrets — it never calls back into the env:

* environments that offer ``Feature.PRIVACY_SNAPSHOT`` (browser every step; android when secrets
  are set) attach ``obs.privacy``: the boxes of non-empty password fields and of fields and
  text holding a secret, read with the capture and tied to that screenshot by the env
  (a page that changed in between was captured again there);
* other environments (desktop, your own), only when secrets are set: OCR of the pixels, lines that
  read as a secret.

Decision: the model sees the masked screenshot too — one image per step, so a recording
shows exactly what the model saw and a secret in a plain text field never reaches the model.
An empty password field is left alone (its placeholder text helps grounding). When the
sensitive parts cannot be located — a snapshot not tied to its screenshot, one read without
looking for the current secrets, a failed OCR — the whole screen is masked (fail closed).
Then, with secrets set, the **pixel check** (agent.safety.pixelcheck, on unless
``Secrets.pixel_check`` is off): the painted image is OCR'd and every line holding a run of
4 characters of a secret is painted too (recorded as ``pixel_hits``); a run still read
after that, or a failing OCR, masks the whole image. Page-made texts (dialogs, blocked
requests) are scrubbed, then cut (``RECORDED_TEXT``).
Limitations: a secret is found only where the snapshot, the view hierarchy or OCR reads it;
android's dump follows the screenshot, so content moving in between can be masked off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from agent.core.errors import ConfigError, NativeAgentError, cut
from agent.core.observation import Box, Observation, PrivacyRequest
from agent.safety.pixelcheck import SCOPE, RunMatcher
from agent.safety.secrets import PIXEL_CHECK_ENV, Secrets

if TYPE_CHECKING:
    from agent.safety.targets import TargetReader

MASK_RGB = (48, 48, 48)
PAD = 2  # screenshot px added around each box
RECORDED_TEXT = 300  # characters kept of a dialog text or a blocked request's URL / reason


def privacy_request(secrets: Secrets | None) -> PrivacyRequest:
    """What an env's privacy snapshots must look for (``env.set_privacy``)."""
    return PrivacyRequest(tuple(secrets.values) if secrets else ())


def needs_recapture(obs: Observation, secrets: Secrets | None) -> bool:
    """Whether ``obs`` carries a snapshot read before these secrets were requested (an
    observation taken before the run told the env): capture again rather than blank it."""
    snap = obs.privacy
    return snap is not None and not snap.covers(secrets.values if secrets else [])


def sensitive_boxes(
    obs: Observation, secrets: Secrets | None, reader: TargetReader | None = None
) -> list[Box]:
    """Screenshot-px boxes to paint over; the whole screen when they cannot be located.
    ``reader`` supplies the OCR engine for observations without a snapshot."""
    values = secrets.values if secrets else []
    w, h = obs.size
    whole: list[Box] = [(0.0, 0.0, float(w), float(h))]
    snap = obs.privacy
    if snap is not None:
        if not snap.tied or not snap.covers(values):
            return whole
        return list(snap.boxes)
    if not values:
        return []
    try:
        return _ocr(obs, values, reader)
    except ConfigError as err:  # e.g. no OCR installed: masking cannot work at all
        raise ConfigError(f"secrets need masking by OCR on this env: {err}") from err
    except (NativeAgentError, ValueError, TypeError, KeyError):
        return whole


def _ocr(obs: Observation, values: list[str], reader: TargetReader | None) -> list[Box]:
    if reader is None:
        reader = _default_reader()
    folded = [v.casefold() for v in values]
    lines = reader.ocr.read(obs.array, scope=SCOPE).lines  # the pixel check's base: it
    # then reads only what this painted
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
    return obs.copy(array=arr)


def mask_and_scrub(
    obs: Observation,
    secrets: Secrets | None,
    reader: TargetReader | None = None,
    *,
    pixel_check: bool | None = None,
) -> Observation:
    """``obs`` as the model and the recorder get it: sensitive boxes painted, then (with
    secrets, unless ``pixel_check`` or ``secrets.pixel_check`` is off) the painted image
    OCR'd and every line holding a run of a secret painted too (agent.safety.pixelcheck);
    secret values in its strings (URL, title, error, app, extra) replaced by placeholders,
    page-made texts (dialogs, blocked requests) cut to ``RECORDED_TEXT`` after that."""
    boxes = sensitive_boxes(obs, secrets, reader)
    out = paint(obs, boxes) if boxes else obs
    check = secrets.pixel_check if pixel_check is None and secrets else bool(pixel_check)
    verified: dict[str, Any] = {}
    if secrets and check and not _covers_all(boxes, obs.size):
        out, more, verified = verify_pixels(out, secrets, reader)
        boxes = boxes + more
    if secrets:
        fields = {
            k: secrets.scrub(getattr(out, k)) for k in ("url", "title", "last_action_error", "app")
        }
        if any(fields[k] != getattr(out, k) for k in fields) or out.extra:
            out = out.copy(**fields, extra=secrets.scrub(out.extra))
    out = _clip_page_texts(out, secrets)
    if boxes:
        out.extra["masked"] = len(boxes)
    if obs.privacy is not None and not (obs.privacy.tied and obs.privacy.covers(_values(secrets))):
        reason = obs.privacy.reason or "the snapshot was read for other secrets"
        out.extra["mask_reason"] = secrets.scrub_text(reason) if secrets else reason
    out.extra.update(verified)
    return out


def verify_pixels(
    obs: Observation, secrets: Secrets, reader: TargetReader | None = None
) -> tuple[Observation, list[Box], dict[str, Any]]:
    """The pixel check of an image about to leave: (image, boxes painted, what the step
    records). Lines holding a run of a secret are painted (``pixel_hits``: their boxes and
    the secret's name); the painted image is read again, and if a run is still read there,
    or the check itself fails, the whole image is painted (``mask_reason``: fail closed)."""
    w, h = obs.size
    whole: list[Box] = [(0.0, 0.0, float(w), float(h))]
    matcher = RunMatcher(zip(secrets.names, secrets.values, strict=True))
    try:
        ocr = (reader or _default_reader()).ocr
        hits = matcher.hits((ln.text, ln.box) for ln in ocr.read(obs.array, scope=SCOPE).lines)
        if not hits:
            return obs, [], {}
        boxes = [hit.box for hit in hits]
        out = paint(obs, boxes)
        again = matcher.hits((ln.text, ln.box) for ln in ocr.read(out.array, scope=SCOPE).lines)
    except ConfigError as err:  # no OCR installed: the check cannot run at all
        raise ConfigError(
            f"the pixel check of masking needs OCR: {err} (or set {PIXEL_CHECK_ENV}=0 to "
            "rely on the env's privacy snapshot alone)"
        ) from err
    except Exception as err:  # fail closed: an image that was not verified is not shown
        why = f"the pixel check failed ({type(err).__name__})"
        return paint(obs, whole), whole, {"mask_reason": why}
    found = [{"box": [round(v, 1) for v in hit.box], "secret": hit.secret} for hit in hits]
    record: dict[str, Any] = {"pixel_hits": found}
    if again:
        record["mask_reason"] = "the pixel check still read a secret after masking its lines"
        return paint(out, whole), boxes + whole, record
    return out, boxes, record


def _default_reader() -> TargetReader:
    from agent.safety.targets import TargetReader

    return TargetReader()


def _covers_all(boxes: list[Box], size: tuple[int, int]) -> bool:
    w, h = size
    return any(x1 <= 0 and y1 <= 0 and x2 >= w and y2 >= h for x1, y1, x2, y2 in boxes)


def _clip_page_texts(obs: Observation, secrets: Secrets | None) -> Observation:
    """Dialog texts and blocked requests cut to ``RECORDED_TEXT`` — after scrubbing, with
    the cut end scrubbed again (Secrets.clip), so no prefix of a secret is left."""
    dialogs, blocked = obs.extra.get("dialogs"), obs.extra.get("blocked_requests")
    if not dialogs and not blocked:
        return obs
    clip = secrets.clip if secrets else cut
    extra = dict(obs.extra)
    if isinstance(dialogs, list):
        extra["dialogs"] = [clip(d, RECORDED_TEXT) if isinstance(d, str) else d for d in dialogs]
    if isinstance(blocked, list):
        extra["blocked_requests"] = [
            {k: clip(v, RECORDED_TEXT) if isinstance(v, str) else v for k, v in b.items()}
            if isinstance(b, dict) else b
            for b in blocked
        ]  # fmt: skip
    return obs.copy(extra=extra)


def _values(secrets: Secrets | None) -> list[str]:
    return secrets.values if secrets else []
