"""The versioned prompt templates (bot/analysis/prompts/<version>/*.j2), rendered strictly."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.models import Language

# Part of the analysis cache key: bump it (new directory) whenever a template changes meaning.
PROMPT_VERSION = "v2"
PROMPTS_DIR = Path(__file__).parent / "prompts"

_LANGUAGE_NAMES: dict[str, str] = {"zh": "Simplified Chinese (简体中文)", "en": "English"}


def language_name(language: Language) -> str:
    return _LANGUAGE_NAMES[language]


@lru_cache(maxsize=4)
def _environment(version: str) -> Environment:
    # Prompts are plain text for a model, not HTML: autoescape would corrupt code in patches.
    return Environment(
        loader=FileSystemLoader(PROMPTS_DIR / version),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=False,
    )


def render(name: str, /, **values: object) -> str:
    """Render one template of PROMPT_VERSION; a missing variable is an error, not a blank."""
    return _environment(PROMPT_VERSION).get_template(name).render(**values).strip()
