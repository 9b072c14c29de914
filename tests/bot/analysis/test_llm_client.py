"""OpenAIClient against the fake OpenAI server: replies, usage, errors mapped to ours."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bot.analysis.llm_client import OpenAIClient
from bot.errors import AnalysisError, RateLimitedError
from tests.fakes.openai_server import (
    FakeOpenAI,
    Scripted,
    empty,
    http_error,
    refusal,
    sample_analysis,
    slow,
    text,
    truncated,
    valid,
)

CANARY_KEY = "sk-canary-7f3a9c1e5b2d4a6f"
MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hello"}]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def client_for(fake: FakeOpenAI, *, max_retries: int = 0, timeout: float = 5.0) -> OpenAIClient:
    return OpenAIClient.create(
        api_key=CANARY_KEY,
        model="fake-model",
        base_url=fake.base_url,
        timeout=timeout,
        max_retries=max_retries,
    )


async def complete(client: OpenAIClient, response_format: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return await client.complete(
        MESSAGES, response_format=response_format, max_tokens=321, temperature=0.1
    )


async def test_reply_fields_and_usage(fake: FakeOpenAI) -> None:
    fake.enqueue(valid(sample_analysis(), prompt_tokens=120, completion_tokens=45))
    reply = await complete(client_for(fake))
    assert reply.content is not None and '"change_type": "feature"' in reply.content
    assert reply.finish_reason == "stop"
    assert reply.refusal is None
    assert (reply.prompt_tokens, reply.completion_tokens) == (120, 45)
    assert reply.model == "fake-model"


async def test_request_carries_model_limits_and_format(fake: FakeOpenAI) -> None:
    fake.enqueue(text("{}"), text("{}"))
    client = client_for(fake)
    await complete(client, {"type": "json_object"})
    await complete(client, None)
    first, second = fake.requests
    assert first["model"] == "fake-model"
    assert first["max_tokens"] == 321
    assert first["temperature"] == 0.1
    assert first["messages"] == MESSAGES
    assert first["response_format"] == {"type": "json_object"}
    assert "response_format" not in second


async def test_api_key_only_in_authorization_header(fake: FakeOpenAI) -> None:
    fake.enqueue(text("{}"))
    await complete(client_for(fake))
    assert CANARY_KEY not in str(fake.requests[0])
    assert fake.request_headers[0]["authorization"] == f"Bearer {CANARY_KEY}"


@pytest.mark.parametrize(
    ("scripted", "finish", "content", "refused"),
    [
        (truncated('{"a": '), "length", '{"a": ', None),
        (empty(), "stop", None, None),
        (refusal("no"), "stop", None, "no"),
    ],
)
async def test_degenerate_replies_are_returned_not_raised(
    fake: FakeOpenAI, scripted: Scripted, finish: str, content: str | None, refused: str | None
) -> None:
    fake.enqueue(scripted)
    reply = await complete(client_for(fake))
    assert (reply.finish_reason, reply.content, reply.refusal) == (finish, content, refused)


async def test_429_after_retries_is_rate_limited(fake: FakeOpenAI) -> None:
    fake.enqueue(http_error(429, retry_after_ms=5), http_error(429, retry_after_ms=5))
    with pytest.raises(RateLimitedError) as info:
        await complete(client_for(fake, max_retries=1))
    assert len(fake.requests) == 2  # the SDK retried once, honouring retry-after-ms
    assert info.value.service == "LLM"
    assert CANARY_KEY not in info.value.user_message


async def test_429_then_success_is_retried_by_the_sdk(fake: FakeOpenAI) -> None:
    fake.enqueue(http_error(429, retry_after_ms=5), valid(sample_analysis()))
    reply = await complete(client_for(fake, max_retries=2))
    assert reply.content is not None
    assert len(fake.requests) == 2


async def test_500_maps_to_analysis_error(fake: FakeOpenAI) -> None:
    fake.enqueue(http_error(500))
    with pytest.raises(AnalysisError) as info:
        await complete(client_for(fake))
    assert info.value.user_message == "LLM HTTP 500"


async def test_400_is_not_retried(fake: FakeOpenAI) -> None:
    fake.enqueue(http_error(400), http_error(400))
    with pytest.raises(AnalysisError) as info:
        await complete(client_for(fake, max_retries=3))
    assert info.value.user_message == "LLM HTTP 400"
    assert len(fake.requests) == 1


async def test_timeout_maps_to_analysis_error(fake: FakeOpenAI) -> None:
    fake.enqueue(slow(2.0, valid(sample_analysis())))
    with pytest.raises(AnalysisError) as info:
        await complete(client_for(fake, timeout=0.2))
    assert info.value.user_message == "LLM timeout"


async def test_connection_refused_maps_to_analysis_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OpenAIClient.create(
        api_key=CANARY_KEY, model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
    )
    with pytest.raises(AnalysisError) as info:
        await complete(client)
    assert info.value.user_message == "LLM connection error"


async def test_model_property(fake: FakeOpenAI) -> None:
    client = client_for(fake)
    assert client.model == "fake-model"
    await client.aclose()
