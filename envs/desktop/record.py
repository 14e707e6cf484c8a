"""A person's input on an X display, captured with the RECORD extension → :class:`RawEvent` s.

How: a RECORD context for the core device events (KeyPress … MotionNotify) of every client,
plus the ChangeKeyboardMapping requests (so keys that ``xdotool type`` or a layout switch
remaps are read with the mapping that was in force when they were pressed). Three X
connections: *control* (creates, disables and frees the context; used by ``start`` /
``stop``), *data* (blocked in ``record_enable_context`` on the reader thread until the context
is disabled) and *query* (the reader thread's round trips: what window is under a press).

What each X event becomes (``t`` on :func:`time.monotonic`, ``x``/``y`` screenshot px of the
env's screen):

* MotionNotify → ``move``; ButtonPress/Release 1, 2, 3 → ``down``/``up`` with ``button``
  left, middle, right (``down`` carries ``target``: the X window under the point);
* ButtonPress 4/5/6/7 → one ``wheel`` with ``dy`` −/+ :data:`WHEEL_NOTCH_PX` (up/down) or
  ``dx`` −/+ (left/right) per notch; their releases and buttons 8+ are dropped;
* KeyPress/KeyRelease → ``key_down``/``key_up``, ``key`` our name of the key's base keysym
  (``a``, ``1``, ``enter``, ``shift``, ``minus``; :mod:`envs.desktop.keys` reversed), and on
  ``key_down`` ``text``: the character the key typed at its shift level (Shift, Caps Lock,
  AltGr), None for named keys and while ctrl, alt or meta is held (X applications type
  nothing for a chord);
* ``modifiers``: from the event's state mask, i.e. those held *before* the event (X's rule),
  so a modifier's own ``key_down`` does not list it.

Times: the server stamps events in ms on its own 32-bit clock; ``start`` measures its offset to
:func:`time.monotonic` with a property change round trip (the shortest of a few) and every
event is mapped through it, so ``t`` is within :attr:`XInputSource.clock_error` (half that
round trip + 1 ms of ms truncation; about 1 ms locally) of when the server took the event, and
events keep the server's order (never decreasing).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.core.coords import Frame, input_to_screen
from agent.core.errors import EnvClosedError, EnvNotAvailableError
from agent.core.inputs import Button, RawEvent
from envs.desktop.keys import KEYSYMS

if TYPE_CHECKING:
    from Xlib.display import Display

WHEEL_NOTCH_PX = 100.0  # px per wheel notch, as envs/browser's WHEEL_NOTCH_CSS
BUTTONS: dict[int, Button] = {1: "left", 2: "middle", 3: "right"}
WHEEL = {4: (0.0, -1.0), 5: (0.0, 1.0), 6: (-1.0, 0.0), 7: (1.0, 0.0)}  # dx, dy notches
KEY_PRESS, KEY_RELEASE, BUTTON_PRESS, BUTTON_RELEASE, MOTION = 2, 3, 4, 5, 6
CHANGE_KEYBOARD_MAPPING = 100  # core request opcode
SHIFT_MASK, LOCK_MASK, CONTROL_MASK = 1, 2, 4
RANGES = {  # what the context records: the device events and keymap changes
    "core_requests": (CHANGE_KEYBOARD_MAPPING, CHANGE_KEYBOARD_MAPPING), "core_replies": (0, 0),
    "ext_requests": (0, 0, 0, 0), "ext_replies": (0, 0, 0, 0), "delivered_events": (0, 0),
    "device_events": (KEY_PRESS, MOTION), "errors": (0, 0),
    "client_started": False, "client_died": False,
}  # fmt: skip
START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 2.0
FIX = "pip install 'native-agent[desktop]' (python-xlib reads the X input events)"

# key names beyond envs.desktop.keys (right-hand modifiers, keypad Enter, the AltGr key)
EXTRA_NAMES = {
    "Shift_R": "shift",
    "Control_R": "ctrl",
    "Alt_R": "alt",
    "Meta_L": "meta",
    "Meta_R": "meta",
    "Super_R": "meta",
    "ISO_Level3_Shift": "altgr",
    "Mode_switch": "altgr",
    "ISO_Left_Tab": "tab",
    "KP_Enter": "enter",
}
# keypad keysyms that type a character (X's keysymdef: KP_Space, KP_Multiply … KP_9, KP_Equal)
KEYPAD_TEXT = {0xFF80: " ", 0xFFBD: "="} | {0xFFAA + i: c for i, c in enumerate("*+,-./")}
KEYPAD_TEXT |= {0xFFB0 + i: str(i) for i in range(10)}


def keysym_text(keysym: int) -> str | None:
    """The character a keysym types (Latin-1, Unicode ``0x01xxxxxx``, keypad), else None."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if 0x01000100 <= keysym <= 0x0110FFFF:
        char = chr(keysym - 0x01000000)
        return char if char.isprintable() else None
    return KEYPAD_TEXT.get(keysym)


