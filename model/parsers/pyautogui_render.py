"""pyautogui code written from actions (export, calibration): the inverse of
:mod:`model.parsers.pyautogui` for OpenCUA's ``## Code`` block and Aguvis's bare calls."""

from __future__ import annotations

from agent.core.actions import Action, Point, PointAction
from agent.core.coords import Frame
from model.parsers.render import RenderOpts, UnsupportedAction, Writer, _describe, _short

_VERBS = {"click": "pyautogui.click", "double_click": "pyautogui.doubleClick",
          "right_click": "pyautogui.rightClick", "middle_click": "pyautogui.middleClick",
          "hover": "pyautogui.moveTo"}  # fmt: skip


def _code_lines(actions: list[Action], w: Writer, fmt: str, mobile: bool) -> list[str]:
    def xy(p: Point) -> str:
        x, y = w.xy(p)
        return f"x={x}, y={y}"

    out: list[str] = []
    for a in actions:
        if isinstance(a, PointAction) and a.type in _VERBS:
            out.append(f"{_VERBS[a.type]}({xy(a.point)})")
        elif a.type == "drag":
            out.append(f"pyautogui.moveTo({xy(a.start)})")
            out.append(f"pyautogui.dragTo({xy(a.end)}, duration=0.5)")
        elif a.type == "type":
            if a.point is not None:
                out.append(f"pyautogui.click({xy(a.point)})")
            out.append(f"pyautogui.write(message={a.text + chr(10) * a.enter!r})")
        elif a.type == "key":
            keys = a.keys.split("+") if a.keys != "+" else ["+"]
            joined = ", ".join(repr(k) for k in keys)
            out.append(
                f"pyautogui.press({joined})" if len(keys) == 1 else f"pyautogui.hotkey({joined})"
            )
        elif a.type == "scroll":
            verb = "scroll" if a.direction in ("up", "down") else "hscroll"
            sign = 1 if a.direction in ("up", "right") else -1
            at = "" if a.point is None else f", {xy(a.point)}"
            out.append(f"pyautogui.{verb}({sign * a.amount}{at})")
        elif a.type == "wait":
            out.append(f"mobile.wait(seconds={a.seconds:g})" if mobile else "computer.wait()")
        elif a.type == "finish":
            extra = "" if a.answer is None else f", answer={a.answer!r}"
            out.append(f"computer.terminate(status={a.status!r}{extra})")
        elif mobile and a.type == "long_press":
            out.append(f"mobile.long_press({xy(a.point)})")
        elif mobile and a.type == "swipe":
            (sx, sy), (ex, ey) = w.xy(a.start), w.xy(a.end)
            out.append(f"mobile.swipe(from_coord=[{sx}, {sy}], to_coord=[{ex}, {ey}])")
        elif mobile and a.type in ("home", "back"):
            out.append(f"mobile.{a.type}()")
        elif mobile and a.type == "open_app":
            out.append(f"mobile.open_app(app_name={a.name!r})")
        else:
            raise UnsupportedAction(f"{fmt} cannot express {_short(a)}")
    return out


def render_opencua(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    code = "\n".join(_code_lines(actions, Writer(frame, opts.precise), "opencua", False))
    thought = " ".join((opts.thought or _describe(actions)).split())
    return (
        f"## Thought:\n{thought}\n\n## Action:\n{_describe(actions)}\n\n"
        f"## Code:\n```python\n{code}\n```"
    )


def render_aguvis(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    return "\n".join(_code_lines(actions, Writer(frame, opts.precise), "aguvis", True))
