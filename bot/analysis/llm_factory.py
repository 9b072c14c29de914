"""Builds the one LLM client and what uses it (the analyzer, the thread answerer) from settings."""

from __future__ import annotations

from bot.analysis.answers import LLMAnswerer
from bot.analysis.depth import DepthBudgets, DepthPlanner
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.analysis.llm import LLMAnalyzer
from bot.analysis.llm_client import LLMClient, OpenAIClient
from bot.analysis.tokens import LazyCounter
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


def build_llm_client(
    settings: Settings, *, timeout: float | None = None, max_retries: int | None = None
) -> OpenAIClient:
    """The client of the configured endpoint (the process builds one and shares it); a missing
    or empty key is a configuration error. `timeout`/`max_retries` override the settings."""
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        raise ConfigError("OPENAI_API_KEY is not set.")
    return OpenAIClient.create(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout if timeout is None else timeout,
        max_retries=settings.llm_max_retries if max_retries is None else max_retries,
    )


def build_llm_analyzer(
    settings: Settings, client: LLMClient, heuristic: HeuristicAnalyzer
) -> LLMAnalyzer:
    """`LLMAnalyzer` over `client`, falling back to (and planned by) `heuristic`."""
    return LLMAnalyzer(
        client,
        fallback=heuristic,
        planner=DepthPlanner(depth_budgets(settings), heuristic.classify),
        model=settings.llm_model,
        structured_mode=settings.llm_structured_mode,
        concurrency=settings.llm_concurrency,
        triage_mode=settings.llm_triage,
        counter=LazyCounter(),
    )


def build_answerer(settings: Settings, client: LLMClient) -> LLMAnswerer:
    """The thread-question answerer over `client`, within the standard input budget."""
    return LLMAnswerer(client, counter=LazyCounter(), input_budget=settings.llm_input_token_budget)
