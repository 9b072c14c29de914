"""Builds the LLM analyzer from settings (called by the composition root when a key is set)."""

from __future__ import annotations

from bot.analysis.heuristic import HeuristicAnalyzer
from bot.analysis.llm import LLMAnalyzer, confident_trivial
from bot.analysis.llm_client import OpenAIClient
from bot.analysis.tokens import default_counter
from bot.config import Settings
from bot.errors import ConfigError


def build_llm_analyzer(settings: Settings, heuristic: HeuristicAnalyzer) -> LLMAnalyzer:
    """`LLMAnalyzer` over the configured endpoint, falling back to (and triaged by) `heuristic`."""
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        raise ConfigError("OPENAI_API_KEY is not set.")
    client = OpenAIClient.create(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )
    return LLMAnalyzer(
        client,
        fallback=heuristic,
        model=settings.llm_model,
        structured_mode=settings.llm_structured_mode,
        budget=settings.llm_input_token_budget,
        max_output_tokens=settings.llm_max_output_tokens,
        concurrency=settings.llm_concurrency,
        triage=confident_trivial(heuristic.classify),
        triage_mode=settings.llm_triage,
        counter=default_counter(),
    )
