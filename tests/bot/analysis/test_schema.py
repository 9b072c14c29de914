"""The output schema: strict JSON schema shape, enum synonyms, lenient optional parts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.analysis.schema import (
    AnalysisOut,
    OverviewOut,
    map_change_type,
    map_importance,
    response_schema_format,
    strict_json_schema,
)
from bot.models import INSIGHT_DIMENSIONS, ChangeType, Importance


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        keys = set(node)
        for name, value in node.items():
            keys |= (
                _keys(value) if name != "properties" else set().union(*map(_keys, value.values()))
            )
        return keys
    if isinstance(node, list):
        return set().union(*map(_keys, node)) if node else set()
    return set()


@pytest.mark.parametrize("model", [AnalysisOut, OverviewOut])
def test_strict_schema_rules(model: type[AnalysisOut] | type[OverviewOut]) -> None:
    schema = strict_json_schema(model)
    objects = _objects(schema)
    assert objects
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert not {"$ref", "$defs", "default", "title", "anyOf"} & _keys(schema)


def test_schema_content() -> None:
    schema = strict_json_schema(AnalysisOut)
    props = schema["properties"]
    assert props["change_type"]["enum"] == [t.value for t in ChangeType]
    assert props["importance"]["enum"] == [i.value for i in Importance]
    insights = props["insights"]["properties"]
    assert tuple(insights) == INSIGHT_DIMENSIONS
    assert all(value["type"] == "array" for value in insights.values())
    assert all(value["items"] == {"type": "string"} for value in insights.values())
    risk = props["risks"]["items"]
    assert risk["required"] == ["title", "detail"] and risk["additionalProperties"] is False
    advice = props["recommendations"]["items"]
    assert advice["required"] == ["area", "advice"]
    assert props["scope"]["items"]["required"] == ["path", "note"]
    assert {"change_type_detail", "closing"} <= set(schema["required"])


def test_response_format_wrapper() -> None:
    fmt = response_schema_format(AnalysisOut, "commit_analysis")
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "commit_analysis"
    assert fmt["json_schema"]["strict"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("feat", ChangeType.FEATURE),
        ("Feature", ChangeType.FEATURE),
        ("[feat]", ChangeType.FEATURE),
        ("功能增强", ChangeType.FEATURE),
        ("bugfix", ChangeType.FIX),
        ("Bug Fix", ChangeType.FIX),
        ("Bug 修复", ChangeType.FIX),
        ("代码重构", ChangeType.REFACTOR),
        ("performance", ChangeType.PERF),
        ("documentation", ChangeType.DOCS),
        ("配置调整", ChangeType.CI),
        ("deps", ChangeType.BUILD),
        ("style", ChangeType.CHORE),
        ("安全修复", ChangeType.SECURITY),
    ],
)
def test_change_type_synonyms(value: str, expected: ChangeType) -> None:
    assert map_change_type(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("HIGH", Importance.HIGH),
        ("🔴高", Importance.HIGH),
        ("高重要度", Importance.HIGH),
        ("critical", Importance.HIGH),
        ("中", Importance.MEDIUM),
        ("🟡 中", Importance.MEDIUM),
        ("moderate", Importance.MEDIUM),
        ("低", Importance.LOW),
        ("minor", Importance.LOW),
    ],
)
def test_importance_synonyms(value: str, expected: Importance) -> None:
    assert map_importance(value) is expected


@pytest.mark.parametrize("value", ["wizardry", "", 3, None])
def test_unknown_values_are_left_for_validation(value: object) -> None:
    assert map_change_type(value) == value
    with pytest.raises(ValidationError):
        AnalysisOut.model_validate({"change_type": value, "importance": "low", "summary": "s"})


def test_optional_parts_default_and_extra_keys_are_ignored() -> None:
    out = AnalysisOut.model_validate(
        {"change_type": "fix", "importance": "low", "summary": "s", "confidence": 0.3}
    )
    assert out.scope == [] and out.risks == [] and out.recommendations == []
    assert out.insights.security == [] and out.closing == "" and out.change_type_detail == ""


def test_flattened_and_older_shapes_are_accepted() -> None:
    out = AnalysisOut.model_validate(
        {
            "change_type": "fix",
            "importance": "low",
            "summary": "s",
            "scope": ["a/b.py"],
            "insights": {"security": "One sentence.", "testing": None},
            "risks": ["Hardware: missing driver.", "no title here"],
            "recommendations": ["测试：补充用例。"],
            "closing": None,
        }
    )
    assert out.scope[0].path == "a/b.py" and out.scope[0].note == ""
    assert out.insights.security == ["One sentence."] and out.insights.testing == []
    assert (out.risks[0].title, out.risks[0].detail) == ("Hardware", "missing driver.")
    assert (out.risks[1].title, out.risks[1].detail) == ("", "no title here")
    assert (out.recommendations[0].area, out.recommendations[0].advice) == ("测试", "补充用例。")
    assert out.closing == ""


def test_summary_is_required() -> None:
    with pytest.raises(ValidationError):
        AnalysisOut.model_validate({"change_type": "fix", "importance": "low"})
