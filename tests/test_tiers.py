"""The test tiers hold: `make test-fast` deselects every test that starts Chromium, Xvfb or
vLLM, because tests/conftest.py marks them from their code, and an unmarked test that starts
one anyway fails (in this process and in its subprocesses) instead of slipping into the fast
tier."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from agent.core.errors import EnvNotAvailableError
from envs.browser import BrowserEnv
from tests.conftest import GUARD_BROWSER, ROOT, source_marks

FAST = re.search(r"^FAST_TESTS := (.+)$", (ROOT / "Makefile").read_text(), re.M)


# ---- the guard: an unmarked test cannot start Chromium or Xvfb ----------------------------
# These tests reach the classes through a variable, which the automatic marking cannot see:
# what the guard is for.


def test_an_unmarked_test_cannot_start_chromium() -> None:
    from playwright.sync_api import BrowserType

    import envs.browser

    env_class = envs.browser.BrowserEnv
    with pytest.raises(EnvNotAvailableError, match=r"pytest\.mark\.browser"):
        env_class(site="account")
    with pytest.raises(RuntimeError, match=r"@pytest\.mark\.browser"):
        BrowserType.launch(None)  # type: ignore[arg-type]  # Playwright, used directly


def test_an_unmarked_test_cannot_start_chromium_in_a_subprocess() -> None:
    code = "from envs.browser.discover import find_browser; print(find_browser())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0 and "pytest.mark.browser" in proc.stderr, proc.stdout


def test_an_unmarked_test_cannot_start_xvfb() -> None:
    import envs.desktop

    display_class = envs.desktop.Xvfb
    with pytest.raises(RuntimeError, match=r"@pytest\.mark\.desktop"):
        display_class(64, 64).start()
    proc = subprocess.run(["Xvfb", ":99"], capture_output=True, text=True)  # what a CLI finds
    assert proc.returncode != 0 and "pytest.mark.desktop" in proc.stderr


@pytest.mark.browser
@pytest.mark.desktop
def test_a_marked_test_may_start_them() -> None:
    import shutil

    from playwright.sync_api import BrowserType

    from envs.browser.discover import find_browser
    from envs.desktop.xvfb import Xvfb

    assert find_browser() != GUARD_BROWSER
    assert BrowserType.launch.__module__.startswith("playwright")
    assert Xvfb.start.__module__ == "envs.desktop.xvfb"
    assert "tier-shim" not in (shutil.which("Xvfb") or "")


# ---- the marks: found from a test's code, its fixtures and its helpers ---------------------
# Samples for source_marks (never called: a call in a test's source would mark that test).


def _starts_xvfb() -> None:
    from envs.desktop import Xvfb

    Xvfb(10, 10).start()


def _opens_a_site() -> None:
    from envs.browser import BrowserEnv

    BrowserEnv(site="account").close()


def _calls_a_helper_that_opens_a_site() -> None:
    _opens_a_site()


def _makes_a_subclass() -> None:
    _Faulty(site="account")


def _uses_playwright() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        pw.chromium.launch()


def _pure() -> None:
    _calls_nothing_costly()


def _calls_nothing_costly() -> int:
    return len("BrowserEnv")


class _Faulty(BrowserEnv):  # as the fault-injection envs of tests/envs/faults.py do
    pass


def test_marks_are_found_through_helpers_subclasses_and_playwright() -> None:
    assert source_marks(_starts_xvfb) == {"desktop"}
    assert source_marks(_opens_a_site) == {"browser"}
    assert source_marks(_calls_a_helper_that_opens_a_site) == {"browser"}
    assert source_marks(_makes_a_subclass) == {"browser"}
    assert source_marks(_uses_playwright) == {"browser"}
    assert source_marks(_pure) == set()


# ---- the fast tier's selection, as `make test-fast` runs it --------------------------------

FILES = [
    "tests/envs/test_browser.py",
    "tests/envs/test_desktop.py",
    "tests/agent/safety/test_masking.py",
    "tests/agent/safety/test_hostile.py",
    "tests/agent/episode/test_crash.py",
    "tests/model/test_vllm.py",
]
HEAVY = [  # one per way a test gets its tier
    "tests/envs/test_browser.py::test_click",  # a module fixture makes a BrowserEnv
    "tests/envs/test_browser.py::test_targets_found_in_pixels_are_hit[env1]",  # explicit mark
    "tests/agent/safety/test_masking.py::test_static_page_needs_no_second_capture[cdp]",  # a
    # BrowserEnv subclass made in tests/
    "tests/agent/episode/test_crash.py::test_sigkill_mid_run_then_resume_books_the_flight",  #
    # a fixture of tests/agent/conftest.py, which runs the DOM oracle in Chromium
    "tests/envs/test_desktop.py::test_click_lands_on_the_exact_pixel",  # Xvfb in a fixture
    "tests/model/test_vllm.py::test_vllm_image_limit_400_names_the_flag",  # the vLLM servers
    "tests/agent/safety/test_hostile.py::test_gate_never_raises",  # slow
]


def _collect(expr: str) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    proc = subprocess.run([*cmd, "-m", expr, *FILES], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_the_fast_tier_deselects_browser_desktop_vllm_and_slow_tests() -> None:
    assert FAST is not None, "the Makefile defines FAST_TESTS"
    fast = FAST.group(1).strip()
    kept, left = _collect(fast), _collect(f"not ({fast})")
    assert not set(HEAVY) & set(kept)
    assert set(HEAVY) <= set(left)  # they exist: the check above is not vacuous
    assert "tests/model/test_vllm.py::test_connection_refused_says_how_to_start_a_server" in kept
