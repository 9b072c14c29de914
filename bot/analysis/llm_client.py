"""The LLM client seam: one chat completion in, one reply out, over any OpenAI-compatible API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import AnalysisError, RateLimitedError

if TYPE_CHECKING:
    import openai
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

ChatMessage = Mapping[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@dataclass(frozen=True)
class LLMReply:
    """One completion: its text (None when the model sent none) and what it cost."""

    content: str | None
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int
    model: str


class LLMClient(Protocol):
    """Sends one chat completion. Raises AnalysisError / RateLimitedError after its own retries."""

    @property
    def model(self) -> str: ...

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: Mapping[str, Any] | None,
        max_tokens: int,
        temperature: float,
    ) -> LLMReply: ...

    async def prepare(self) -> None:
        """Load the SDK ahead of the first request (no request is made)."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        ...


class OpenAIClient:
    """`LLMClient` over `openai.AsyncOpenAI`; the SDK does the retries (429 Retry-After, 5xx).

    The SDK (half a second of imports) is loaded on the first request, in a worker thread: a
    warm digest, whose analyses are all stored, never loads it."""

    def __init__(self, options: Mapping[str, Any], model: str) -> None:
        self._options = dict(options)
        self._model = model
        self._client: AsyncOpenAI | None = None
        self._loading = asyncio.Lock()

    @classmethod
    def create(
        cls,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> OpenAIClient:
        """The client (no import of the SDK and no I/O until the first request)."""
        options = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
        }
        return cls(options, model)

    async def prepare(self) -> None:
        await self._sdk()

    async def _sdk(self) -> AsyncOpenAI:
        if self._client is None:
            async with self._loading:  # concurrent first requests share one load
                if self._client is None:
                    self._client = await asyncio.to_thread(self._build)
        return self._client

    def _build(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        client = AsyncOpenAI(**self._options)
        # The SDK imports its chat resources on first attribute access (0.4 s): here, in the
        # worker thread, rather than on the event loop inside the first request.
        _ = client.chat.completions
        return client

    @property
    def model(self) -> str:
        return self._model

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: Mapping[str, Any] | None,
        max_tokens: int,
        temperature: float,
    ) -> LLMReply:
        client = await self._sdk()
        import openai  # loaded by _sdk (off the event loop); here for its exception types

        extra: dict[str, Any] = {}
        if response_format is not None:
            extra["response_format"] = dict(response_format)
        try:
            completion = await client.chat.completions.create(
                model=self._model,
                messages=[dict(m) for m in messages],  # type: ignore[misc]
                max_tokens=max_tokens,
                temperature=temperature,
                **extra,
            )
        except openai.RateLimitError as exc:
            raise RateLimitedError("LLM", None, detail=_describe(exc)) from exc
        except openai.APITimeoutError as exc:
            raise AnalysisError("LLM timeout", detail=_describe(exc)) from exc
        except openai.APIConnectionError as exc:
            raise AnalysisError("LLM connection error", detail=_describe(exc)) from exc
        except openai.APIStatusError as exc:
            raise AnalysisError(f"LLM HTTP {exc.status_code}", detail=_describe(exc)) from exc
        except openai.APIResponseValidationError as exc:
            raise AnalysisError("LLM malformed response", detail=_describe(exc)) from exc
        except openai.OpenAIError as exc:
            raise AnalysisError("LLM error", detail=_describe(exc)) from exc
        if not completion.choices:
            raise AnalysisError("LLM empty response", detail="no choices in completion")
        choice = completion.choices[0]
        usage = completion.usage
        return LLMReply(
            content=choice.message.content,
            finish_reason=choice.finish_reason,
            refusal=getattr(choice.message, "refusal", None),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=completion.model or self._model,
        )

    async def aclose(self) -> None:
        if self._client is not None:  # never asked anything: the SDK was never loaded
            await self._client.close()


def _describe(exc: openai.OpenAIError) -> str:
    """For logs: the exception type and message (the SDK never puts the API key in these)."""
    return f"{type(exc).__name__}: {exc}"[:500]
