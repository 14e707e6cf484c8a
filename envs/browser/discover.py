"""Find a Chromium executable to drive, without starting anything.

Order: an explicit path > ``$NATIVE_AGENT_BROWSER`` > Playwright's own download (if its
files exist) > a system Chromium / Chrome on ``PATH`` or in ``/usr/bin``. Every input is a
parameter with a real default, so the search is testable without touching the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.core.errors import EnvNotAvailableError
from envs.browser.errors import first_line

ENV_VAR = "NATIVE_AGENT_BROWSER"
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
SYSTEM_DIRS = ("/usr/bin", "/usr/local/bin", "/snap/bin", "/opt/google/chrome")
MAC_APPS = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)

FIX_HINT = (
    "install one: `apt-get install chromium` (Debian/Ubuntu), or `playwright install chromium`, "
    f"or point to an existing one with `--browser-path PATH` / ${ENV_VAR}=PATH"
)

# Chromium's flags here: no sandbox (root in CI), no GPU, nothing phoning home, no smooth
# scrolling or scrollbars (screenshots stay stable).
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-smooth-scrolling",
    "--hide-scrollbars",
    # WebRTC only over a proxy's TCP relay: no UDP (STUN/TURN) around the URL policy's proxy
    # (the switch's name in current Chromium, and the one older releases read)
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _cache_root(env: Mapping[str, str]) -> Path:
    """Playwright's registry directory (same rules as its driver)."""
    custom = env.get("PLAYWRIGHT_BROWSERS_PATH")
    if custom and custom != "0":
        return Path(custom).expanduser()
    if custom == "0":
        try:
            import playwright

            return Path(playwright.__file__).parent / "driver" / "package" / ".local-browsers"
        except ImportError:
            return Path(".local-browsers")
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "ms-playwright"
    if sys.platform == "win32":
        local = env.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / "ms-playwright"
    return Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "ms-playwright"


def _playwright_revision() -> str | None:
    """The chromium revision this Playwright expects (from its browsers.json)."""
    try:
        import playwright
    except ImportError:
        return None
    path = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for entry in data.get("browsers", []):
        if entry.get("name") == "chromium":
            return str(entry.get("revision"))
    return None


def playwright_candidates(
    env: Mapping[str, str] | None = None, *, headless: bool = True, revision: str | None = None
) -> list[str]:
    """Where Playwright's own Chromium would be if ``playwright install chromium`` ran."""
    env = os.environ if env is None else env
    revision = revision or _playwright_revision()
    if revision is None:
        return []
    root = _cache_root(env)
    if sys.platform == "darwin":
        cft = "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"
        shell = [f"chrome-headless-shell-mac-{a}/chrome-headless-shell" for a in ("arm64", "x64")]
        full = [
            f"chrome-mac-arm64/{cft}",
            f"chrome-mac-x64/{cft}",
            "chrome-mac/Chromium.app/Contents/MacOS/Chromium",
        ]
    elif sys.platform == "win32":
        shell = ["chrome-headless-shell-win64/chrome-headless-shell.exe"]
        full = ["chrome-win64/chrome.exe", "chrome-win/chrome.exe"]
    else:
        shell = [
            "chrome-headless-shell-linux64/chrome-headless-shell",
            "chrome-headless-shell-linux-arm64/chrome-headless-shell",
            "chrome-linux/headless_shell",
        ]
        full = ["chrome-linux64/chrome", "chrome-linux-arm64/chrome", "chrome-linux/chrome"]
    out = [str(root / f"chromium-{revision}" / rel) for rel in full]
    if headless:
        out = [str(root / f"chromium_headless_shell-{revision}" / rel) for rel in shell] + out
    return out


def system_candidates(search_path: str | None = None) -> list[str]:
    """System browsers: each name on ``PATH``, then the usual install directories."""
    out: list[str] = []
    for name in SYSTEM_NAMES:
        found = shutil.which(name, path=search_path)
        if found:
            out.append(found)
    out += [str(Path(d) / n) for d in SYSTEM_DIRS for n in SYSTEM_NAMES]
    if sys.platform == "darwin":
        out += list(MAC_APPS)
    return out


def find_browser(
    browser_path: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    headless: bool = True,
    playwright_paths: Sequence[str] | None = None,
    system_paths: Sequence[str] | None = None,
    is_executable: Callable[[str], bool] = _is_executable,
) -> str:
    """Path of the Chromium to launch, or EnvNotAvailableError naming the fixes.

    An explicit ``browser_path`` or a non-empty ``$NATIVE_AGENT_BROWSER`` must exist: a
    wrong explicit choice is an error, not a silent fallback to another browser.
    """
    env = os.environ if env is None else env
    for origin, value in (("--browser-path", browser_path), (f"${ENV_VAR}", env.get(ENV_VAR))):
        if value and value.strip():
            path = os.path.expanduser(value.strip())
            if is_executable(path):
                return path
            raise EnvNotAvailableError(
                f"browser {path!r} (from {origin}) does not exist or is not executable; {FIX_HINT}"
            )
    pw = (
        playwright_candidates(env, headless=headless)
        if playwright_paths is None
        else playwright_paths
    )
    system = system_candidates(env.get("PATH")) if system_paths is None else system_paths
    for path in [*pw, *system]:
        if is_executable(path):
            return path
    raise EnvNotAvailableError(f"no Chromium or Chrome browser found; {FIX_HINT}")


def launch(pw: Any, executable: str, headless: bool) -> Any:
    """Chromium at ``executable`` with :data:`LAUNCH_ARGS`, through Playwright ``pw``; a
    failure is an EnvNotAvailableError that names the fix (a display for headed mode)."""
    try:
        return pw.chromium.launch(
            executable_path=executable, headless=headless, args=list(LAUNCH_ARGS), timeout=60_000
        )
    except Exception as err:
        hint = FIX_HINT
        if (
            not headless
            and sys.platform.startswith("linux")
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        ):
            hint = "headed mode needs a display: set DISPLAY (e.g. run under xvfb-run) "
            hint += "or run headless"
        raise EnvNotAvailableError(
            f"could not start the browser {executable!r}: {first_line(err)}; {hint}"
        ) from err
