"""The settings-driven factory wires the client, the analyzer, triage and the fallback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.analysis.base import AnalysisContext
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.analysis.llm_factory import build_answerer, build_llm_analyzer, build_llm_client
from bot.analysis.prompt_templates import PROMPT_VERSION
from bot.config import Settings
from bot.errors import ConfigError
from bot.models import Commit, FileChange
from tests.fakes.openai_server import FakeOpenAI, sample_analysis, valid


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def docs_commit() -> Commit:
    return Commit(
        repo="o/r",
        sha="f600965b0ee2251558718c9e559fe6585b7b0e42",
        title="docs: fix typo",
        message="docs: fix typo",
        author="dev",
        committed_at=datetime(2026, 2, 8, tzinfo=UTC),
        files=(
            FileChange(path="README.md", additions=1, deletions=1, patch="@@ -1 +1 @@\n-a\n+b"),
        ),
    )


async def test_factory_uses_settings() -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(valid(sample_analysis()))
        configured = settings(
            openai_api_key="sk-canary-factory",
            openai_base_url=fake.base_url,
            llm_model="qwen-plus",
            llm_structured_mode="json_object",
            llm_max_output_tokens=777,
            llm_triage="heuristic",
            llm_max_retries=0,
        )
        client = build_llm_client(configured)
        analyzer = build_llm_analyzer(configured, client, HeuristicAnalyzer())
        assert analyzer.cache_id == ("qwen-plus", PROMPT_VERSION)
        triaged = await analyzer.analyze(docs_commit(), AnalysisContext())
        assert triaged.provenance.triaged and fake.requests == []
        code = docs_commit().model_copy(
            update={
                "title": "feat: add x",
                "message": "feat: add x",
                "files": (FileChange(path="src/x.py", additions=90, patch="@@ -0,0 +1 @@\n+x"),),
            }
        )
        result = await analyzer.analyze(code, AnalysisContext())
        assert result.provenance.analyzer == "llm"
        body = fake.requests[0]
        assert (body["model"], body["max_tokens"]) == ("qwen-plus", 777)
        assert body["response_format"] == {"type": "json_object"}
        # The thread answerer is built over the same client: one client per process.
        answerer = build_answerer(configured, client)
        assert answerer._client is client
        await client.aclose()


def test_factory_needs_a_key() -> None:
    with pytest.raises(ConfigError):
        build_llm_client(settings())
