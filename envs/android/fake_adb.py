"""FakeAdbServer — a FAKE adb server for tests, not a device and not an emulator.

It listens on 127.0.0.1 (a free port) and speaks just enough of the adb smart-socket
protocol for adbutils: ``host:version``, ``host:devices(-l)``, ``host:transport:SERIAL``,
``host:tport:serial:SERIAL``, ``host-serial:SERIAL:features|get-state``, ``host:kill`` and,
on a transport, ``shell:``, ``shell,v2:`` and ``exec:``. Shell commands are answered from a
recorded transcript (``tests/envs/adb_transcripts/*.json``) and every command received is
recorded, so tests assert exactly what an env sent (``input tap 540 1200``).

Transcript format::

    {"serial": "emulator-5554", "features": "shell_v2,cmd",
     "devices_l": "product:sdk_gphone64 model:Pixel_7 device:emu64x transport_id:1",
     "commands": [
        {"match": "wm size", "stdout": "Physical size: 1080x2400\\n"},
        {"prefix": "input ", "stdout": ""},
        {"match": "screencap -p", "png": {"width": 1080, "height": 2400}},
        {"match": "screencap", "raw": {"width": 1080, "height": 2400}},
        {"regex": "^monkey -p (?!com\\\\.android\\\\.settings)", "stdout": "...", "exit": 252}
     ]}

``png`` answers the test screen as a PNG (``screencap -p``), ``raw`` the same screen as
``screencap`` without ``-p`` sends it (12- or 16-byte header + RGBA; ``"dataspace": false``
for the 12-byte header of older builds). Rules are tried in order (``match`` = whole
command, ``prefix``, ``regex``); later calls to :meth:`FakeAdbServer.respond` take precedence.
Unknown commands exit 127 like ``sh``.
"""

from __future__ import annotations

import io
import json
import re
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from envs.android.screencap import encode_screencap

_V1_EXIT = re.compile(r"; echo X4EXIT:\$\?$")  # adbutils' exit-code trailer without shell_v2


@dataclass
class Rule:
    kind: str  # match | prefix | regex
    pattern: str
    stdout: bytes = b""
    stderr: bytes = b""
    exit: int = 0

    def matches(self, cmd: str) -> bool:
        if self.kind == "match":
            return cmd == self.pattern
        if self.kind == "prefix":
            return cmd.startswith(self.pattern)
        return re.search(self.pattern, cmd) is not None


def make_screen(width: int, height: int) -> Image.Image:
    """A recognisable test screen: grey, a red block top-left, a blue block bottom-right,
    a gradient strip (so a channel or row mix-up shows)."""
    img = Image.new("RGB", (width, height), (200, 200, 200))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 99, 99), fill=(255, 0, 0))
    d.rectangle((width - 100, height - 100, width - 1, height - 1), fill=(0, 0, 255))
    for x in range(0, min(width, 256)):
        d.line((x, 120, x, 139), fill=(x, 255 - x, (3 * x) % 256))
    return img


def make_png(width: int, height: int) -> bytes:
    """The test screen as ``screencap -p`` sends it."""
    buf = io.BytesIO()
    make_screen(width, height).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def make_raw(width: int, height: int, *, dataspace: bool = True) -> bytes:
    """The test screen as ``screencap`` (no ``-p``) sends it: header + RGBA rows."""
    return encode_screencap(np.asarray(make_screen(width, height)), dataspace=dataspace)


def _rule(spec: dict[str, Any]) -> Rule:
    kind = next(k for k in ("match", "prefix", "regex") if k in spec)
    if "png" in spec:
        stdout = make_png(int(spec["png"]["width"]), int(spec["png"]["height"]))
    elif "raw" in spec:
        raw = spec["raw"]
        dataspace = bool(raw.get("dataspace", True))
        stdout = make_raw(int(raw["width"]), int(raw["height"]), dataspace=dataspace)
    else:
        stdout = str(spec.get("stdout", "")).encode("utf-8")
    return Rule(
        kind, spec[kind], stdout, str(spec.get("stderr", "")).encode(), int(spec.get("exit", 0))
    )


