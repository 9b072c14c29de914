"""Reply handling: robust JSON extraction, validation reasons, grounding of SHAs and PRs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analysis.reply import Grounding, bound_text, extract_json_object, parse_analysis
from bot.errors import AnalysisError

OBJ = {"change_type": "fix", "importance": "low", "summary": "s {with} braces"}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(OBJ),
        "\ufeff" + json.dumps(OBJ),
        f"```json\n{json.dumps(OBJ, indent=2)}\n```",
        f"```\n{json.dumps(OBJ)}\n```",
        f"Sure! Here you go:\n{json.dumps(OBJ)}\nHope this helps {{not json}}.",
        f"{{broken {json.dumps(OBJ)}",
        f"[1, 2] then {json.dumps(OBJ)} and {json.dumps({'x': 1})}",
    ],
)
def test_extracts_the_object(text: str) -> None:
    assert extract_json_object(text) == OBJ


@pytest.mark.parametrize("text", ["", "   ", "no json", "[1, 2, 3]", '"a string"', "{bad: json}"])
def test_no_object(text: str) -> None:
    assert extract_json_object(text) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
prose = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=80)


@settings(max_examples=200, deadline=None)
@given(
    before=prose,
    obj=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    after=st.text(max_size=80),
)
def test_object_in_prose_is_found(before: str, obj: dict[str, object], after: str) -> None:
    found = extract_json_object(f"{before}\n{json.dumps(obj, ensure_ascii=False)}\n{after}")
    assert found == obj or (before.strip() == "" and isinstance(found, dict))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_extractor_never_crashes(text: str) -> None:
    result = extract_json_object(text)
    assert result is None or isinstance(result, dict)


def test_deeply_nested_input_does_not_crash() -> None:
    assert extract_json_object("[" * 100_000) is None
    assert extract_json_object("{" * 100_000) is None


@pytest.mark.parametrize(
    ("content", "finish", "reason"),
    [
        ('{"change_type": "fix"', "length", "truncated"),
        (None, "stop", "empty reply"),
        ("  ", "stop", "empty reply"),
        ("nothing", "stop", "invalid JSON"),
        ('{"change_type": "nope", "importance": "low", "summary": "s"}', "stop", "schema mismatch"),
    ],
)
def test_parse_failures_have_short_reasons(content: str | None, finish: str, reason: str) -> None:
    with pytest.raises(AnalysisError) as info:
        parse_analysis(content, finish)
    assert info.value.user_message == reason
    assert len(str(info.value)) <= 600


def test_schema_mismatch_detail_names_the_field() -> None:
    with pytest.raises(AnalysisError) as info:
        parse_analysis('{"change_type": "nope", "importance": "low", "summary": "s"}', "stop")
    assert "change_type" in str(info.value)


SHA = "00248d85c798c6c4cb84aa5a7ac7685178867219"


def test_grounding_keeps_own_and_mentioned_refs() -> None:
    g = Grounding(shas=[SHA], texts=["Reverts 031a652b93 (#18396)"], prs=[13662])
    text = (
        f"{SHA[:7]} / {SHA} / 031a652 / #13662 / #18396 / "
        "feedbeef12 / #1 / PR #2 / 1234567 / decaded / ab12"
    )
    assert (
        g.clean(text)
        == f"{SHA[:7]} / {SHA} / 031a652 / #13662 / #18396 / / / / 1234567 / decaded / ab12"
    )


def test_bound_text() -> None:
    assert bound_text(None, 10) is None
    assert bound_text("  ", 10) is None
    assert bound_text("a" * 20, 10) == "a" * 9 + "…"
    assert bound_text("a\n\n\n\nb", 10) == "a\n\nb"


def test_complete_object_at_the_length_limit_is_accepted() -> None:
    out = parse_analysis(json.dumps(OBJ), "length")
    assert out.summary == OBJ["summary"]