def _upper(keysym: int) -> int:
    """The upper-case keysym of a letter (X's rule for a key with one keysym)."""
    char = keysym_text(keysym)
    if char is None or len(char) != 1 or char.upper() == char or len(char.upper()) != 1:
        return keysym
    code = ord(char.upper())
    return code if code <= 0xFF else 0x01000000 + code


class KeyMap:
    """The server's keyboard mapping (keycode → keysyms per level) and modifier masks, kept
    current with the ChangeKeyboardMapping requests seen in the recorded stream."""

    def __init__(
        self,
        first_keycode: int,
        rows: list[list[int]],
        mod_names: dict[int, str],
    ) -> None:
        self.rows: dict[int, list[int]] = {first_keycode + i: list(r) for i, r in enumerate(rows)}
        self.mod_names = mod_names  # mask bit → ctrl / shift / alt / meta / altgr / numlock

    def _mask(self, name: str) -> int:
        return sum(bit for bit, n in self.mod_names.items() if n == name)

    def change(self, first_keycode: int, rows: list[list[int]]) -> None:
        for i, row in enumerate(rows):
            self.rows[first_keycode + i] = list(row)

    def keysym(self, keycode: int, state: int) -> int:
        """The keysym a keycode gives under ``state`` (core protocol rules: Shift, Caps Lock,
        NumLock on the keypad, AltGr level 3)."""
        row = self.rows.get(keycode, [])
        col = [*row, 0, 0, 0, 0, 0, 0][:6]
        shifted = bool(state & SHIFT_MASK)
        if state & self._mask("numlock") and 0xFF80 <= col[1] <= 0xFFBD:  # keypad digits
            return col[0] if shifted else col[1]
        if state & self._mask("altgr"):
            for lo, hi in ((4, 5), (2, 3)):  # XKB level 3 columns, then Mode_switch's group 2
                pick = col[hi] if shifted and col[hi] else col[lo]
                if pick:
                    return pick
        base, upper = col[0], col[1] or _upper(col[0])
        if state & LOCK_MASK and _upper(base) != base:  # Caps Lock: letters only
            shifted = not shifted
        return upper if shifted else base

    def modifiers(self, state: int) -> tuple[str, ...]:
        held = {name for bit, name in self.mod_names.items() if state & bit}
        return tuple(m for m in ("ctrl", "shift", "alt", "meta") if m in held)

    def name(self, keycode: int) -> str | None:
        """Our name of the key: its base keysym, through envs.desktop.keys reversed."""
        row = self.rows.get(keycode, [])
        return key_name(row[0]) if row and row[0] else None

    def text(self, keycode: int, state: int) -> str | None:
        if {"ctrl", "alt", "meta"} & set(self.modifiers(state)):
            return None
        return keysym_text(self.keysym(keycode, state))


_NAMES: dict[int, str] = {}  # keysym → our key name
_XNAMES: dict[int, str] = {}  # keysym → X keysym name


def _tables() -> None:
    if _XNAMES:
        return
    from Xlib import XK

    for group in ("miscellany", "latin1", "xkb", "xf86"):
        XK.load_keysym_group(group)
    for attr, value in vars(XK).items():
        if attr.startswith("XK_") and isinstance(value, int):
            _XNAMES.setdefault(value, attr[3:])
    for ours, xname in [*KEYSYMS.items(), *((v, k) for k, v in EXTRA_NAMES.items())]:
        _NAMES.setdefault(XK.string_to_keysym(xname), ours)


