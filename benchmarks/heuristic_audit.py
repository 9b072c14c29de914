"""`python -m benchmarks.heuristic_audit`: the offline analyzer on a real history, as a reader.

Runs the heuristic over every commit of a window of a real git checkout (the embedded default:
no LLM, no network) and reports what a maintainer would check:
- the distribution of high, medium and low, and how often each importance rule decided;
- summaries: the share that are whole sentences, with no template text, and not cut;
- the most repeated risk and recommendation sentences, with their counts, and the share of
  commits the most repeated one lands on (the target: none on more than 10 %);
- with `--labels`, agreement with a maintainer's labels (a JSON list of {sha, importance,
  confidence}); "sure" labels are reported apart.

    python -m benchmarks.heuristic_audit --repo /path/to/flashinfer \\
        --window 2026-07-23..2026-08-21 --tz Asia/Shanghai --lang zh \\
        --labels labels.json --out /tmp/heuristic.json

The labels file and the mirror stay outside the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.analysis.base import AnalysisContext
from bot.analysis.cleaner import clean_text
from bot.analysis.facts import with_facts
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.config import AppConfig
from bot.filters import CommitFilter
from bot.models import Commit, CommitAnalysis
from bot.repos import RepoResolver
from bot.sources.git import GitSource
from bot.windows import parse_window

TEMPLATE_MARKERS = re.compile(
    r"<!--|- \[[ xX]\]|(?:📌|🔍|🚀|✅|🧪)\s*(?:description|related issues|pull request checklist"
    r"|pre-commit checks|tests)|pull request checklist|thank you for contribut|please make sure"
    r"|pre-commit checks|reviewer notes|summary by coderabbit|co-authored-by|## |### "
    r"|ghstack|\[initial\]|\(base update\)|differential revision|pull request resolved",
    re.IGNORECASE,
)
_ENDS = (".", "!", "?", "。", "！", "？", "”")


async def _commits(repo: str, window: str, tz: str) -> list[Commit]:
    source = GitSource()
    target = RepoResolver(AppConfig()).resolve(repo)
    span = parse_window(window, tz, datetime.now(UTC))
    listed = await source.list_commits(target, span)
    keep = CommitFilter(exclude_authors=("*[bot]", "dependabot*", "github-actions*"))
    commits = []
    for summary in listed:
        if not keep.keeps_summary(summary):
            continue
        commit = await source.get_commit(target, summary.sha)
        if keep.keeps_commit(commit):
            commits.append(with_facts(commit))
    await source.aclose()
    return commits


# A sentence ends at a terminator followed by a space and no lower-case word ("e.g. via",
# "... is undefined" go on), or at a CJK terminator.
_FRAGMENT = re.compile(r"(?<=[.!?。！？])\s+(?![a-z])|(?<=[。！？])")
_ITEM = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)")
_GH_REF = re.compile(
    r"<?https?://github\.com/([\w.-]+/[\w.-]+)/(?:issues|pull)/(\d+)\S*?>?(?=\s|$)"
)
_CLAUSE_END = ".!?。！？:："


def cut_fragments(summary: str, body: str) -> list[str]:
    """Sentences of `summary` that stop inside a longer sentence of the commit's text.

    The cleaned body (wrapped lines rejoined) is the judge of where the author's sentences
    end: a summary sentence found in it with more of the same sentence after it was cut."""
    lines = [" ".join(line.split()) for line in clean_text(body).split("\n") if line.strip()]
    lines = [_GH_REF.sub(r"\1#\2", _MD_LINK.sub(r"\1", line)) for line in lines]
    lines = [_ITEM.sub("", line).replace("**", "").replace("`", "") for line in lines]
    cut: list[str] = []
    for fragment in _FRAGMENT.split(summary.replace("“", " ").replace("”", " ")):
        core = fragment.strip().rstrip(".。").strip().replace("`", "")
        if len(core) < 12:
            continue
        for line in lines:
            index = line.find(core)
            if index < 0:
                continue
            rest = line[index + len(core) :]
            if rest.strip() and rest[0] not in _CLAUSE_END:
                cut.append(core)
            break
    return cut


def _whole(summary: str, body: str) -> bool:
    text = summary.rstrip()
    return text.endswith(_ENDS) and "…" not in text and not cut_fragments(text, body)


def audit(args: argparse.Namespace) -> dict[str, Any]:
    commits = asyncio.run(_commits(args.repo, args.window, args.tz))
    analyzer = HeuristicAnalyzer()
    context = AnalysisContext(language=args.lang)
    analyses: list[tuple[Commit, CommitAnalysis]] = [
        (commit, analyzer.analyze_sync(commit, context)) for commit in commits
    ]
    total = len(analyses)
    levels = Counter(a.importance.value for _, a in analyses)
    rules = Counter(a.provenance.rule or "?" for _, a in analyses)
    risks = Counter(r for _, a in analyses for r in a.risks)
    advice = Counter(r for _, a in analyses for r in a.recommendations)
    templated = [a.sha[:9] for _, a in analyses if TEMPLATE_MARKERS.search(a.summary)]
    cut = [a.sha[:9] for c, a in analyses if not _whole(a.summary, c.body)]
    result: dict[str, Any] = {
        "repo": args.repo,
        "window": args.window,
        "tz": args.tz,
        "language": args.lang,
        "commits": total,
        "importance": dict(levels),
        "rules": dict(rules.most_common()),
        "summaries_with_template_text": len(templated),
        "summaries_not_whole_sentences": len(cut),
        "not_whole_examples": [a.summary for _, a in analyses if a.sha[:9] in cut[:5]],
        "share_whole_and_clean": round(1 - len(set(templated) | set(cut)) / max(1, total), 4),
        "top_risks": risks.most_common(5),
        "top_recommendations": advice.most_common(5),
        "max_risk_share": round(max(risks.values(), default=0) / max(1, total), 4),
        "max_recommendation_share": round(max(advice.values(), default=0) / max(1, total), 4),
        "commits_with_risks": sum(1 for _, a in analyses if a.risks),
        "commits_with_insights": sum(1 for _, a in analyses if not a.insights.empty),
    }
    if args.labels:
        labels = {row["sha"]: row for row in json.loads(Path(args.labels).read_text())}
        agree = sure = sure_agree = 0
        confusion: Counter[str] = Counter()
        for commit, analysis in analyses:
            row = labels.get(commit.sha)
            if row is None:
                continue
            match = row["importance"] == analysis.importance.value
            agree += match
            confusion[f"{row['importance']}->{analysis.importance.value}"] += 1
            if row.get("confidence") == "sure":
                sure += 1
                sure_agree += match
        labelled = sum(confusion.values())
        result["labelled"] = labelled
        result["agreement"] = round(agree / max(1, labelled), 4)
        result["agreement_sure"] = round(sure_agree / max(1, sure), 4)
        result["confusion"] = dict(sorted(confusion.items()))
        result["disagreements"] = [
            {
                "sha": c.sha[:9],
                "title": c.title[:90],
                "label": labels[c.sha]["importance"],
                "ours": a.importance.value,
                "rule": a.provenance.rule,
            }
            for c, a in analyses
            if c.sha in labels and labels[c.sha]["importance"] != a.importance.value
        ]
    if args.samples:
        result["samples"] = [
            {
                "sha": c.sha[:9],
                "title": c.title[:90],
                "importance": a.importance.value,
                "rule": a.provenance.rule,
                "summary": a.summary,
                "risks": list(a.risks),
                "recommendations": list(a.recommendations),
                "insights": dict(a.insights.items()),
            }
            for c, a in analyses
        ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--repo", required=True, help="a local git checkout or mirror")
    parser.add_argument("--window", required=True, help="YYYY-MM-DD, A..B or Nd")
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    parser.add_argument("--labels", type=Path, help="a maintainer's labels (JSON)")
    parser.add_argument("--samples", action="store_true", help="include every analysis")
    parser.add_argument("--out", type=Path, help="write the full report as JSON here")
    args = parser.parse_args(argv)
    result = audit(args)
    shown = {k: v for k, v in result.items() if k not in ("disagreements", "samples")}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
