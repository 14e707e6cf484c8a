"""A model family's own grounding, as a :class:`~model.grounders.base.DescriptionGrounder`.

Any model spec whose family has a grounding space (:attr:`model.profiles.Profile.action_spaces`
holds ``grounding``: UI-TARS-1.5's grounding prompt, Qwen2-VL / Qwen-VL boxes, MAI-UI,
UI-Venus, OpenCUA, Aguvis, Holo, and the grounding zoo) is loaded through the model registry
with ``action_space="grounding"``: the backend then asks the authors' grounding prompt
(:func:`model.prompts.build_messages`) and the answer is read by the family's grounding
dialect (:data:`model.parsers.FORMATS`). No new backend code: a grounding request is an
ordinary :class:`~agent.core.model.ModelRequest` whose task is the description and whose
history is empty.

With ``region`` the crop (native screen px, never resized by us) is sent as an observation of
its own; the family's Frame (:meth:`model.profiles.Profile.frame`) plans how it becomes model
input, :mod:`agent.core.coords` maps the answer back to the crop's px, and the crop's origin
shifts it onto the screen. An answer that does not parse, names no point, or lies off the
image read is a :class:`~model.grounders.base.GroundingFailure` — never a point.
"""

from __future__ import annotations

import time
from typing import Any

from agent.core.actions import action_points
from agent.core.coords import Frame, check_on_screen, screen_to_model
from agent.core.crops import crop_box_to_screen, crop_observation, crop_to_screen, region_crop
from agent.core.errors import ConfigError, CoordinateError, ParseError
from agent.core.model import Model, ModelRequest
from agent.core.observation import Observation
from model.grounders.base import Box, Grounded, GroundingFailure
from model.parsers import parse
from model.profiles import Profile
from model.prompts.messages import Message, build_messages, describe

GROUNDING = "grounding"
FAMILY_BACKENDS = ("transformers", "openai")  # the backends that build a family's prompt
EDGE_PX = 1.0  # a relative answer of 1000/1000 lands on the far edge, one px past the last


class FamilyGrounder:
    """Grounds with ``model`` (any backend) in ``profile``'s grounding prompt and dialect."""

    def __init__(self, model: Model, profile: Profile, *, name: str | None = None) -> None:
        # a family without a grounding space: the ConfigError naming the spaces it has
        self.format = profile.format_for(GROUNDING)
        if model.format != self.format:
            raise ConfigError(
                f"grounder {name or model.name!r}: the {profile.name} grounding dialect is "
                f"{self.format!r} but the model answers in {model.format!r}; drop the format "
                "setting (a grounder speaks its family's grounding dialect)"
            )
        self.model = model
        self.profile = profile
        self.name = name or model.name

    # ---- what is sent ----------------------------------------------------------------
    def frame(self, observation: Observation) -> Frame:
        """The Frame the image read gets: the family's grounding plan (its dialect's
        space and mode, its grid, floor and budget; the checkpoint's cap where known)."""
        w, h = observation.size
        kw: dict[str, Any] = {}
        if self.model.min_pixels is not None:
            kw["min_pixels"] = self.model.min_pixels
        frame = self.profile.frame(
            w,
            h,
            action_space=GROUNDING,
            max_tokens=self.model.max_tokens,
            scale=observation.scale,
            pointer=None,
            **kw,
        )
        return self.model.plan_frame(observation, frame)

    def messages(self, request: ModelRequest) -> list[Message]:
        """The conversation the backend sends (its own builder when it has one)."""
        own = getattr(self.model, "messages", None)
        if callable(own):
            built: list[Message] = own(request)
            return built
        return build_messages(
            request, self.profile, history_images=0, history_steps=0, action_space=GROUNDING
        )

    # ---- the protocol ----------------------------------------------------------------
    def ground(
        self, observation: Observation, description: str, region: Box | None = None
    ) -> Grounded | GroundingFailure:
        t0 = time.perf_counter()
        try:
            crop = None if region is None else region_crop(*observation.size, region)
        except CoordinateError as err:
            return GroundingFailure(description, str(err), grounder=self.name, crop=region)
        image = observation if crop is None else crop_observation(observation, crop)
        frame = self.frame(image)
        request = ModelRequest(description, image, frame)
        prompt = describe(self.messages(request))
        box_read = None if crop is None else crop.box
        common: dict[str, Any] = {"grounder": self.name, "prompt": prompt, "crop": box_read}
        reply = self.model.act(request)  # a backend failure (ModelError) is the caller's
        common |= {"raw": reply.text, "usage": dict(reply.usage)}
        found = self._read(reply.text, frame)
        latency = time.perf_counter() - t0
        if isinstance(found, str):
            return GroundingFailure(description, found, latency_s=latency, **common)
        (px, py), box = found
        mx, my = screen_to_model(frame, px, py)
        point, shifted = (px, py), box
        if crop is not None:  # crop px → screen px
            point = crop_to_screen(crop, px, py)
            shifted = None if box is None else crop_box_to_screen(crop, *box)
        return Grounded(
            point,
            description,
            box=shifted,
            model_point=(round(mx, 3), round(my, 3)),
            latency_s=latency,
            **common,
        )

    def _read(self, raw: str, frame: Frame) -> tuple[tuple[float, float], Box | None] | str:
        """(point, box) in the image's px from the answer, or why there is none."""
        try:
            parsed = parse(self.format, raw, frame)
        except ParseError as err:
            return f"the answer does not parse as {self.format}: {err.reason}"
        for action in parsed.actions:
            points = action_points(action)
            if not points:
                continue
            x, y = points[0]
            try:  # on the image read (its far edge included), not just near it
                check_on_screen(frame.model_copy(update={"tolerance": EDGE_PX}), x, y)
            except CoordinateError as err:
                return f"the answer is off the image read: {err}"
            box = getattr(action, "box", None)
            return (x, y), (tuple(box) if box is not None else None)
        return f"the answer names no point ({len(parsed.actions)} action(s) without one)"

    def close(self) -> None:
        self.model.close()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.profile.name,
            "format": self.format,
            "model": self.model.describe(),
        }


def load_family_grounder(spec: str, **settings: Any) -> FamilyGrounder:
    """The grounder of a model spec whose family grounds (ConfigError when it has no
    grounding space, or when ``action_space`` is set to anything but grounding)."""
    from model.registry import backend_of, load_model

    backend = backend_of(spec)
    if backend not in FAMILY_BACKENDS:
        raise ConfigError(
            f"{spec!r} ({backend}) has no family grounding prompt; a grounder is ocr, "
            "scripted:FILE, or a model (hub id, path, openai:MODEL@URL) whose family grounds"
        )
    space = settings.pop("action_space", GROUNDING)
    if space != GROUNDING:
        raise ConfigError(
            f"a grounder asks the family's grounding prompt; drop action_space={space!r}"
        )
    model = load_model(spec, action_space=GROUNDING, **settings)
    profile = getattr(model, "family", None)
    if not isinstance(profile, Profile):
        model.close()
        raise ConfigError(
            f"{spec!r} is not a model family with a grounding prompt (its backend has no "
            "family); use --grounder ocr or a family that grounds (agent models)"
        )
    try:
        return FamilyGrounder(model, profile, name=spec)
    except ConfigError:
        model.close()
        raise