def key_name(keysym: int) -> str:
    """keysym → our key name: ``Return`` → ``enter``, ``a`` → ``a``, ``Shift_R`` → ``shift``;
    a keysym we have no name for → its X name lower-cased (``xf86audiomute``), else its
    character or ``0x…``."""
    _tables()
    if keysym in _NAMES:
        return _NAMES[keysym]
    char = keysym_text(keysym)
    if keysym in _XNAMES and (char is None or len(_XNAMES[keysym]) > 1):
        return _XNAMES[keysym].lower()
    return char.lower() if char else f"0x{keysym:x}"


def modifier_names(display: Display) -> dict[int, str]:
    """The server's modifier map → {mask bit: ctrl, shift, alt, meta, altgr (level 3) or
    numlock}."""
    _tables()
    names: dict[int, str] = {SHIFT_MASK: "shift", CONTROL_MASK: "ctrl"}
    for index, keycodes in enumerate(display.get_modifier_mapping()):
        syms = {_XNAMES.get(display.keycode_to_keysym(k, 0), "") for k in keycodes if k}
        if index < 3:  # Shift, Lock, Control
            continue
        if syms & {"Alt_L", "Alt_R"}:
            names[1 << index] = "alt"
        elif syms & {"Super_L", "Super_R", "Meta_L", "Meta_R", "Hyper_L", "Hyper_R"}:
            names[1 << index] = "meta"
        elif syms & {"ISO_Level3_Shift", "Mode_switch"}:
            names[1 << index] = "altgr"
        elif "Num_Lock" in syms:
            names[1 << index] = "numlock"
    return names


class ServerClock:
    """X server ms (32 bit, wrapping) → seconds on time.monotonic, never going back."""

    def __init__(self, ref_ms: int, ref_t: float, error: float) -> None:
        self.ref_ms, self.ref_t, self.error = ref_ms, ref_t, error
        self.last = float("-inf")

    def to_monotonic(self, ms: int) -> float:
        delta = (ms - self.ref_ms) % (1 << 32)
        if delta >= 1 << 31:  # before the reference point
            delta -= 1 << 32
        self.last = max(self.last, self.ref_t + delta / 1000.0)
        return self.last

    @classmethod
    def measure(cls, display: Display, samples: int = 5) -> ServerClock:
        """Change a property on a window of our own and read the PropertyNotify's server
        time; the sample with the shortest round trip gives the offset."""
        from Xlib import X, Xatom

        root = display.screen().root
        win = root.create_window(
            0, 0, 1, 1, 0, 0, X.InputOnly, X.CopyFromParent, event_mask=X.PropertyChangeMask
        )
        atom = display.intern_atom("_NATIVE_AGENT_CLOCK")
        best: tuple[float, int, float] | None = None
        try:
            for _ in range(samples):
                t0 = time.monotonic()
                win.change_property(atom, Xatom.STRING, 8, b"")
                display.flush()
                while True:
                    ev = display.next_event()
                    if ev.type == X.PropertyNotify and ev.window.id == win.id:
                        break
                t1 = time.monotonic()
                if best is None or t1 - t0 < best[0]:
                    # the server ms is truncated: its true instant is in [ms, ms + 1)
                    best = (t1 - t0, int(ev.time), (t0 + t1) / 2 - 0.0005)
        finally:
            win.destroy()
            display.flush()
        assert best is not None
        rtt, ms, mid = best
        return cls(ms, mid, rtt / 2 + 0.001)


