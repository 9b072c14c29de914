"""The fake model's side: realistic analysis replies, recorded usage, digests made of them.

`LLMRecorder` is the fake OpenAI server's reply factory in the benchmark; `synthetic_digest`
builds a large digest of the same kind of analyses for the renderer benchmark.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from benchmarks.scenarios import BASE_DAY, REPO, busy_day
from bot.analysis.tokens import TokenCounter, default_counter
from bot.models import (
    AnalysisProvenance,
    ChangeType,
    CommitAnalysis,
    CommitSummary,
    Digest,
    DigestItem,
    DigestProvenance,
    DigestStats,
    Importance,
    Insights,
    Window,
)
from tests.fakes.openai_server import Scripted, sample_analysis


@dataclass(frozen=True)
class LLMCall:
    kind: str  # "analysis" | "short" | "overview" | "other"
    prompt_tokens: int
    completion_tokens: int


@dataclass
class LLMRecorder:
    """The fake OpenAI's `default` reply factory: realistic answers, usage recorded per call.

    Usage is counted with digestbot's own counter, so input tokens are in the units its budget
    is enforced in. Importance is drawn from a hash of the prompt: about 15 % high, 40 %
    medium, 45 % low; triaged ("short") prompts get a one-line low answer.
    """

    counter: TokenCounter = field(default_factory=default_counter)
    calls: list[LLMCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: dict[str, Any]) -> Scripted:
        messages = body.get("messages", [])
        prompt = "\n".join(str(m.get("content", "")) for m in messages)
        fmt = body.get("response_format") or {}
        name = (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, dict) else None
        if name == "day_overview":
            kind, content = "overview", json.dumps({"overview": OVERVIEW_TEXT})
        else:
            short = "patch is not included" in str(messages[0].get("content", ""))
            kind = "short" if short else ("analysis" if name else "other")
            content = json.dumps(analysis_payload(prompt, short=short))
        call = LLMCall(kind, self.counter.count(prompt), self.counter.count(content))
        with self._lock:
            self.calls.append(call)
        return Scripted(
            content=content,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
        )

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def snapshot(self) -> list[LLMCall]:
        with self._lock:
            return list(self.calls)


OVERVIEW_TEXT = (
    "The day brings new attention and MoE features, several correctness fixes in the scheduler "
    "and KV cache, and one very large kernel import. Most other commits are tests, docs and CI."
)
_SENTENCE = (
    "The change reworks `{a}` handling in the `{b}` path and keeps the existing backends "
    "compatible, which matters for every deployment that enables it."
)
_SHA_IN_PROMPT = re.compile(r"\b[0-9a-f]{40}\b")
_DIMENSIONS = (
    "architecture",
    "performance",
    "security",
    "maintainability",
    "compatibility",
    "testing",
)


def analysis_payload(prompt: str, *, short: bool = False) -> dict[str, Any]:
    """A schema-valid analysis that depends only on the commit (the first full SHA in `prompt`,
    else the whole prompt): about 15 % high, 40 % medium, 45 % low; full analyses carry
    insights, risks and recommendations, triaged ("short") ones a single low line."""
    if short:
        payload = sample_analysis(
            change_type="docs", importance="low", summary="Routine docs, CI or version update."
        )
        payload["insights"] = dict.fromkeys(payload["insights"])
        return payload
    match = _SHA_IN_PROMPT.search(prompt)
    seed = match.group() if match else prompt
    digest = hashlib.sha256(seed.encode("utf-8", "replace")).digest()
    roll = digest[0] % 100
    importance = "high" if roll < 15 else "medium" if roll < 55 else "low"
    change_type = ("feature", "fix", "refactor", "perf")[digest[1] % 4]
    sentence = _SENTENCE.format(a=f"batch_{digest[2]}", b=f"runner_{digest[3]}")
    full = importance != "low"
    return sample_analysis(
        change_type=change_type,
        importance=importance,
        summary=" ".join([sentence] * (3 if full else 1)),
        insights={
            name: (sentence if full and digest[4 + i] % 3 else None)
            for i, name in enumerate(_DIMENSIONS)
        },
        risks=[sentence] * (2 if importance == "high" else 0),
        recommendations=[sentence] * (2 if full else 0),
    )


def synthetic_digest(count: int, *, seed: int) -> Digest:
    """A digest of `count` commits of busy days with model-like analyses (for the renderers)."""
    items = []
    specs = [
        spec
        for day in range(-(-count // 200))
        for spec in busy_day(
            min(200, count - day * 200), seed=seed + day, day=BASE_DAY + timedelta(days=day)
        )
    ]
    for spec in specs:
        payload = analysis_payload(spec.sha)
        analysis = CommitAnalysis(
            sha=spec.sha,
            change_type=ChangeType(payload["change_type"]),
            importance=Importance(payload["importance"]),
            summary=payload["summary"],
            scope=tuple(sorted({f.filename.rsplit("/", 1)[0] for f in spec.files}))[:3],
            insights=Insights(**payload["insights"]),
            risks=tuple(payload["risks"]),
            recommendations=tuple(payload["recommendations"]),
            provenance=AnalysisProvenance(
                analyzer="llm", model="bench-model", prompt_version="v1", language="en"
            ),
        )
        title = spec.message.split("\n", 1)[0]
        items.append(
            DigestItem(
                commit=CommitSummary(
                    repo=REPO,
                    sha=spec.sha,
                    title=title,
                    author=spec.author,
                    author_login=spec.login,
                    committed_at=spec.committed_at,
                    url=f"https://github.com/{REPO}/commit/{spec.sha}",
                ),
                pr_number=spec.pull.number if spec.pull else None,
                pr_url=f"https://github.com/{REPO}/pull/{spec.pull.number}" if spec.pull else None,
                files_changed=len(spec.files),
                additions=sum(f.additions for f in spec.files),
                deletions=sum(f.deletions for f in spec.files),
                analysis=analysis,
            )
        )
    items.sort(key=lambda i: (i.analysis.importance.rank, -i.commit.committed_at.timestamp()))
    counts = {imp: sum(1 for i in items if i.analysis.importance is imp) for imp in Importance}
    last = BASE_DAY + timedelta(days=max(1, -(-count // 200)))
    return Digest(
        repo=REPO,
        repo_url=f"https://github.com/{REPO}",
        window=Window(start=BASE_DAY, end=last, tz="UTC", label="bench"),
        language="en",
        items=tuple(items),
        stats=DigestStats(
            total=len(items),
            high=counts[Importance.HIGH],
            medium=counts[Importance.MEDIUM],
            low=counts[Importance.LOW],
        ),
        overview=OVERVIEW_TEXT,
        provenance=DigestProvenance(
            generated_at=last, analyzers=("llm",), model="bench-model", llm_analyses=len(items)
        ),
    )