@dataclass
class Transcript:
    serial: str = "emulator-5554"
    state: str = "device"
    features: str = "shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,apex,abb,abb_exec"
    devices_l: str = "product:sdk_gphone64_x86_64 model:sdk_gphone64 device:emu64x transport_id:1"
    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        t = cls(rules=[_rule(c) for c in data.get("commands", [])])
        for key in ("serial", "state", "features", "devices_l"):
            if key in data:
                setattr(t, key, data[key])
        return t

    def answer(self, cmd: str) -> Rule:
        for rule in self.rules:
            if rule.matches(cmd):
                return rule
        name = cmd.split(" ", 1)[0]
        return Rule(
            "match", cmd, b"", f"/system/bin/sh: {name}: inaccessible or not found\n".encode(), 127
        )


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        fake = self.server.fake
        sock: socket.socket = self.request
        serial: str | None = None
        while True:
            req = _read_request(sock)
            if req is None:
                return
            t = fake.transcript
            if req == "host:version":
                _okay_block(sock, f"{fake.version:04x}")
                return
            if req in ("host:devices", "host:devices-l"):
                line = f"{t.serial}\t{t.state}"
                if req.endswith("-l"):
                    line += f" {t.devices_l}"
                _okay_block(sock, line + "\n" if fake.online else "")
                return
            if req == "host:kill":
                sock.sendall(b"OKAY")
                threading.Thread(target=fake.stop, daemon=True).start()
                return
            m = re.match(r"host-serial:([^:]+):(.*)$", req)
            if m:
                if not fake.has(m.group(1)):
                    return _fail(sock, f"device '{m.group(1)}' not found")
                if m.group(2) == "features":
                    _okay_block(sock, t.features)
                elif m.group(2) == "get-state":
                    _okay_block(sock, t.state)
                else:
                    _fail(sock, f"unsupported: {m.group(2)}")
                return
            m = re.match(r"host:(?:transport|tport:serial):(.+)$", req)
            if m or req in ("host:transport-any", "host:tport:any"):
                serial = m.group(1) if m else t.serial
                if not fake.has(serial):
                    return _fail(sock, f"device '{serial}' not found")
                sock.sendall(b"OKAY")
                if req.startswith("host:tport:"):
                    sock.sendall((1).to_bytes(8, "little"))
                continue
            if serial is None or not any(req.startswith(p) for p in ("shell", "exec:")):
                return _fail(sock, f"unknown host service {req!r}")
            self._service(sock, req)
            return

    def _service(self, sock: socket.socket, req: str) -> None:
        fake = self.server.fake
        service, _, cmd = req.partition(":")
        v1_trailer = _V1_EXIT.search(cmd)
        if v1_trailer:
            cmd = cmd[: v1_trailer.start()]
        fake.record(service, cmd)
        rule = fake.transcript.answer(cmd)
        sock.sendall(b"OKAY")
        if service == "shell,v2":
            for packet_id, data in ((1, rule.stdout), (2, rule.stderr)):
                if data:
                    sock.sendall(bytes([packet_id]) + len(data).to_bytes(4, "little") + data)
            sock.sendall(bytes([3]) + (1).to_bytes(4, "little") + bytes([rule.exit & 0xFF]))
            return
        out = rule.stdout + rule.stderr
        if v1_trailer:
            out += f"X4EXIT:{rule.exit}".encode()
        sock.sendall(out)


def _read_request(sock: socket.socket) -> str | None:
    head = _read_exact(sock, 4)
    if head is None:
        return None
    body = _read_exact(sock, int(head, 16))
    return None if body is None else body.decode("utf-8", errors="replace")


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _okay_block(sock: socket.socket, text: str) -> None:
    data = text.encode("utf-8")
    sock.sendall(b"OKAY" + f"{len(data):04x}".encode() + data)


def _fail(sock: socket.socket, msg: str) -> None:
    data = msg.encode("utf-8")
    sock.sendall(b"FAIL" + f"{len(data):04x}".encode() + data)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeAdbServer


class FakeAdbServer:
    """A fake adb server replaying a transcript; ``commands`` lists what it was sent.

    Use as a context manager; ``port`` is where to point adbutils
    (``AndroidEnv(adb_port=fake.port)``). Never touches the real adb server on 5037.
    """

    version = 41

    def __init__(self, transcript: Transcript | str | Path | None = None) -> None:
        if transcript is None:
            transcript = Transcript()
        elif not isinstance(transcript, Transcript):
            transcript = Transcript.load(transcript)
        self.transcript = transcript
        self.online = True
        self.received: list[tuple[str, str]] = []  # (service, command)
        self._lock = threading.Lock()
        self._server: _TCPServer | None = None
        self.host, self.port = "127.0.0.1", 0

    def start(self) -> FakeAdbServer:
        self._server = _TCPServer((self.host, 0), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def has(self, serial: str) -> bool:
        return self.online and serial == self.transcript.serial

    def record(self, service: str, cmd: str) -> None:
        with self._lock:
            self.received.append((service, cmd))

    @property
    def commands(self) -> list[str]:
        """Every shell/exec command received, in order."""
        with self._lock:
            return [c for _, c in self.received]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def respond(
        self,
        *,
        match: str | None = None,
        prefix: str | None = None,
        regex: str | None = None,
        stdout: str = "",
        exit: int = 0,
        png: tuple[int, int] | None = None,
        raw: tuple[int, int] | None = None,
    ) -> None:
        """Add a rule that wins over the transcript's (e.g. the device rotated)."""
        spec: dict[str, Any] = {"stdout": stdout, "exit": exit}
        for k, v in (("match", match), ("prefix", prefix), ("regex", regex)):
            if v is not None:
                spec[k] = v
        if png is not None:
            spec["png"] = {"width": png[0], "height": png[1]}
        if raw is not None:
            spec["raw"] = {"width": raw[0], "height": raw[1]}
        self.transcript.rules.insert(0, _rule(spec))

    def __enter__(self) -> FakeAdbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
