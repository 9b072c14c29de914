"""Prompt templates: versioned files, rendered strictly, shipped as package data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.analysis.prompt_templates import PROMPT_VERSION, PROMPTS_DIR, language_name, render


def test_version_directory_has_the_templates() -> None:
    names = sorted(p.name for p in (PROMPTS_DIR / PROMPT_VERSION).glob("*.j2"))
    assert names == [
        "answer_system.j2",
        "answer_user.j2",
        "map_system.j2",
        "map_user.j2",
        "overview.j2",
        "system.j2",
        "user.j2",
    ]


def test_missing_variable_is_an_error() -> None:
    with pytest.raises(UndefinedError):
        render("system.j2", language="en", mode="prompt", depth="deep", reduce=False)


@pytest.mark.parametrize("depth", ["short", "standard", "deep"])
@pytest.mark.parametrize("mode", ["json_schema", "json_object", "prompt"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_system_prompt_renders(mode: str, language: str, depth: str) -> None:
    text = render(
        "system.j2",
        language=language,
        mode=mode,
        schema_json='{"S": 1}',
        depth=depth,
        reduce=False,
    )
    assert ('{"S": 1}' in text) is (mode != "json_schema")
    assert ("简体中文" in text) is (language == "zh")
    assert "never" in text.lower()
    assert ("2-4 points" in text) is (depth == "deep")
    assert ("patch is not included" in text) is (depth == "short")


def test_language_names() -> None:
    assert language_name("zh").startswith("Simplified Chinese")
    assert language_name("en") == "English"


def test_templates_are_package_data() -> None:
    pyproject = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["bot.analysis"]
    rel = (PROMPTS_DIR / PROMPT_VERSION / "user.j2").relative_to(PROMPTS_DIR.parent).as_posix()
    assert any(Path(rel).match(g) or g == "prompts/**/*.j2" for g in globs)
