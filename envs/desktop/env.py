"""The desktop env: X11 screen capture with mss, input with xdotool.

Why xdotool (not pyautogui): it is one small Debian package that speaks XTEST directly, so
under Xvfb the events are exactly what a real X server delivers (real MotionNotify between
press and release for drags, real multi-click timing, UTF-8 ``type`` by remapping a spare
keycode); pyautogui's X backend needs Xlib plus an XAUTHORITY file and cannot type
non-ASCII text. Each action becomes a list of xdotool command lines
(:mod:`envs.desktop.translate`, pure and unit-tested); this module only runs them.

Geometry: mss grabs the chosen monitor at native resolution (physical px). Under X11 the
input space *is* physical px, so ``scale`` is 1.0 unless you run a backend whose input is
in logical points (set ``scale`` to the HiDPI factor then). A monitor's ``left/top`` is its
offset in input units (``Observation.offset``), so the same screenshot px land on the right
monitor.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from typing import Any

import numpy as np

from agent.core.actions import Action
from agent.core.coords import Frame
from agent.core.env import POINTER_KEYBOARD, Env, EnvSpec, Feature
from agent.core.errors import ActionFailedError, EnvClosedError, EnvNotAvailableError
from agent.core.inputs import EventSource
from agent.core.observation import Observation
from envs.desktop import translate
from envs.desktop.errors import says_dead_display

FIX = (
    "start a virtual display (Xvfb :99 -screen 0 1920x1080x24 & export DISPLAY=:99) "
    "or run on a desktop session"
)


def monitor_geometry(
    monitors: list[dict[str, Any]], index: int, scale: float
) -> tuple[dict[str, Any], tuple[float, float]]:
    """mss monitor list + index → (the monitor, its offset in input units).

    mss lists the virtual screen spanning all monitors at 0 and each monitor from 1.
    """
    if not 0 <= index < len(monitors):
        raise EnvNotAvailableError(
            f"monitor {index} does not exist; this display has monitors 1..{len(monitors) - 1}"
            " (0 = all of them)"
        )
    mon = monitors[index]
    return mon, (mon["left"] / scale, mon["top"] / scale)


def bgra_to_rgb(raw: bytes | bytearray | memoryview, width: int, height: int) -> np.ndarray:
    """mss's raw BGRA buffer → H×W×3 RGB in one copy (no intermediate ``bytes``)."""
    bgra = np.frombuffer(raw, np.uint8, count=width * height * 4).reshape(height, width, 4)
    return np.ascontiguousarray(bgra[:, :, 2::-1])


