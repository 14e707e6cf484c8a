"""The desktop env (X11): ``DesktopEnv`` — mss capture, xdotool input; ``Xvfb`` for
headless displays."""

from envs.desktop.env import DesktopEnv
from envs.desktop.xvfb import Xvfb

__all__ = ["DesktopEnv", "Xvfb"]
