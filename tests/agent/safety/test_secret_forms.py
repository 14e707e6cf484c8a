"""A secret is scrubbed in every URL encoding a page or the browser writes (issue 15: a
secret reached steps.jsonl form-encoded in the page URL). Chromium's own encoders are the
oracle: ``encodeURIComponent``, ``encodeURI``, ``URLSearchParams`` (the form encoding)
and ``escape`` of generated values."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.safety.secrets import MIN_LENGTH, Secrets

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ENCODE_JS = """(v) => [encodeURIComponent(v), encodeURI(v),
  new URLSearchParams({k: v}).toString().slice(2),
  new URL('http://h/?q=' + encodeURIComponent(v)).searchParams.toString().slice(2)]"""

VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    min_size=MIN_LENGTH,
    max_size=24,
).filter(lambda v: v.strip() == v and "{{" not in v)


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        pg = browser.new_page()
        pg.goto("about:blank")
        yield pg
        browser.close()


@settings(max_examples=60, deadline=None)
@given(value=VALUES)
def test_every_browser_encoding_of_a_secret_is_scrubbed(page, value: str) -> None:
    secrets = Secrets({"pw": value})
    for encoded in page.evaluate(ENCODE_JS, value):  # type: ignore[attr-defined]
        line = f"http://127.0.0.1/#/done?password={encoded}&next=1"
        scrubbed = secrets.scrub_text(line)
        assert "{{secret:pw}}" in scrubbed, (value, encoded)
        assert encoded not in scrubbed or encoded == "{{secret:pw}}"


def test_a_typical_password_in_a_form_post_url() -> None:
    secrets = Secrets({"password": "demo 123!*"})
    for text in ("demo+123%21*", "demo%20123!*", "demo%20123%21%2A", "demo%20123%21%2a"):
        assert secrets.scrub_text(f"/login?p={text}") == "/login?p={{secret:password}}", text
