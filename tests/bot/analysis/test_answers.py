"""Thread answers: the prompt is packed for the question; a failed model never posts junk."""

from __future__ import annotations

import pytest

from bot.analysis.answers import (
    LLMAnswerer,
    question_terms,
    stored_answer,
    usable_reply,
)
from bot.analysis.llm_client import OpenAIClient
from bot.analysis.tokens import default_counter
from bot.errors import AnalysisError
from bot.models import (
    AnalysisProvenance,
    ChangeType,
    CommitAnalysis,
    DigestItem,
    Importance,
    Insights,
)
from tests.data.real_commits import load
from tests.fakes.openai_server import FakeOpenAI, Scripted, http_error, text

COMMIT = load("d898ed046b6d")
ANALYSIS = CommitAnalysis(
    sha=COMMIT.sha,
    change_type=ChangeType.FIX,
    importance=Importance.MEDIUM,
    summary="Fixes empty-KV rows in the TRTLLM ragged prefill.",
    insights=Insights(performance="• Compaction adds a gather.", compatibility="• New params."),
    risks=("Signature change: callers passing positionals may break.",),
    recommendations=("Tests: cover the CPU length mirrors.",),
    provenance=AnalysisProvenance(analyzer="llm", model="m", language="en"),
)
ITEM = DigestItem(commit=COMMIT.summary(), analysis=ANALYSIS)


def answerer(llm: FakeOpenAI, budget: int = 3000) -> tuple[LLMAnswerer, OpenAIClient]:
    client = OpenAIClient.create(api_key="sk-t", model="m", base_url=llm.base_url, max_retries=0)
    return (
        LLMAnswerer(client, counter=default_counter(), input_budget=budget, token=lambda: "TK"),
        client,
    )


def test_question_terms_keep_identifiers_paths_and_words() -> None:
    terms = question_terms("why is `kv_seq_lens_cpu` risky in flashinfer/prefill.py for d898ed0?")
    assert {"kv_seq_lens_cpu", "flashinfer/prefill.py", "prefill.py"} <= terms
    assert "d898ed0" not in terms and "why" not in terms and "risky" not in terms


def test_the_prompt_leads_with_what_the_question_names() -> None:
    with FakeOpenAI() as llm:
        built, _ = answerer(llm, budget=2500)
        about_tests = built.build_messages(
            "what does test_trtllm_ragged_kv_stride.py check?", COMMIT, ITEM, "en"
        )
        about_api = built.build_messages("why add q_seq_lens_cpu?", COMMIT, ITEM, "en")
    tests_patch = about_tests[1]["content"].split("patch>>>", 1)[1]
    api_patch = about_api[1]["content"].split("patch>>>", 1)[1]
    assert tests_patch.lstrip().startswith("=== tests/attention/test_trtllm_ragged_kv_stride.py")
    assert api_patch.lstrip().startswith("=== flashinfer/prefill.py")
    assert "q_seq_lens_cpu" in api_patch.split("===", 2)[1]
    facts = about_api[1]["content"].split("change-facts>>>", 1)[1]
    assert facts.split("\n")[2].startswith("- signature of `trtllm_ragged_attention_deepseek`")
    assert default_counter().count("\n".join(m["content"] for m in about_api)) <= 2500


@pytest.mark.parametrize(
    ("content", "finish"),
    [
        ("", "stop"),
        ('{"answer": "x"}', "stop"),
        ("```json\n{}\n```", "stop"),
        ("cut mid", "length"),
    ],
)
def test_broken_replies_are_refused(content: str, finish: str) -> None:
    with pytest.raises(AnalysisError):
        usable_reply(content, finish)


def test_a_reply_cut_at_the_limit_ends_on_its_last_sentence() -> None:
    reply = "The change adds two parameters. Callers are unaffected. It also compa"
    assert usable_reply(reply, "length") == (
        "The change adds two parameters. Callers are unaffected. …"
    )


def test_the_stored_answer_picks_what_the_question_asks() -> None:
    risky = stored_answer("why is d898ed0 risky?", ANALYSIS, "en")
    assert risky.startswith("The model is unavailable")
    assert "Signature change" in risky and "• New params." in risky
    assert "Compaction" not in risky
    speed = stored_answer("会影响性能吗？", ANALYSIS, "zh")
    assert speed.startswith("模型暂时不可用") and "Compaction" in speed


@pytest.mark.parametrize(
    "script",
    [[http_error(500)], [http_error(429)], [text("")], [Scripted(content=None, refusal="no")]],
)
async def test_a_failing_model_is_answered_from_the_analysis(script: list[Scripted]) -> None:
    with FakeOpenAI() as llm:
        llm.enqueue(*script)
        built, client = answerer(llm)
        answer = await built.answer("what are the risks?", COMMIT, ITEM, "en")
        await client.aclose()
    assert not answer.from_model and "Signature change" in answer.text


async def test_a_good_reply_is_posted_as_it_came() -> None:
    with FakeOpenAI() as llm:
        llm.enqueue(text("Two new keyword parameters; existing calls keep working."))
        built, client = answerer(llm)
        answer = await built.answer("does it break callers?", COMMIT, ITEM, "en")
        await client.aclose()
    assert answer.from_model
    assert answer.text == "Two new keyword parameters; existing calls keep working."
