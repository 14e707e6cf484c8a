"""``agent run --model anthropic:…`` etc.: the spec, ``--base-url`` and the settings reach the
hosted backend through the CLI's own resolution (flags > env vars > file)."""

from __future__ import annotations

import argparse

import pytest

from agent.commands.run import _load_model
from agent.core.errors import ConfigError
from agent.core.model import ModelRequest
from tests.model.backends.hosted.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, screenshot


def _args(model: str, base_url: str | None) -> argparse.Namespace:
    return argparse.Namespace(model=model, base_url=base_url, config=None, model_family=None)


@pytest.mark.parametrize("fake_type", [FakeAnthropic, FakeOpenAI, FakeGemini])
def test_the_cli_builds_a_hosted_model_that_talks_to_base_url(
    fake_type: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATIVE_AGENT_API_KEY", "sk-test")
    monkeypatch.setenv("NATIVE_AGENT_TIMEOUT", "7")
    fake = fake_type([fake_type.done("all done")])
    try:
        model, spec = _load_model(_args(f"{fake.prefix}:{fake.model_name}", fake.base_url()))
        assert spec == f"{fake.prefix}:{fake.model_name}"  # not turned into openai:…@URL
        assert model.describe()["base_url"] == fake.base_url()
        assert model.timeout == 7.0  # type: ignore[attr-defined]
        obs = screenshot(1280, 720, (10, 10))
        reply = model.act(ModelRequest("t", obs, model.plan_frame(obs, obs.frame())))
    finally:
        fake.close()
    assert '"finish"' in reply.text and "all done" in reply.text
    assert len(fake.requests) == 1


def test_a_setting_the_hosted_backends_do_not_take_names_its_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NATIVE_AGENT_TEMPERATURE", "0.3")
    with pytest.raises(ConfigError, match="NATIVE_AGENT_TEMPERATURE"):
        _load_model(_args("gemini:gemini-2.5-computer-use", None))


def test_a_missing_vendor_sdk_is_a_config_error_naming_the_extra() -> None:
    from model.backends.hosted.common import sdk

    with pytest.raises(ConfigError, match=r"native-agent\[hosted\]") as info:
        sdk("no_such_vendor_sdk", "gemini")
    assert "gemini backend" in str(info.value)
