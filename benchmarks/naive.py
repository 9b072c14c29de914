"""The naive baseline: what a simple digest script does, against the same fake servers.

Sequential, no cache, no triage, no filters: list the day's commits with PyGithub, and for each
one read its files (one call chain per commit: the detail, then further file pages), join the
whole diff and send it with the message in one chat completion through the `openai` client,
cut only to fit the model's context (128k tokens, counted with digestbot's own counter so the
figures are comparable). Then print one line per commit, grouped by the model's importance.

Two choices are in the baseline's favour and say so: PyGithub's default 0.25 s pause between
requests is switched off (the comparison credits only concurrency, caching and triage), and
the script makes no day-overview call.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

from github import Auth, Github
from openai import OpenAI

from bot.analysis.tokens import TokenCounter, default_counter

CONTEXT_TOKENS = 128_000
OUTPUT_TOKENS = 1_500
SYSTEM = (
    "You review one git commit. Answer with a JSON object: "
    '{"change_type": "...", "importance": "high|medium|low", "summary": "..."}.'
)


@dataclass
class NaiveResult:
    commits: int
    prompt_tokens: int
    completion_tokens: int
    max_prompt_tokens: int
    seconds: float
    markdown: str


def cap_to_tokens(text: str, limit: int, counter: TokenCounter) -> str:
    """The longest prefix (cut by ratio, a few passes) whose count is within `limit`."""
    text = text[: limit * 8]
    while text and counter.count(text) > limit:
        text = text[: int(len(text) * 0.9)]
    return text


def run_naive(
    *,
    github_url: str,
    openai_url: str,
    repo: str,
    since: datetime,
    until: datetime,
    model: str = "bench-model",
    counter: TokenCounter | None = None,
) -> NaiveResult:
    """The script, timed from the client construction to the printed digest."""
    counter = counter or default_counter()
    started = time.perf_counter()
    gh = Github(
        auth=Auth.Token("bench-token"),
        base_url=github_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    llm = OpenAI(api_key="sk-bench", base_url=openai_url, max_retries=2)
    lines: dict[str, list[str]] = {"high": [], "medium": [], "low": []}
    prompt_tokens = completion_tokens = max_prompt = commits = 0
    try:
        gh_repo = gh.get_repo(repo)
        for commit in gh_repo.get_commits(since=since, until=until):
            if commit.commit.committer.date >= until:  # `until` is inclusive on GitHub
                continue
            commits += 1
            message = commit.commit.message
            diff = "\n".join(f"--- {f.filename}\n{f.patch}" for f in commit.files if f.patch)
            room = CONTEXT_TOKENS - OUTPUT_TOKENS - counter.count(SYSTEM) - 200
            user = cap_to_tokens(f"Commit message:\n{message}\n\nDiff:\n{diff}", room, counter)
            reply = llm.chat.completions.create(
                model=model,
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
                max_tokens=OUTPUT_TOKENS,
            )
            if reply.usage is not None:
                prompt_tokens += reply.usage.prompt_tokens
                completion_tokens += reply.usage.completion_tokens
                max_prompt = max(max_prompt, reply.usage.prompt_tokens)
            importance, summary = _parse(reply.choices[0].message.content or "")
            title = message.split("\n", 1)[0]
            lines[importance].append(f"- `{commit.sha[:7]}` {title}: {summary}")
    finally:
        gh.close()
        llm.close()
    markdown = "\n".join(
        f"## {level} ({len(entries)})\n" + "\n".join(entries) for level, entries in lines.items()
    )
    return NaiveResult(
        commits=commits,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        max_prompt_tokens=max_prompt,
        seconds=time.perf_counter() - started,
        markdown=markdown,
    )


def _parse(content: str) -> tuple[str, str]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        return "low", content[:200]
    if not isinstance(data, dict):
        return "low", content[:200]
    importance = str(data.get("importance", "low"))
    return (importance if importance in ("high", "medium") else "low"), str(
        data.get("summary", "")
    )[:200]
