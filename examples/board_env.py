"""A worked example of a custom environment: a pure-Python "board" of labelled buttons and a
text field, drawn with Pillow. No browser, no display — it shows the whole env API:

* subclass :class:`agent.core.env.Env`, declare ``name`` and ``capabilities``;
* ``_reset`` / ``_capture`` / ``_execute`` are the only I/O hooks; the base's ``step``
  handles finish / call_user, unsupported actions and errors;
* points arrive in screenshot px and are converted with ``self.to_input`` (the coordinate
  module), here to logical units at ``scale`` (a HiDPI board when scale=2).

Register it for ``agent run --env board`` from your own package's pyproject::

    [project.entry-points."native_agent.envs"]
    board = "board_env:BoardEnv"
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from agent.core.actions import Action
from agent.core.coords import Frame
from agent.core.env import Env, EnvSpec
from agent.core.errors import ActionFailedError
from agent.core.observation import Observation


@dataclass
class Button:
    label: str
    box: tuple[int, int, int, int]  # logical units
    clicks: int = 0


@dataclass
class BoardState:
    buttons: list[Button] = field(default_factory=list)
    field_box: tuple[int, int, int, int] = (40, 200, 440, 240)
    text: str = ""
    focused: bool = False
    keys: list[str] = field(default_factory=list)
    scroll: int = 0


class BoardEnv(Env):
    """Buttons ``OK``, ``Cancel``, ``Pay now`` and a ``Name`` field on a 640×360 board."""

    name = "board"
    capabilities = frozenset({"click", "double_click", "type", "key", "scroll", "wait"})

    def __init__(self, *, size: tuple[int, int] = (640, 360), scale: float = 1.0) -> None:
        super().__init__()
        self.size, self.scale = size, scale
        self.state = BoardState()
        self._font = ImageFont.load_default(size=int(16 * scale))

    def spec(self) -> EnvSpec:
        """Its settings as JSON; ``board`` is not a registered name, so rebuild it with
        ``BoardEnv(**spec.kwargs)`` (or register it under ``native_agent.envs``)."""
        return EnvSpec(self.name, {"size": list(self.size), "scale": self.scale})

    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        self.state = BoardState(
            buttons=[
                Button("OK", (40, 40, 160, 90)),
                Button("Cancel", (200, 40, 320, 90)),
                Button("Pay now", (360, 40, 500, 90)),
            ]
        )

    def _capture(self) -> Observation:
        s = self.scale
        w, h = int(self.size[0] * s), int(self.size[1] * s)
        img = Image.new("RGB", (w, h), (250, 250, 250))
        d = ImageDraw.Draw(img)

        def px(b: tuple[int, int, int, int]) -> tuple[int, ...]:
            return tuple(int(v * s) for v in b)

        for b in self.state.buttons:
            d.rectangle(px(b.box), fill=(30, 90, 200))
            d.text(
                (int((b.box[0] + 10) * s), int((b.box[1] + 15) * s)),
                f"{b.label} ({b.clicks})",
                fill="white",
                font=self._font,
            )
        d.text((40 * s, 175 * s), "Name", fill="black", font=self._font)
        d.rectangle(px(self.state.field_box), outline=(0, 0, 0), width=max(1, int(s)))
        d.text((48 * s, 210 * s), self.state.text, fill="black", font=self._font)
        d.text((40 * s, 300 * s), f"scroll {self.state.scroll}", fill="gray", font=self._font)
        return Observation(array=np.asarray(img), scale=s, app="board")

    def _hit(self, unit: tuple[int, int]) -> Button | None:
        x, y = unit
        for b in self.state.buttons:
            if b.box[0] <= x <= b.box[2] and b.box[1] <= y <= b.box[3]:
                return b
        return None

    def _execute(self, action: Action, frame: Frame) -> None:
        st = self.state
        if action.type in ("click", "double_click"):
            ux, uy = self._execute_click(action.point, frame)
            button = self._hit((ux, uy))
            if button is not None:
                button.clicks += 2 if action.type == "double_click" else 1
            elif not st.focused:
                raise ActionFailedError(f"nothing to click at input point ({ux}, {uy})")
        elif action.type == "type":
            if action.point is not None:
                self._execute_click(action.point, frame)
            if not st.focused:
                raise ActionFailedError("no text field has focus; click the field first")
            st.text = action.text if action.clear else st.text + action.text
            if action.enter:
                st.keys.append("enter")
        elif action.type == "key":
            st.keys.append(action.keys)
            if action.keys == "backspace" and st.focused:
                st.text = st.text[:-1]
        elif action.type == "scroll":
            st.scroll += action.amount if action.direction in ("down", "right") else -action.amount
        # wait: nothing to do

    def _execute_click(self, point: tuple[float, float], frame: Frame) -> tuple[int, int]:
        """Move focus to the field if the point is inside it; returns the input point."""
        ux, uy = self.to_input(point, frame)
        fb = self.state.field_box
        self.state.focused = fb[0] <= ux <= fb[2] and fb[1] <= uy <= fb[3]
        return ux, uy
