"""The LLM's output schema, in code: pydantic models, enum synonyms and the strict JSON schema."""

from __future__ import annotations

import copy
import functools
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from bot.models import ChangeType, Importance

SCHEMA_NAME = "commit_analysis"

# Bounds on what the model may put in a card: its output is untrusted and formatters have limits.
MAX_SUMMARY_CHARS = 1600
MAX_DETAIL_CHARS = 80  # the change-type detail
MAX_POINT_CHARS = 400  # one insight point
MAX_POINTS = 4  # per insight dimension
MAX_INSIGHT_CHARS = MAX_POINTS * (MAX_POINT_CHARS + 3)
MAX_ITEM_CHARS = 600  # one risk or recommendation (title and text)
MAX_TITLE_CHARS = 60  # a risk's title, a recommendation's area
MAX_ITEMS = 8
MAX_SCOPE_ITEMS = 12
MAX_SCOPE_CHARS = 200
MAX_NOTE_CHARS = 200  # a scope entry's note
MAX_CLOSING_CHARS = 500
MAX_OVERVIEW_CHARS = 900

# Values models commonly produce instead of our enum values, mapped before validation fails.
_CHANGE_TYPE_SYNONYMS: dict[str, ChangeType] = {
    **{t.value: t for t in ChangeType},
    "feat": ChangeType.FEATURE,
    "features": ChangeType.FEATURE,
    "enhancement": ChangeType.FEATURE,
    "new feature": ChangeType.FEATURE,
    "improvement": ChangeType.FEATURE,
    "功能": ChangeType.FEATURE,
    "功能增强": ChangeType.FEATURE,
    "新功能": ChangeType.FEATURE,
    "bugfix": ChangeType.FIX,
    "bug fix": ChangeType.FIX,
    "bug": ChangeType.FIX,
    "hotfix": ChangeType.FIX,
    "fixes": ChangeType.FIX,
    "修复": ChangeType.FIX,
    "bug 修复": ChangeType.FIX,
    "bug修复": ChangeType.FIX,
    "refactoring": ChangeType.REFACTOR,
    "重构": ChangeType.REFACTOR,
    "代码重构": ChangeType.REFACTOR,
    "performance": ChangeType.PERF,
    "optimization": ChangeType.PERF,
    "optimisation": ChangeType.PERF,
    "性能": ChangeType.PERF,
    "性能优化": ChangeType.PERF,
    "doc": ChangeType.DOCS,
    "documentation": ChangeType.DOCS,
    "文档": ChangeType.DOCS,
    "文档更新": ChangeType.DOCS,
    "tests": ChangeType.TEST,
    "testing": ChangeType.TEST,
    "测试": ChangeType.TEST,
    "continuous integration": ChangeType.CI,
    "配置调整": ChangeType.CI,
    "deps": ChangeType.BUILD,
    "dependency": ChangeType.BUILD,
    "dependencies": ChangeType.BUILD,
    "构建": ChangeType.BUILD,
    "构建与依赖": ChangeType.BUILD,
    "maintenance": ChangeType.CHORE,
    "misc": ChangeType.CHORE,
    "style": ChangeType.CHORE,
    "日常维护": ChangeType.CHORE,
    "回滚": ChangeType.REVERT,
    "sec": ChangeType.SECURITY,
    "安全": ChangeType.SECURITY,
    "安全修复": ChangeType.SECURITY,
}

_IMPORTANCE_SYNONYMS: dict[str, Importance] = {
    **{i.value: i for i in Importance},
    "h": Importance.HIGH,
    "critical": Importance.HIGH,
    "major": Importance.HIGH,
    "高": Importance.HIGH,
    "m": Importance.MEDIUM,
    "med": Importance.MEDIUM,
    "moderate": Importance.MEDIUM,
    "normal": Importance.MEDIUM,
    "中": Importance.MEDIUM,
    "l": Importance.LOW,
    "minor": Importance.LOW,
    "trivial": Importance.LOW,
    "低": Importance.LOW,
}

# Emoji, brackets and the like that models wrap around labels ("🔴高", "[feat]", "Fix.").
_LABEL_NOISE = re.compile(r"[\s\[\](){}<>\"'`.,:;!*_#🔴🟡🟢⚡🎯📋]+")


