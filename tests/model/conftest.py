"""Fixtures for the real vLLM tests: see vllm_servers.py (started in the background once
collection shows which tests will run)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.model.vllm_servers import (
    CAPPED,
    DYING,
    VENV,
    VLLM_FAMILIES,
    Servers,
    servers,
    stop_all,
)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start what the selected tests will need, in the order they need it."""
    if session.config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # under xdist every worker collects every test: each starts what it uses
    wanted: list[str] = []
    for item in session.items:
        names = getattr(item, "fixturenames", ())
        need = [*VLLM_FAMILIES] if "vllm_servers" in names else []
        need += [DYING] if "dying_server" in names else []
        need += [VENV] if "vllm_venv" in names else []
        need += ["qwen2-vl", CAPPED] if "capped_servers" in names else []
        wanted += [n for n in need if n not in wanted]
    if wanted:
        servers().prestart(wanted)


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_all()


@pytest.fixture(scope="session")
def vllm_servers() -> Iterator[Servers]:
    yield servers()


@pytest.fixture
def dying_server() -> Iterator[Any]:
    """A server that answers /health, then dies on its first generation (HTTP 500)."""
    server = servers().get(DYING)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def capped_servers() -> tuple[Any, Any]:
    """(the session's qwen2-vl server, the same checkpoint behind a resampling server)."""
    return servers().get("qwen2-vl"), servers().get(CAPPED)


@pytest.fixture(scope="session")
def vllm_venv() -> Path:
    return servers().venv()