class DesktopEnv(Env):
    """An X11 desktop: mss capture + xdotool input.

    ``display`` defaults to ``$DISPLAY``; ``monitor`` is an mss index (1 = first monitor,
    0 = all); ``app`` (argv) is (re)launched on every ``reset``; ``apps`` is the allow-list
    of name → argv that ``open_app`` may start.
    """

    name = "desktop"
    capabilities = POINTER_KEYBOARD | {"open_app"}
    unsupported = translate.UNSUPPORTED
    features = frozenset({Feature.INPUT_RECORDING})

    def __init__(
        self,
        *,
        display: str | None = None,
        monitor: int = 1,
        scale: float = 1.0,
        app: list[str] | None = None,
        apps: dict[str, list[str]] | None = None,
        app_timeout: float = 15.0,
        settle: float = 0.1,
        type_delay_ms: int = translate.TYPE_DELAY_MS,
    ) -> None:
        super().__init__()
        self.display = display or os.environ.get("DISPLAY") or ""
        if not self.display:
            raise EnvNotAvailableError(f"no X display: DISPLAY is not set; {FIX}")
        xdotool = shutil.which("xdotool")
        if xdotool is None:
            raise EnvNotAvailableError("xdotool is not installed: apt-get install xdotool")
        try:
            import mss
        except ModuleNotFoundError as err:
            raise EnvNotAvailableError(
                "mss is not installed: pip install 'native-agent[desktop]'"
            ) from err
        self.xdotool = xdotool
        self.scale, self.monitor_index = scale, monitor
        self.app, self.apps = app, dict(apps or {})
        self.app_timeout, self.settle, self.type_delay_ms = app_timeout, settle, type_delay_ms
        self._env = {**os.environ, "DISPLAY": self.display}
        self._procs: list[subprocess.Popen[bytes]] = []
        self._settle_s: float | None = None
        try:
            self._mss = mss.MSS(display=self.display)
            monitors = self._mss.monitors
        except Exception as err:  # mss raises ScreenShotError and ctypes errors alike
            raise EnvNotAvailableError(
                f"cannot open X display {self.display!r} ({err}); {FIX}"
            ) from err
        self._monitor, self._offset = monitor_geometry(monitors, monitor, scale)

    def spec(self) -> EnvSpec:
        return EnvSpec(
            self.name,
            {
                "display": self.display,
                "monitor": self.monitor_index,
                "scale": self.scale,
                "app": self.app,
                "apps": self.apps,
                "app_timeout": self.app_timeout,
                "settle": self.settle,
                "type_delay_ms": self.type_delay_ms,
            },
        )

    @property
    def monitor_rect(self) -> tuple[int, int, int, int]:
        """The captured monitor as (left, top, width, height) in X root px."""
        m = self._monitor
        return int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"])

    def input_source(self) -> EventSource:
        """A person's input on this display (X RECORD; :mod:`envs.desktop.record`)."""
        from envs.desktop.record import XInputSource

        return XInputSource(self.display, self.geometry())

    # ---- hooks ---------------------------------------------------------------------------
    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        if self.app is not None:
            self._stop_procs()
            self._launch(self.app)

    def _capture(self) -> Observation:
        t0 = time.perf_counter()
        try:
            shot = self._mss.grab(self._monitor)
        except Exception as err:
            raise EnvClosedError(f"screen capture on {self.display} failed: {err}") from err
        t1 = time.perf_counter()
        rgb = bgra_to_rgb(shot.raw, shot.width, shot.height)
        timings = {"capture_s": t1 - t0, "decode_s": time.perf_counter() - t1}
        if self._settle_s is not None:
            timings["settle_s"], self._settle_s = self._settle_s, None
        return Observation(
            array=rgb,
            scale=self.scale,
            offset=self._offset,
            app=self._app_name(),
            extra={"display": self.display, "monitor": self.monitor_index},
            timings=timings,
        )

    def _execute(self, action: Action, frame: Frame) -> None:
        if action.type == "open_app":
            self._launch(translate.resolve_app(action.name, self.apps))
            return
        centre = (frame.screen_w / 2.0, frame.screen_h / 2.0)
        argvs = translate.commands(
            action,
            lambda p: self.to_input(p, frame),
            centre,
            xdotool=self.xdotool,
            type_delay_ms=self.type_delay_ms,
        )
        for argv in argvs:
            self.run_xdotool(argv)
        if self.settle:
            t0 = time.perf_counter()
            time.sleep(self.settle)  # let the app repaint before the next capture
            self._settle_s = time.perf_counter() - t0

    def _close(self) -> None:
        self._stop_procs()
        with contextlib.suppress(Exception):  # the display may already be gone
            self._mss.close()

    # ---- I/O helpers ---------------------------------------------------------------------
    def run_xdotool(self, argv: list[str], timeout: float = 30.0) -> str:
        """Run one command line; a dead display → EnvClosedError, other failures →
        ActionFailedError (becomes ``last_action_error``)."""
        try:
            res = subprocess.run(
                argv, env=self._env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as err:
            raise ActionFailedError(f"{' '.join(argv[:2])} timed out after {timeout:g} s") from err
        if res.returncode != 0:
            msg = (res.stderr or res.stdout).strip()
            if says_dead_display(msg):
                raise EnvClosedError(f"X display {self.display} is gone: {msg}")
            raise ActionFailedError(f"{' '.join(argv[1:3])} failed: {msg or res.returncode}")
        return res.stdout

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                argv, env=self._env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except OSError as err:
            raise ActionFailedError(f"cannot start {argv[0]!r}: {err}") from err

    def _windows(self) -> set[str]:
        """Ids of the visible top-level windows."""
        argv = [self.xdotool, "search", "--onlyvisible", "--maxdepth", "1", "--name", ""]
        res = subprocess.run(argv, env=self._env, capture_output=True, text=True)
        return set(res.stdout.split())

    def _launch(self, argv: list[str]) -> None:
        """Start a program and wait until it maps a new top-level window (many toolkits,
        Tk among them, set no _NET_WM_PID, so new windows are found by difference)."""
        before = self._windows()
        proc = self._spawn(argv)
        self._procs.append(proc)
        deadline = time.monotonic() + self.app_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ActionFailedError(f"{argv!r} exited with {proc.returncode}")
            if self._windows() - before:
                time.sleep(self.settle)
                return
            time.sleep(0.1)
        raise ActionFailedError(f"{argv!r} showed no window within {self.app_timeout:g} s")

    def _stop_procs(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._procs.clear()

    def _app_name(self) -> str | None:
        live = [p for p in self._procs if p.poll() is None]
        if not live:
            return None
        args = live[-1].args
        first = args[0] if isinstance(args, (list, tuple)) else args
        return os.path.basename(str(first))
