"""Builds the LLM analyzer from settings (called by the composition root when a key is set)."""

from __future__ import annotations

from bot.analysis.answers import LLMAnswerer
from bot.analysis.depth import DepthBudgets, DepthPlanner
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.analysis.llm import LLMAnalyzer
from bot.analysis.llm_client import OpenAIClient
from bot.analysis.tokens import default_counter
from bot.config import Settings
from bot.errors import ConfigError


def depth_budgets(settings: Settings) -> DepthBudgets:
    """The per-depth token budgets the settings ask for."""
    return DepthBudgets(
        standard_input=settings.llm_input_token_budget,
        standard_output=settings.llm_max_output_tokens,
        deep_input=max(settings.llm_deep_input_token_budget, settings.llm_input_token_budget),
        deep_output=max(settings.llm_deep_max_output_tokens, settings.llm_max_output_tokens),
        map_calls=settings.llm_map_max_calls,
    )


def _client(settings: Settings) -> OpenAIClient:
    """A client of the configured endpoint; a missing or empty key is a configuration error."""
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        raise ConfigError("OPENAI_API_KEY is not set.")
    return OpenAIClient.create(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )


def build_llm_analyzer(settings: Settings, heuristic: HeuristicAnalyzer) -> LLMAnalyzer:
    """`LLMAnalyzer` over the configured endpoint, falling back to (and planned by) `heuristic`."""
    client = _client(settings)
    return LLMAnalyzer(
        client,
        fallback=heuristic,
        planner=DepthPlanner(depth_budgets(settings), heuristic.classify),
        model=settings.llm_model,
        structured_mode=settings.llm_structured_mode,
        concurrency=settings.llm_concurrency,
        triage_mode=settings.llm_triage,
        counter=default_counter(),
    )


def build_answerer(settings: Settings) -> tuple[LLMAnswerer, OpenAIClient] | None:
    """The thread-question answerer when an API key is set (with its client, to close)."""
    if not settings.llm_enabled:
        return None
    client = _client(settings)
    answerer = LLMAnswerer(
        client, counter=default_counter(), input_budget=settings.llm_input_token_budget
    )
    return answerer, client
