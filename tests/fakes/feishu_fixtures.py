"""Pytest fixtures shared by the Feishu test modules: a widget repo, a chat core, the fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from digestbot.wiring import Core
from tests.fakes.chat import build_chat_core
from tests.fakes.feishu_api import FakeFeishuApi
from tests.fakes.feishu_bot import widget_with_origin


@pytest.fixture
def widget(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return tmp_path / "widget", widget_with_origin(tmp_path / "widget")


@pytest.fixture
async def core(tmp_path: Path, widget: tuple[Path, dict[str, str]]) -> AsyncIterator[Core]:
    core = build_chat_core(tmp_path, widget[0])
    yield core
    await core.aclose()


@pytest.fixture
def fake() -> Iterator[FakeFeishuApi]:
    with FakeFeishuApi() as api:
        yield api
