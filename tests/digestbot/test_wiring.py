"""The wiring of the core: which digest language was chosen on purpose (platforms with their own
default, like Feishu reading Chinese, use it only when nothing was chosen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.models import Language
from digestbot.wiring import build_core


@pytest.mark.parametrize(
    ("env", "defaults", "explicit", "default"),
    [
        (None, "", None, "en"),  # nothing chosen: the platform's default applies
        ("en", "", "en", "en"),  # DIGESTBOT_LANG
        (None, 'language = "en"\n', "en", "en"),  # written in the file, even the default value
        (None, 'language = "zh"\n', "zh", "zh"),
        ("en", 'language = "zh"\n', "en", "en"),  # the environment wins over the file
    ],
)
async def test_explicit_language_is_the_environment_then_the_config_file(
    tmp_path: Path, env: Language | None, defaults: str, explicit: Language | None, default: str
) -> None:
    config = tmp_path / "digestbot.toml"
    config.write_text(f'[defaults]\ntimezone = "UTC"\n{defaults}', encoding="utf-8")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite:///{tmp_path / 'bot.sqlite'}", digestbot_lang=env
    )
    core = build_core(settings, config_file=config)
    try:
        assert core.explicit_language() == explicit
        assert core.default_language() == default
    finally:
        await core.aclose()


async def test_one_llm_client_serves_the_analyzer_and_the_thread_answerer(tmp_path: Path) -> None:
    from bot.analysis.llm import LLMAnalyzer
    from digestbot.chat_wiring import build_answerer

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite'}",
        openai_api_key="sk-one-client-0123456789",
        openai_base_url="http://127.0.0.1:9/v1",  # never called
    )
    core = build_core(settings, config_file=None)
    try:
        analyzer = core.service._analyzer
        assert isinstance(analyzer, LLMAnalyzer) and core.llm_client is not None
        assert analyzer._client is core.llm_client
        answerer = build_answerer(core)
        assert answerer is not None and answerer._client is core.llm_client
    finally:
        await core.aclose()
