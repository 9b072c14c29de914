"""The one input cleaner: commit and PR text without templates, bot blocks, trailers or wrapping.

Every reader of commit text goes through it: the LLM prompts, the heuristic's summaries and the
thread answers. What it removes is what a reviewer skips:

- HTML comments (PR templates hide their instructions in them);
- review-bot blocks: the `<!-- This is an auto-generated comment … -->` … `<!-- end of
  auto-generated comment … -->` span (CodeRabbit), and "Summary by <bot>" sections;
- PR-template checklists (task-list items) and the sections that only hold them ("Checklist",
  "Pre-commit Checks", "Before submitting", "Type of change"), template headings ("📌
  Description", "Related Issues", "Motivation", "Test Plan", …; emoji-prefixed ones too) and
  the template's own sentences ("Thank you for contributing…", "please make sure the following
  items are complete");
- trailers (Co-authored-by, Signed-off-by, Differential Revision, …), squash-merge separators
  (`---------`), the squashed work-in-progress lines ("* Update foo.py", "* address review
  comments") and ghstack's lines ("[ghstack-poisoned]", "* [INITIAL] Update", the stack list);
  a Phabricator "Summary:" label (its text stays);
- images and layout-only HTML tags.

Then wrapped prose lines are rejoined (a PR body pasted into a commit is hard-wrapped at ~72
columns, which cut sentences and list items in two), and runs of blank lines collapse.

Guarantees (property-tested): idempotent, never longer than its input, and every fenced code
block of the input is kept verbatim. `commit_text` also drops a PR body that repeats the commit
body (GitHub's squash merge copies one into the other).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import Commit

# A body longer than this is cut before cleaning: the cleaner is linear, but nothing reads
# further than this (the prompt's share of the message is a few thousand tokens).
MAX_INPUT_CHARS = 60_000
# A PR body whose lines are mostly in the commit body already adds nothing.
PR_DUPLICATE_SHARE = 0.8

_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_BOT_BLOCK_RE = re.compile(
    r"<!--\s*This is an auto-generated comment.*?"
    r"(?:<!--\s*end of auto-generated comment[^>]*?-->|\Z)",
    re.DOTALL | re.IGNORECASE,
)
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_HEADING_RE = re.compile(r"^\s{0,3}(?:\*\*|__)([^*_\n]{1,60})(?:\*\*|__)\s*:?\s*$")
_TASK_RE = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\[[ xX]\]")
# A list item's marker ("- ", "* ", "1. ", "2) "); the heuristic strips it from sentences too.
LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_RULE_RE = re.compile(r"^\s{0,3}(?:[-*_=]\s*){3,}$")
_TRAILER_RE = re.compile(
    r"^\s*(?:co-authored-by|signed-off-by|reviewed-by|acked-by|tested-by|reported-by"
    r"|suggested-by|helped-by|reviewed-on|change-id|ghstack-source-id|differential revision"
    r"|pull request resolved|approved-by|cc|reviewed by|reviewers|subscribers|tags|tasks"
    r"|fbshipit-source-id|x-link):\s",
    re.IGNORECASE,
)
_IMAGE_RE = re.compile(r"!\[[^\]\n]{0,300}\]\([^)\s]{0,500}(?:\s+\"[^\"\n]{0,200}\")?\)")
_IMG_TAG_RE = re.compile(r"<img\b[^<>]{0,1000}>", re.IGNORECASE)
_LAYOUT_TAG_RE = re.compile(
    r"</?(?:details|summary|br|p|div|sub|sup|span|hr|picture|source|b|i|em|strong)\b[^<>]{0,200}/?>",
    re.IGNORECASE,
)
_SQUASH_NOISE_RE = re.compile(
    r"^\s*[*-]\s+(?:merge (?:branch|remote-tracking branch|pull request)\b.*"
    r"|update [\w./-]+\.\w+\s*$"
    r"|(?:address(?:ed)?|resolve[ds]?|apply|fix(?:ed)?)\s+(?:the\s+)?"
    r"(?:review|reviewer|pr|code review)"
    r"(?:\s+(?:comments?|feedback|suggestions?))?\s*\.?$"
    r"|(?:fix(?:ed)?\s+)?(?:lint|linting|format|formatting|typos?|pre-commit|precommit|ci|mypy|style)"
    r"(?:\s+(?:fix(?:es)?|issues?|errors?))?\s*\.?$"
    r"|wip\b.*|fmt\s*$|minor(?: fix(?:es)?)?\s*\.?$|nit(?:s)?\s*\.?$|cleanup\s*\.?$|tmp\s*$"
    r"|upd(?:ate)?\s*\.?$|revert\s*\.?$|test\s*\.?$|\.+"
    # ghstack's squashed revisions: "* [INITIAL] Update", "* Update on \"…\"", "* … (base update)"
    r"|(?:\[(?:initial|update)\]\s+)?update(?:\s+on\s+\".*\")?\s*\.?$|.*\(base update\)\s*$)$",
    re.IGNORECASE,
)
# ghstack's own lines: the poison marker, the stack header and its bare PR-number items.
_STACK_RE = re.compile(
    r"^\s*(?:\[ghstack-poisoned\]|stack from \[?ghstack\]?\b.*|[*-]\s+(?:__->__\s+)?#\d+"
    r"|(?:[*-]\s+)?\[(?:initial|update)\]\s+update\b.*|(?:[*-]\s+)?update\s+\(base update\))\s*$",
    re.IGNORECASE,
)
# Phabricator-style "Summary: text": the label goes, the text stays.
_SUMMARY_LABEL_RE = re.compile(r"^\s*summary:\s+(?=\S)", re.IGNORECASE)

# Headings a PR template puts in every body; the heading goes, the author's text under it stays.
_TEMPLATE_HEADINGS = frozenset(
    {
        "description",
        "summary",
        "motivation",
        "modifications",
        "modification",
        "changes",
        "what does this pr do",
        "what this pr does",
        "why",
        "why are these changes needed",
        "purpose",
        "related issues",
        "related issue",
        "related prs",
        "issues",
        "issue",
        "tests",
        "test",
        "testing",
        "test plan",
        "test result",
        "test results",
        "how was this tested",
        "how has this been tested",
        "accuracy test",
        "accuracy tests",
        "benchmark",
        "benchmarks",
        "benchmarking",
        "benchmarking and profiling",
        "performance",
        "reviewer notes",
        "notes for reviewers",
        "additional context",
        "additional notes",
        "other",
        "others",
        "context",
        "details",
        "overview",
        "background",
        "proposed changes",
        "documentation",
        "release notes",
        "changelog",
    }
)
# Sections that only ever hold template checklists and instructions: dropped whole.
_BOILERPLATE_SECTIONS = frozenset(
    {
        "checklist",
        "pull request checklist",
        "pr checklist",
        "pre commit checks",
        "pre-commit checks",
        "before submitting",
        "type of change",
        "types of changes",
        "pr type",
        "submission checklist",
        "contributor checklist",
        "review checklist",
    }
)
_BOT_SECTION_RE = re.compile(
    r"^(?:summary by (?:coderabbit|sourcery|copilot|ellipsis|greptile|qodo|codium)"
    r"|walkthrough|sequence diagram|pre-merge checks|finishing touches|poem"
    r"|ellipsis)",
    re.IGNORECASE,
)
_BOILERPLATE_LINE_RE = re.compile(
    r"thank you for (?:your )?contribut|thanks for (?:your )?contribut"
    r"|please make sure the following items|before we review your pull request"
    r"|if you are unsure about how to set up|see the pre-?commit documentation"
    r"|please (?:describe|provide|explain|link|fill in|fill out)\b"
    r"|describe (?:your|the) changes|provide a (?:brief|short|clear) description"
    r"|this pr(?: template)?(?: was)? auto-?generated|generated (?:by|with) \w+ (?:ai|bot)\b"
    r"|^\s*(?:n/a|none|no|tbd|todo)\s*\.?\s*$",
    re.IGNORECASE,
)
_CJK_RE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _heading_key(text: str) -> str:
    """A heading without emoji, markup and punctuation, lower-cased: "📌 Description:" -> ..."""
    words = re.sub(r"[^\w\s/-]", " ", text, flags=re.UNICODE).replace("_", " ")
    return " ".join(words.lower().split())


def _strip_markup(text: str) -> str:
    text = _BOT_BLOCK_RE.sub("", text)
    text = _COMMENT_RE.sub("", text)
    text = _IMAGE_RE.sub("", text)
    text = _IMG_TAG_RE.sub("", text)
    return _LAYOUT_TAG_RE.sub("", text)


def _segments(text: str) -> list[tuple[bool, list[str]]]:
    """(is_code, lines) runs: fenced code blocks kept apart so nothing touches them."""
    out: list[tuple[bool, list[str]]] = []
    prose: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = _FENCE_RE.match(lines[index])
        if opening:
            marker = opening.group(1)
            close = next(
                (
                    j
                    for j in range(index + 1, len(lines))
                    if lines[j].strip().startswith(marker[0] * len(marker))
                    and not lines[j].strip().strip(marker[0])
                ),
                None,
            )
            if close is not None:
                if prose:
                    out.append((False, prose))
                    prose = []
                out.append((True, lines[index : close + 1]))
                index = close + 1
                continue
        prose.append(lines[index])
        index += 1
    if prose:
        out.append((False, prose))
    return out


def _drop_sections(lines: list[str]) -> list[str]:
    """Template headings, boilerplate and bot sections, task lists, trailers, separators."""
    kept: list[str] = []
    skip_level = 0  # inside a dropped section: its heading level (0 = not skipping)
    for line in lines:
        heading = _HEADING_RE.match(line) or _BOLD_HEADING_RE.match(line)
        if heading:
            level = len(heading.group(1)) if heading.re is _HEADING_RE else 7
            title = heading.group(2) if heading.re is _HEADING_RE else heading.group(1)
            key = _heading_key(title)
            if skip_level and level > skip_level:
                continue
            skip_level = 0
            if key in _BOILERPLATE_SECTIONS or _BOT_SECTION_RE.match(key):
                skip_level = level
                continue
            if key in _TEMPLATE_HEADINGS or not key:
                continue
            kept.append(line)
            continue
        if skip_level:
            continue
        stripped = line.strip()
        if _TASK_RE.match(line) or _TRAILER_RE.match(line) or _RULE_RE.match(line):
            continue
        if _SQUASH_NOISE_RE.match(line) or _STACK_RE.match(line):
            continue
        body = stripped.lstrip(">").strip()
        if body and _BOILERPLATE_LINE_RE.search(body):
            continue
        if stripped.startswith(">") and not body:
            continue
        kept.append(_SUMMARY_LABEL_RE.sub("", line).rstrip())
    return kept


def _joinable(previous: str, line: str) -> bool:
    """Is `line` the wrapped continuation of `previous`?"""
    if not previous.strip() or not line.strip():
        return False
    if _HEADING_RE.match(previous) or _HEADING_RE.match(line):
        return False
    if line.lstrip().startswith(("|", ">", "<")) or previous.lstrip().startswith(("|", ">", "<")):
        return False
    if LIST_ITEM_RE.match(line) or _FENCE_RE.match(line):
        return False
    indent = len(line) - len(line.lstrip())
    previous_indent = len(previous) - len(previous.lstrip())
    if (indent >= 4 or previous_indent >= 4) and not LIST_ITEM_RE.match(previous):
        return False  # an indented code block, unless it continues a list item
    return not previous.endswith(("  ", "\\"))


def _join(previous: str, line: str) -> str:
    tail = line.strip()
    if _CJK_RE.match(tail[:1]) and _CJK_RE.match(previous[-1:]):
        return previous + tail
    return previous + " " + tail


def _rejoin(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and _joinable(out[-1], line):
            out[-1] = _join(out[-1], line)
        else:
            out.append(line.rstrip())
    return out


def _squeeze_blank(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line if line.strip() else "")
    while out and not out[-1].strip():
        out.pop()
    return out


def clean_text(text: str) -> str:
    """`text` as a reviewer would read it: see the module docstring for what goes."""
    text = text[:MAX_INPUT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    for _ in range(20):  # a pass can expose another template line; stop when nothing changes
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def _clean_once(text: str) -> str:
    pieces: list[str] = []
    for is_code, lines in _segments(text):
        if is_code:
            pieces.extend(lines)
            continue
        prose = _strip_markup("\n".join(lines)).split("\n")
        pieces.extend(_rejoin(_drop_sections(prose)))
    return "\n".join(_squeeze_blank(pieces)).strip()


def _normal(line: str) -> str:
    return " ".join(LIST_ITEM_RE.sub("", line).split()).lower().rstrip(".")


def drop_repeated(body: str, other: str) -> str:
    """`other` without what `body` already says: '' when most of its lines are in `body`,
    else only its lines that `body` lacks (order kept)."""
    if not other.strip():
        return ""
    known = {_normal(line) for line in body.split("\n") if line.strip()}
    lines = [line for line in other.split("\n") if line.strip()]
    repeated = sum(1 for line in lines if _normal(line) in known)
    if lines and repeated >= PR_DUPLICATE_SHARE * len(lines):
        return ""
    if not repeated:
        return other
    kept = [line for line in other.split("\n") if not line.strip() or _normal(line) not in known]
    return "\n".join(_squeeze_blank(kept)).strip()


@dataclass(frozen=True)
class CommitText:
    """A commit's words, cleaned: title, body, and the PR's title, labels and new body text."""

    title: str
    body: str
    pr_title: str = ""
    pr_body: str = ""
    pr_labels: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return f"{self.title}\n\n{self.body}".strip() if self.body else self.title


def commit_text(commit: Commit) -> CommitText:
    """The cleaned words of `commit`; a PR body that repeats the commit body is dropped."""
    body = clean_text(commit.body)
    pr = commit.pr
    if pr is None:
        return CommitText(title=commit.title.strip(), body=body)
    pr_body = drop_repeated(body, clean_text(pr.body))
    pr_title = pr.title.strip()
    if _normal(pr_title) == _normal(commit.title) or _normal(pr_title) in _normal(commit.title):
        pr_title = ""
    return CommitText(
        title=commit.title.strip(),
        body=body,
        pr_title=pr_title,
        pr_body=pr_body,
        pr_labels=pr.labels,
    )
