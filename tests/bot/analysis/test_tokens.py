"""Token counting: never downloads an encoding; the estimate's invariants hold."""

from __future__ import annotations

import functools
import hashlib
import socket
from pathlib import Path

import pytest
import tiktoken
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


def test_default_counter_is_the_packaged_o200k_encoding_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # nothing cached: the package serves
    counter = default_counter()
    assert isinstance(counter, TiktokenCounter)
    assert counter.name == "o200k_base"
    # The published o200k ids of these strings (tiktoken's own test vectors).
    assert counter.count("hello world") == 2
    assert list(tokens._bundled_encoding("o200k_base").encode_ordinary("hello world")) == [
        24912,
        2375,
    ]


def test_packaged_file_with_a_wrong_hash_falls_back_to_the_estimate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokens._bundled_encoding.cache_clear()
    monkeypatch.setitem(tokens._PUBLISHED, "o200k_base", ("https://x", "0" * 64))
    monkeypatch.setitem(tokens._PUBLISHED, "cl100k_base", ("https://y", "0" * 64))
    try:
        assert tokens.bundled_counter("o200k_base") is None
        assert isinstance(default_counter(), EstimatingCounter)
    finally:
        tokens._bundled_encoding.cache_clear()


def test_the_estimate_overcounts_real_code_where_the_packaged_counter_is_exact() -> None:
    # Why shipping the encoding matters: the estimate wastes about a quarter of every budget.
    source = Path(tokens.__file__).read_text(encoding="utf-8")
    exact = default_counter().count(source)
    assert 1.1 < EstimatingCounter().count(source) / exact < 1.6


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


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_the_kept_core_counts_exactly_as_a_full_tiktoken_encoding(text: str) -> None:
    """Only tiktoken's Rust core is kept (memory); it must encode as the whole Encoding does,
    special-token look-alikes included (ordinary encoding treats them as text)."""
    full = _full_o200k()
    sample = f"{text} <|endoftext|> def f(x):\n    return x  # 注释 🚀"
    assert tokens._bundled_encoding("o200k_base").encode_ordinary(sample) == list(
        full.encode_ordinary(sample)
    )


@functools.cache
def _full_o200k() -> tiktoken.Encoding:
    return tiktoken.Encoding(**tokens.bundled_spec("o200k_base"))


def test_the_lazy_counter_builds_the_tokenizer_once_on_first_use() -> None:
    """A warm digest never counts, so it never pays for the tokenizer; threads share one."""
    import threading

    from bot.analysis.tokens import EstimatingCounter, LazyCounter

    built: list[int] = []

    def build() -> EstimatingCounter:
        built.append(1)
        return EstimatingCounter()

    counter = LazyCounter(build)
    assert built == []
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(counter.count("hello world " * 50)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [1]
    assert len(set(results)) == 1 and results[0] == EstimatingCounter().count("hello world " * 50)
    assert counter.name == EstimatingCounter().name
