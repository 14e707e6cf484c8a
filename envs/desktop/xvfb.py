"""A virtual X display (Xvfb) for headless runs, tests and calibration.

Xvfb picks a free display number itself (``-displayfd``), so parallel runs never collide; the
server is killed on ``stop`` / context exit. Usage::

    with Xvfb(1920, 1080) as xvfb:
        env = DesktopEnv(display=xvfb.display)
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time

from agent.core.errors import EnvNotAvailableError


class Xvfb:
    """One Xvfb server on a free display number, screen ``width``×``height``×``depth``."""

    def __init__(self, width: int = 1920, height: int = 1080, depth: int = 24) -> None:
        self.width, self.height, self.depth = width, height, depth
        self.proc: subprocess.Popen[bytes] | None = None
        self.display: str = ""

    def start(self, timeout: float = 10.0) -> Xvfb:
        exe = shutil.which("Xvfb")
        if exe is None:
            raise EnvNotAvailableError("Xvfb is not installed: apt-get install xvfb")
        rfd, wfd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [
                    exe,
                    "-displayfd",
                    str(wfd),
                    "-screen",
                    "0",
                    f"{self.width}x{self.height}x{self.depth}",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(wfd,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            os.close(wfd)
            wfd = -1
            number = self._read_display(rfd, timeout)
        finally:
            os.close(rfd)
            if wfd >= 0:
                os.close(wfd)
        self.display = f":{number}"
        return self

    def _read_display(self, rfd: int, timeout: float) -> int:
        """Xvfb writes the display number to the fd once it accepts connections."""
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([rfd], [], [], max(left, 0))
            if not ready:
                self.stop()
                raise EnvNotAvailableError(f"Xvfb did not start within {timeout:g} s")
            chunk = os.read(rfd, 64)
            if not chunk:
                self.stop()
                raise EnvNotAvailableError("Xvfb exited at start-up")
            buf += chunk
        return int(buf.strip())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def env(self) -> dict[str, str]:
        """os.environ with DISPLAY pointing at this server (for child processes)."""
        return {**os.environ, "DISPLAY": self.display}

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
