"""The LLM day overview: built from analyses (never patches), bounded, None on any failure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.analysis.heuristic import HeuristicAnalyzer
from bot.analysis.llm import LLMAnalyzer
from bot.analysis.llm_client import OpenAIClient
from bot.config import StructuredMode
from bot.models import (
    AnalysisProvenance,
    ChangeType,
    Commit,
    CommitAnalysis,
    DigestItem,
    FileChange,
    Importance,
)
from tests.fakes.openai_server import FakeOpenAI, http_error, refusal, text, truncated, valid

SECRET_PATCH_LINE = "+PATCH_ONLY_MARKER = 1"


def item_for(commit: Commit, analysis: CommitAnalysis) -> DigestItem:
    return DigestItem(commit=commit.summary(), pr_number=commit.pr_number, analysis=analysis)


def make_item(index: int, importance: Importance, summary: str) -> DigestItem:
    commit = Commit(
        repo="sgl-project/sglang",
        sha=f"{index:07x}" + "b" * 33,
        title=f"feat: change number {index}",
        message=f"feat: change number {index}",
        author="dev",
        committed_at=datetime(2026, 2, 8, tzinfo=UTC),
        files=(
            FileChange(path="src/a.py", additions=1, patch=f"@@ -0,0 +1 @@\n{SECRET_PATCH_LINE}"),
        ),
    )
    analysis = CommitAnalysis(
        sha=commit.sha,
        change_type=ChangeType.FEATURE,
        importance=importance,
        summary=summary,
        provenance=AnalysisProvenance(analyzer="llm"),
    )
    return item_for(commit, analysis)


ITEMS = [
    make_item(1, Importance.HIGH, "Adds Ascend NPU support."),
    make_item(2, Importance.LOW, "Fixes a typo."),
    make_item(3, Importance.MEDIUM, "Speeds up the scheduler."),
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def analyzer_for(fake: FakeOpenAI, mode: StructuredMode = "json_schema") -> LLMAnalyzer:
    client = OpenAIClient.create(
        api_key="sk-canary-overview", model="fake-model", base_url=fake.base_url, max_retries=0
    )
    return LLMAnalyzer(client, fallback=HeuristicAnalyzer(), structured_mode=mode)


async def test_overview_from_analyses(fake: FakeOpenAI) -> None:
    fake.enqueue(valid({"overview": "NPU support landed. The scheduler got faster."}))
    result = await analyzer_for(fake).overview(ITEMS, "en")
    assert result == "NPU support landed. The scheduler got faster."
    body = fake.requests[0]
    assert body["response_format"]["json_schema"]["name"] == "day_overview"
    system, user = (m["content"] for m in body["messages"])
    assert "2-4 sentences" in system and "English" in system
    assert "3 commits: 1 high, 1 medium, 1 low" in user
    # highest importance first, summaries in, patches never
    assert user.index("Adds Ascend NPU support.") < user.index("Speeds up the scheduler.")
    assert user.index("Speeds up the scheduler.") < user.index("Fixes a typo.")
    assert SECRET_PATCH_LINE not in user
    assert "sk-canary" not in str(body)


async def test_overview_in_chinese_is_trimmed_to_four_sentences(fake: FakeOpenAI) -> None:
    fake.enqueue(valid({"overview": "第一句。第二句。第三句。第四句。第五句。"}))
    result = await analyzer_for(fake, "json_object").overview(ITEMS, "zh")
    assert result == "第一句。第二句。第三句。第四句。"
    assert fake.requests[0]["response_format"] == {"type": "json_object"}
    assert "Simplified Chinese" in fake.requests[0]["messages"][0]["content"]


async def test_overview_drops_unknown_shas(fake: FakeOpenAI) -> None:
    fake.enqueue(valid({"overview": "See deadbeef12 and 0000001bbb for details."}))
    result = await analyzer_for(fake).overview(ITEMS, "en")
    assert result == "See and 0000001bbb for details."


@pytest.mark.parametrize(
    "scripted",
    [http_error(500), text("no json here"), truncated(), refusal(), valid({"summary": "x"})],
)
async def test_overview_failure_is_none(fake: FakeOpenAI, scripted: object) -> None:
    fake.enqueue(scripted)  # type: ignore[arg-type]
    assert await analyzer_for(fake).overview(ITEMS, "en") is None
    assert len(fake.requests) == 1  # no retry for the overview


async def test_no_items_no_request(fake: FakeOpenAI) -> None:
    assert await analyzer_for(fake).overview([], "en") is None
    assert fake.requests == []