def _normalise_label(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = _LABEL_NOISE.sub(" ", value).strip().lower()
    text = re.sub(r"\s+", " ", text)
    return text.removesuffix("重要度").removesuffix("重要").strip() or value


def map_change_type(value: object) -> object:
    """A ChangeType for a known synonym, else the value unchanged (validation then fails)."""
    key = _normalise_label(value)
    return _CHANGE_TYPE_SYNONYMS.get(key, value) if isinstance(key, str) else value


def map_importance(value: object) -> object:
    """An Importance for a known synonym, else the value unchanged (validation then fails)."""
    key = _normalise_label(value)
    return _IMPORTANCE_SYNONYMS.get(key, value) if isinstance(key, str) else value


class _Out(BaseModel):
    # Lenient about extra keys (some providers add them); strict about the ones we need.
    model_config = ConfigDict(extra="ignore")


def _points(value: object) -> object:
    """An insight given as one string (older prompts, lenient providers) becomes one point."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return value


def _titled(value: object, keys: tuple[str, str]) -> object:
    """ "Title: text" strings (json_object providers often flatten objects) become objects."""
    if not isinstance(value, str):
        return value
    head, colon, rest = value.partition("：") if "：" in value[:80] else value.partition(": ")
    if colon and 0 < len(head) <= MAX_TITLE_CHARS:
        return {keys[0]: head.strip(" *"), keys[1]: rest.strip()}
    return {keys[0]: "", keys[1]: value}


def _scope_list(value: object) -> object:
    if isinstance(value, list):
        return [{"path": v, "note": ""} if isinstance(v, str) else v for v in value]
    return value


def _titled_list(value: object, keys: tuple[str, str]) -> object:
    if isinstance(value, list):
        return [_titled(v, keys) for v in value]
    return value


# Insight points as lenient providers send them: one string becomes one point.
Points = Annotated[list[str], BeforeValidator(_points)]


class InsightsOut(_Out):
    """The six technical-insight dimensions of the reference report: 0-4 points each."""

    architecture: Points = Field(default_factory=list, description="Architecture points.")
    performance: Points = Field(default_factory=list, description="Performance points.")
    security: Points = Field(default_factory=list, description="Security points.")
    maintainability: Points = Field(default_factory=list, description="Maintainability.")
    compatibility: Points = Field(default_factory=list, description="Compatibility points.")
    testing: Points = Field(default_factory=list, description="Test coverage points.")


class ScopeOut(_Out):
    """One impact-scope entry: a path, directory or component, and what changed there."""

    path: str = Field(description="A path or directory from the file list, or a component.")
    note: str = Field(default="", description="What changed there, a few words; may be empty.")


class RiskOut(_Out):
    title: str = Field(default="", description="A short name for the risk (2-8 words).")
    detail: str = Field(description="The risk, grounded in the data.")


class AdviceOut(_Out):
    area: str = Field(default="", description="Where to act (2-6 words).")
    advice: str = Field(description="What to do, concretely.")


# Lists as lenient providers send them: bare strings become entries before validation.
ScopeList = Annotated[list[ScopeOut], BeforeValidator(_scope_list)]
RiskList = Annotated[
    list[RiskOut], BeforeValidator(lambda value: _titled_list(value, ("title", "detail")))
]
AdviceList = Annotated[
    list[AdviceOut], BeforeValidator(lambda value: _titled_list(value, ("area", "advice")))
]


class AnalysisOut(_Out):
    """What the model must return for one commit."""

    change_type: ChangeType = Field(description="The kind of change.")
    change_type_detail: str = Field(
        default="", description="A few words qualifying the type (e.g. the new platform)."
    )
    importance: Importance = Field(
        description="high: new capability, behaviour change or risk for many users; "
        "medium: notable fix or feature of limited reach; low: small, local, docs/CI/tests."
    )
    summary: str = Field(description="What changed and why it matters.")
    scope: ScopeList = Field(default_factory=list)
    insights: InsightsOut = Field(default_factory=InsightsOut)
    risks: RiskList = Field(default_factory=list, description="Concrete, titled risks.")
    recommendations: AdviceList = Field(
        default_factory=list, description="Actionable follow-ups, each with its area."
    )
    closing: str = Field(default="", description="One closing sentence, or empty.")

    @field_validator("change_type", mode="before")
    @classmethod
    def _map_type(cls, value: object) -> object:
        return map_change_type(value)

    @field_validator("importance", mode="before")
    @classmethod
    def _map_importance(cls, value: object) -> object:
        return map_importance(value)

    @field_validator("insights", mode="before")
    @classmethod
    def _no_insights(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("change_type_detail", "closing", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return "" if value is None else value


class PartOut(_Out):
    """What one map call of a map-reduce read returns about its group of files."""

    points: Points = Field(
        default_factory=list, description="Technical facts about this part, with identifiers."
    )
    scope: ScopeList = Field(default_factory=list)
    risks: RiskList = Field(default_factory=list)


class OverviewOut(_Out):
    """The day overview: one short paragraph."""

    overview: str = Field(description="2-4 sentences on the day's highlights.")


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form OpenAI's strict structured outputs accept.

    Strict mode needs every property listed in `required`, `additionalProperties: false`
    on every object, no `$ref`-free-form keywords like `default`, and nullable fields as
    type unions: https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
    """
    raw = model.model_json_schema()
    defs: dict[str, Any] = raw.pop("$defs", {})
    strict: dict[str, Any] = _strictify(raw, defs)
    return strict


def _strictify(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strictify(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _strictify(merged, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default"):
            continue
        out[key] = (
            _strictify(value, defs)
            if key != "properties"
            else {name: _strictify(prop, defs) for name, prop in value.items()}
        )
    any_of = out.get("anyOf")
    if isinstance(any_of, list):
        simple = [branch for branch in any_of if set(branch) <= {"type"}]
        if len(simple) == len(any_of):
            out.pop("anyOf")
            out["type"] = [branch["type"] for branch in any_of]
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    return out


def response_schema_format(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The `response_format` argument for json_schema mode (a fresh copy of a cached one:
    building the schema costs more than a request's other CPU work)."""
    return copy.deepcopy(_response_schema_format(model, name))


@functools.cache
def _response_schema_format(model: type[BaseModel], name: str) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "strict": True, "schema": strict_json_schema(model)},
    }