class XInputSource:
    """The input a person gives the X display ``display``, as RawEvents (an EventSource).

    ``frame`` is the env's screen geometry (X root px → screenshot px through
    :func:`agent.core.coords.input_to_screen`); ``targets`` reads the window under each
    press (a few round trips on the query connection)."""

    def __init__(self, display: str, frame: Frame, *, targets: bool = True) -> None:
        self.display_name, self.frame, self.targets = display, frame, targets
        self.clock_error = 0.0
        self._lock = threading.Lock()
        self._events: list[RawEvent] = []
        self._error: BaseException | None = None
        self._started, self._stopping = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._conns: list[Display] = []
        self._ctrl: Display | None = None
        self._query: Display | None = None
        self._context = 0
        self._keymap: KeyMap | None = None
        self._clock: ServerClock | None = None
        self._pressed: dict[int, str | None] = {}  # keycode → the name it had when pressed

    # ---- EventSource ---------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        try:
            self._open()
        except BaseException:
            self.stop()
            raise

    def poll(self) -> list[RawEvent]:
        with self._lock:
            out, self._events = self._events, []
            error = self._error
        if not out and error is not None:
            raise EnvClosedError(
                f"the input capture on X display {self.display_name} ended: {error}"
            ) from error
        return out

    def stop(self) -> None:
        """Disable the context (the reader thread's enable_context returns), join the thread,
        free the context, close the connections; safe to call twice or after a failure."""
        ctrl, thread = self._ctrl, self._thread
        self._stopping.set()
        if ctrl is not None and self._context:
            with contextlib.suppress(Exception):
                ctrl.record_disable_context(self._context)
                ctrl.sync()
        if thread is not None:
            thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():  # the server did not answer: cut the data connection
                for conn in self._conns[1:2]:
                    with contextlib.suppress(Exception):
                        conn.close()
                thread.join(STOP_TIMEOUT_S)
        if ctrl is not None and self._context:
            with contextlib.suppress(Exception):
                ctrl.record_free_context(self._context)
                ctrl.sync()
        for conn in self._conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._conns, self._ctrl, self._query, self._thread, self._context = [], None, None, None, 0

    @property
    def alive(self) -> bool:
        """Whether the reader thread is running."""
        return self._thread is not None and self._thread.is_alive()

    # ---- set-up --------------------------------------------------------------------------
    def _connect(self) -> Display:
        try:
            from Xlib import display as xdisplay
            from Xlib.error import DisplayError
        except ModuleNotFoundError as err:
            raise EnvNotAvailableError(f"python-xlib is not installed: {FIX}") from err
        try:
            conn = xdisplay.Display(self.display_name)
        except (DisplayError, OSError) as err:
            raise EnvNotAvailableError(
                f"cannot open X display {self.display_name!r} to record input ({err})"
            ) from err
        self._conns.append(conn)
        return conn

    def _open(self) -> None:
        from Xlib.ext import record

        self._started.clear()
        self._stopping.clear()
        self._error, self._events, self._pressed = None, [], {}
        ctrl = self._ctrl = self._connect()
        if not ctrl.has_extension("RECORD"):
            raise EnvNotAvailableError(
                f"the X server on {self.display_name} has no RECORD extension, so input cannot "
                'be recorded: start Xvfb with +extension RECORD (Xorg: Load "record")'
            )
        data = self._connect()
        query = self._query = self._connect()
        info = query.display.info
        first = int(info.min_keycode)
        rows = query.get_keyboard_mapping(first, int(info.max_keycode) - first + 1)
        self._keymap = KeyMap(first, [list(r) for r in rows], modifier_names(query))
        self._clock = ServerClock.measure(query)
        self.clock_error = self._clock.error
        self._context = ctrl.record_create_context(0, [record.AllClients], [RANGES])
        ctrl.sync()  # the context must exist before the data connection enables it
        self._thread = threading.Thread(
            target=self._read, args=(data,), name="x-input-record", daemon=True
        )
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_S):
            raise EnvNotAvailableError(
                f"the RECORD context on {self.display_name} did not start within "
                f"{START_TIMEOUT_S:g} s"
            )
        if self._error is not None:
            raise EnvNotAvailableError(f"recording on {self.display_name} failed: {self._error}")

    # ---- the reader thread ---------------------------------------------------------------
    def _read(self, data: Display) -> None:
        try:
            data.record_enable_context(self._context, self._on_reply(data))
            if not self._stopping.is_set():  # EndOfData we did not ask for: the server quit
                raise ConnectionError("the X server ended the recording (did it shut down?)")
        except BaseException as err:  # the display died or was cut: poll() reports it
            with self._lock:
                self._error = err
        finally:
            self._started.set()

    def _on_reply(self, data: Display) -> Callable[[Any], None]:
        from Xlib.ext import record
        from Xlib.protocol import rq

        field = rq.EventField("event")

        def on_reply(reply: Any) -> None:
            if reply.category == record.StartOfData:
                self._started.set()
            elif reply.category == record.FromClient:
                self._on_request(bytes(reply.data), bool(reply.client_swapped))
            elif reply.category == record.FromServer:
                buf = reply.data
                while len(buf) >= 32:
                    ev, buf = field.parse_binary_value(buf, data.display, None, None)
                    raw = self._convert(ev)
                    if raw is not None:
                        with self._lock:
                            self._events.append(raw)

        return on_reply

    def _on_request(self, req: bytes, swapped: bool) -> None:
        """A ChangeKeyboardMapping request: apply it to our copy of the keymap."""
        if len(req) < 8 or req[0] != CHANGE_KEYBOARD_MAPPING or self._keymap is None:
            return
        order: Any = (
            sys.byteorder if not swapped else ("big" if sys.byteorder == "little" else "little")
        )
        count, first, per = req[1], req[4], req[5]
        syms = [int.from_bytes(req[8 + 4 * i : 12 + 4 * i], order) for i in range(count * per)]
        self._keymap.change(first, [syms[i * per : (i + 1) * per] for i in range(count)])

    def _convert(self, ev: Any) -> RawEvent | None:
        assert self._clock is not None and self._keymap is not None
        kind = ev.type & 0x7F
        t = self._clock.to_monotonic(int(ev.time))
        x, y = input_to_screen(self.frame, float(ev.root_x), float(ev.root_y))
        state, detail = int(ev.state), int(ev.detail)
        mods = self._keymap.modifiers(state)
        if kind == MOTION:
            return RawEvent(t=t, kind="move", x=x, y=y, modifiers=mods)
        if kind in (BUTTON_PRESS, BUTTON_RELEASE):
            if kind == BUTTON_PRESS and detail in WHEEL:
                dx, dy = WHEEL[detail]
                return RawEvent(
                    t=t, kind="wheel", x=x, y=y, dx=dx * WHEEL_NOTCH_PX,
                    dy=dy * WHEEL_NOTCH_PX, modifiers=mods,
                )  # fmt: skip
            if detail not in BUTTONS:
                return None
            down = kind == BUTTON_PRESS
            target = self._target(int(ev.root_x), int(ev.root_y)) if down else None
            return RawEvent(
                t=t, kind="down" if down else "up", x=x, y=y, button=BUTTONS[detail],
                modifiers=mods, target=target,
            )  # fmt: skip
        if kind in (KEY_PRESS, KEY_RELEASE):
            down = kind == KEY_PRESS
            if down:  # a release names the key that was pressed (xdotool remaps in between)
                name = self._pressed[detail] = self._keymap.name(detail)
            else:
                name = self._pressed.pop(detail, None) or self._keymap.name(detail)
            return RawEvent(
                t=t, kind="key_down" if down else "key_up", key=name,
                text=self._keymap.text(detail, state) if down else None, modifiers=mods,
            )  # fmt: skip
        return None

    def _target(self, rx: int, ry: int) -> dict[str, Any] | None:
        """The deepest mapped window at root point (rx, ry) and its top-level's name and
        class; None where nothing but the root is there, or a window vanished meanwhile."""
        if not self.targets or self._query is None:
            return None
        from Xlib.error import XError

        try:
            root = self._query.screen().root
            path: list[Any] = []
            win = root
            while True:
                child = win.translate_coords(root, rx, ry).child
                if not child or child.id == 0 or len(path) > 64:
                    break
                path.append(child)
                win = child
            if not path:
                return None
            top = next((w for w in path if w.get_wm_class()), path[0])
            leaf = path[-1]
            geo = leaf.get_geometry()
            origin = root.translate_coords(leaf, 0, 0)
            x1, y1 = input_to_screen(self.frame, origin.x, origin.y)
            x2, y2 = input_to_screen(self.frame, origin.x + geo.width, origin.y + geo.height)
            wm_class = top.get_wm_class() or ("", "")
            return {
                "window": f"0x{leaf.id:x}",
                "toplevel": f"0x{top.id:x}",
                "name": top.get_wm_name() or "",
                "class": wm_class[1],
                "instance": wm_class[0],
                "box": [round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)],
            }
        except XError:
            return None
