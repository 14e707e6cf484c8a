"""The Android env over adb (adbutils): ``screencap`` at device resolution, ``input``
tap / swipe / text / keyevent, ``monkey`` / ``am start`` to open apps.

Geometry (what Android does):

* ``wm size`` gives the *physical* panel size and, if set, an *override* (logical) size, both
  in the natural orientation; ``input tap`` takes px of the logical display in the *current*
  orientation. ``Observation.scale`` = screenshot px per such px (1.0 unless an override is
  set and screencap returns the physical size).
* ``screencap`` on current Android returns the screen as the user sees it (rotated to the
  current orientation), so rotation is 0. Some devices / builds return the panel's natural
  orientation instead; ``screencap_orientation="auto"`` detects that (surface rotation odd
  but the screenshot still natural-shaped) and sets the Frame's rotation
  (:func:`envs.android.translate.frame_rotation`); ``"natural"`` / ``"current"`` force it.
* ``wm density`` (dpi) is reported in ``Observation.extra`` only: it does not change px.

Capture is ``exec-out screencap`` without ``-p``: raw pixels decoded with numpy
(:mod:`envs.android.screencap`), so the device does not encode a PNG every step; a device
whose raw output cannot be read falls back to ``screencap -p`` for the rest of the session.
When secrets are set, each capture comes with a privacy snapshot from ``uiautomator dump``
(password nodes, nodes holding a secret); the dump is kept for the gate's target read.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import time
import xml.etree.ElementTree as ET
from typing import Any, Literal

from agent.core.actions import Action
from agent.core.coords import Frame, Rotation
from agent.core.env import Env, EnvSpec, Feature
from agent.core.errors import (
    ActionFailedError,
    EnvClosedError,
    EnvError,
    EnvNotAvailableError,
    cut,
)
from agent.core.observation import Observation, PrivacySnapshot
from agent.core.uitree import UINode
from envs.android import translate
from envs.android.errors import says_failed
from envs.android.hierarchy import parse_dump, private_boxes, to_uitree
from envs.android.screencap import decode_screencap

EMULATOR_FIX = (
    "start an emulator (emulator -avd NAME -no-window) or plug in a device with USB "
    "debugging on, then check `adb devices`"
)
Orientation = Literal["auto", "current", "natural"]


class AndroidEnv(Env):
    """One Android device or emulator, by ``serial`` (default: ``$ANDROID_SERIAL`` or the only
    device) through the adb server at ``adb_host:adb_port`` (default
    ``$ANDROID_ADB_SERVER_PORT`` or 5037). ``raw_capture=False`` asks for ``screencap -p``
    (PNG) from the start, for a build whose raw output is odd."""

    name = "android"
    capabilities = frozenset(
        {
            "click",
            "long_press",
            "swipe",
            "drag",
            "scroll",
            "type",
            "key",
            "back",
            "home",
            "open_app",
            "navigate",
            "wait",
        }
    )
    unsupported = translate.UNSUPPORTED
    features = frozenset({Feature.PRIVACY_SNAPSHOT, Feature.UI_HIERARCHY, Feature.SHELL})

    def __init__(
        self,
        serial: str | None = None,
        *,
        adb_host: str = "127.0.0.1",
        adb_port: int | None = None,
        apps: dict[str, str] | None = None,
        screencap_orientation: Orientation = "auto",
        settle: float = 0.3,
        timeout: float = 30.0,
        raw_capture: bool = True,
    ) -> None:
        super().__init__()
        try:
            import adbutils
        except ModuleNotFoundError as err:
            raise EnvNotAvailableError(
                "adbutils is not installed: pip install 'native-agent[android]'"
            ) from err
        self._adbutils = adbutils
        port = adb_port or int(os.environ.get("ANDROID_ADB_SERVER_PORT", "5037"))
        if not _reachable(adb_host, port):
            # adbutils would spawn `adb start-server` itself; say so instead of surprising.
            raise EnvNotAvailableError(
                f"no adb server at {adb_host}:{port}: run `adb start-server`; {EMULATOR_FIX}"
            )
        self.apps = {k.lower(): v for k, v in (apps or {}).items()}
        self.orientation, self.settle, self.timeout = screencap_orientation, settle, timeout
        self._adb_at, self._raw_capture = (adb_host, port), raw_capture
        self._client = _client_class(adbutils)(host=adb_host, port=port, socket_timeout=timeout)
        self.serial = self._pick_serial(serial or os.environ.get("ANDROID_SERIAL"))
        self._device = self._client.device(self.serial)
        self._physical: tuple[int, int] = (0, 0)
        self._logical: tuple[int, int] = (0, 0)
        self._density: tuple[int | None, int | None] = (None, None)
        self._adbkeyboard: bool | None = None
        self._previous_ime: str | None = None
        self._last_app: str | None = None
        self._raw: bool | None = None if raw_capture else False  # None: not tried yet
        self._hierarchy: ET.Element | None = None  # the dump of the current screen
        self._settle_s: float | None = None

    def spec(self) -> EnvSpec:
        return EnvSpec(
            self.name,
            {
                "serial": self.serial,
                "adb_host": self._adb_at[0],
                "adb_port": self._adb_at[1],
                "apps": self.apps,
                "screencap_orientation": self.orientation,
                "settle": self.settle,
                "timeout": self.timeout,
                "raw_capture": self._raw_capture,
            },
        )

    def _pick_serial(self, serial: str | None) -> str:
        try:
            devices = [d for d in self._client.list() if d.state == "device"]
        except self._adbutils.AdbError as err:
            raise EnvNotAvailableError(f"adb server error: {err}; {EMULATOR_FIX}") from err
        serials = [d.serial for d in devices]
        if serial:
            if serial not in serials:
                raise EnvNotAvailableError(
                    f"device {serial!r} is not online (online: {serials or 'none'}); {EMULATOR_FIX}"
                )
            return serial
        if not serials:
            raise EnvNotAvailableError(f"no Android device is online; {EMULATOR_FIX}")
        if len(serials) > 1:
            raise EnvNotAvailableError(
                f"several devices are online ({', '.join(serials)}): pass serial= "
                "or set ANDROID_SERIAL"
            )
        return serials[0]

    # ---- adb I/O -------------------------------------------------------------------------
    def shell(self, argv: list[str]) -> tuple[int, str]:
        """Run one command (argv, quoted once here) → (exit code, stdout+stderr)."""
        cmd = shlex.join(argv)
        try:
            res = self._device.shell2(cmd, timeout=self.timeout, v2=True)
        except (self._adbutils.AdbError, OSError, EOFError) as err:
            raise self._lost(err) from err
        return res.returncode, res.output

    def _exec_out(self, argv: list[str]) -> bytes:
        """``exec:`` (no pty, binary-safe) — what ``adb exec-out`` uses for screencap."""
        try:
            with self._device.open_transport(timeout=self.timeout) as c:
                c.send_command("exec:" + shlex.join(argv))
                c.check_okay()
                # not adbutils' read_until_close: it grows one bytes object 4 KiB at a time
                # (quadratic — about 1.5 s for a 10 MB raw screencap)
                buf = bytearray()
                while chunk := c.conn.recv(1 << 20):
                    buf += chunk
                return bytes(buf)
        except (self._adbutils.AdbError, OSError, EOFError) as err:
            raise self._lost(err) from err

    def _lost(self, err: Exception) -> EnvError:
        try:
            online = any(
                d.serial == self.serial and d.state == "device" for d in self._client.list()
            )
        except (self._adbutils.AdbError, OSError):
            online = False
        if not online:
            return EnvClosedError(f"device {self.serial} is gone: {err}")
        return ActionFailedError(f"adb error on {self.serial}: {err}")

    def _check(self, argv: list[str]) -> str:
        rc, out = self.shell(argv)
        if rc != 0 or says_failed(out):  # `input` / `am` may fail with exit 0
            raise ActionFailedError(
                f"`{cut(shlex.join(argv), 120)}` failed ({rc}): {cut(out.strip(), 300)}"
            )
        return out

    # ---- hooks ---------------------------------------------------------------------------
    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        self._physical, override = translate.parse_wm_size(self.shell(["wm", "size"])[1])
        self._logical = override or self._physical
        self._density = translate.parse_wm_density(self.shell(["wm", "density"])[1])
        if url is not None:
            self._check(["am", "start", "-a", "android.intent.action.VIEW", "-d", url])

    def _surface_rotation(self) -> int:
        return translate.parse_surface_rotation(self.shell(["dumpsys", "input"])[1])

    def ui_hierarchy(self, frame: Frame | None = None) -> UINode:
        """The view tree of the current screen as neutral nodes, bounds in screenshot px of
        ``frame`` (default: the current geometry)."""
        return to_uitree(self._dump(), frame or self.geometry())

    def _dump(self) -> ET.Element:
        """The uiautomator view tree of the current screen (dumped once per screen)."""
        if self._hierarchy is None:
            out = self.shell(["uiautomator", "dump", "/dev/tty"])[1]
            if "<hierarchy" not in out:
                self.shell(["uiautomator", "dump", "/sdcard/window_dump.xml"])
                out = self.shell(["cat", "/sdcard/window_dump.xml"])[1]
            self._hierarchy = parse_dump(out)
        return self._hierarchy

    def _screencap(self) -> tuple[bytes | None, Any, float]:
        """(PNG or None, RGB array or None, decode seconds): raw when the device allows."""
        if self._raw is not False:
            data = self._exec_out(["screencap"])
            t0 = time.perf_counter()
            try:
                array = decode_screencap(data)
            except EnvError:
                if self._raw:
                    raise EnvClosedError(f"screencap returned no screen: {data[:120]!r}") from None
                self._raw = False  # an old or odd build: PNG from now on
            else:
                self._raw = True
                return None, array, time.perf_counter() - t0
        png = self._exec_out(["screencap", "-p"])
        if not png.startswith(b"\x89PNG"):
            raise EnvClosedError(f"screencap returned no PNG: {png[:120]!r}")
        return png, None, 0.0

    def _privacy_snapshot(self, obs: Observation) -> PrivacySnapshot:
        """The boxes to paint, from a dump of the screen just captured (tried twice)."""
        error = ""
        for attempt in range(2):
            try:
                root = self._dump()
            except EnvClosedError:
                raise
            except EnvError as err:
                error = str(err)
                if attempt == 0:
                    time.sleep(0.1)
                continue
            boxes = private_boxes(root, self.privacy.secrets, obs.frame())
            return PrivacySnapshot(tuple(boxes), source="uiautomator", request=self.privacy)
        return PrivacySnapshot.untied(
            f"uiautomator dump failed: {error}", source="uiautomator", request=self.privacy
        )

    def _capture(self) -> Observation:
        if self._logical == (0, 0):
            self._reset()
        self._hierarchy = None
        t0 = time.perf_counter()
        png, array, decode_s = self._screencap()
        capture_s = time.perf_counter() - t0 - decode_s
        if array is not None:
            w, h = array.shape[1], array.shape[0]
        else:
            assert png is not None
            w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        surface = self._surface_rotation() if self.orientation != "current" else 0
        rotation, scale = screen_geometry(
            (w, h), self._physical, self._logical, surface, self.orientation
        )
        timings = {"capture_s": capture_s, "decode_s": decode_s}
        if self._settle_s is not None:
            timings["settle_s"], self._settle_s = self._settle_s, None
        obs = Observation(
            png=png,
            array=array,
            size=(w, h),
            scale=scale,
            rotation=rotation,
            app=self._last_app,
            timings=timings,
            extra={
                "serial": self.serial,
                "physical_size": list(self._physical),
                "logical_size": list(self._logical),
                "density": self._density[1] or self._density[0],
                "surface_rotation": surface * 90,
            },
        )
        # no secrets requested: nothing to paint (a dump per step would cost ~1 s), but the
        # snapshot says what it was read for, so a later request makes it stale
        obs.privacy = (
            self._privacy_snapshot(obs)
            if self.privacy.secrets
            else PrivacySnapshot(source="uiautomator", request=self.privacy)
        )
        return obs

    def _execute(self, action: Action, frame: Frame) -> None:
        self._hierarchy = None
        if action.type == "type" and action.text and not action.text.isascii():
            self._ensure_adbkeyboard()
        argvs = translate.commands(
            action,
            lambda p: self.to_input(p, frame),
            (float(frame.screen_w), float(frame.screen_h)),
            adbkeyboard=bool(self._adbkeyboard),
            apps=self.apps,
        )
        for argv in argvs:
            self._check(argv)
        if action.type == "open_app":
            self._last_app = argvs[0][2] if argvs[0][0] == "monkey" else argvs[0][-1]
        if action.type == "wait":
            time.sleep(action.seconds)
        elif self.settle:
            t0 = time.perf_counter()
            time.sleep(self.settle)
            self._settle_s = time.perf_counter() - t0

    def _ensure_adbkeyboard(self) -> None:
        """Non-ASCII text goes through the ADBKeyBoard IME: detect it, make it current."""
        if self._adbkeyboard is None:
            self._adbkeyboard = translate.has_adbkeyboard(self.shell(["ime", "list", "-s"])[1])
        if not self._adbkeyboard or self._previous_ime is not None:
            return
        cur = self.shell(["settings", "get", "secure", "default_input_method"])[1].strip()
        self._previous_ime = cur
        if cur != translate.ADBKEYBOARD_IME:
            self._check(["ime", "set", translate.ADBKEYBOARD_IME])

    def _close(self) -> None:
        if self._previous_ime and self._previous_ime != translate.ADBKEYBOARD_IME:
            with contextlib.suppress(EnvError):  # the device may be gone already
                self.shell(["ime", "set", self._previous_ime])


def screen_geometry(
    shot: tuple[int, int],
    physical: tuple[int, int],
    logical: tuple[int, int],
    surface_rotation: int,
    orientation: Orientation,
) -> tuple[Rotation, float]:
    """(Frame rotation, scale) for a screenshot of size ``shot``.

    ``physical`` / ``logical`` are natural-orientation sizes from ``wm size``; the screenshot
    is natural-oriented when forced, or (auto) when the surface is turned a quarter and the
    screenshot still has the natural aspect.
    """
    w, h = shot
    odd = surface_rotation % 2 == 1
    natural_shaped = (w >= h) == (physical[0] >= physical[1]) and physical[0] != physical[1]
    natural = orientation == "natural" or (orientation == "auto" and odd and natural_shaped)
    rotation: Rotation = translate.frame_rotation(surface_rotation) if natural else 0  # type: ignore[assignment]
    lw, lh = logical
    if odd:
        lw, lh = lh, lw  # the logical display in the current orientation
    in_w = w if rotation in (0, 180) else h  # screenshot px along the input x axis
    return rotation, in_w / lw


def _client_class(adbutils: Any) -> type:
    """adbutils' client, except that it never spawns ``adb start-server`` when the server
    is unreachable (adbutils does that on any failed connect): a vanished server is an
    error here, not a reason to start one on 5037."""

    class Client(adbutils.AdbClient):
        def make_connection(self, timeout: float | None = None) -> Any:
            if not _reachable(self.host, self.port):
                raise adbutils.errors.AdbConnectionError(
                    f"no adb server at {self.host}:{self.port}"
                )
            return super().make_connection(timeout)

    return Client


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False
