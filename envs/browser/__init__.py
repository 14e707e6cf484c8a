"""The browser env: Chromium through Playwright, at native resolution."""

from envs.browser.discover import find_browser
from envs.browser.env import BrowserEnv
from envs.browser.keys import to_playwright
from envs.browser.urls import normalize_url

__all__ = ["BrowserEnv", "find_browser", "normalize_url", "to_playwright"]
