"""Context packing: value order, skipped noise, every file accounted for, budgets never exceeded."""

from __future__ import annotations

import re
import tracemalloc
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis import packing
from bot.analysis.cleaner import commit_text
from bot.analysis.facts import extract_facts, fact_terms, render_facts
from bot.analysis.packing import (
    MAX_LINE_CHARS,
    PackedContext,
    PackRequest,
    pack,
    safe_path,
    truncate_to_tokens,
)
from bot.analysis.paths import PathRoles
from bot.analysis.tokens import EstimatingCounter, default_counter
from bot.models import Commit, FileChange, PullRequest
from tests.data.real_commits import load

COUNTER = EstimatingCounter()
EXACT = default_counter()


def commit_with(files: tuple[FileChange, ...], **kwargs: object) -> Commit:
    values: dict[str, object] = {
        "repo": "o/r",
        "sha": "a" * 40,
        "title": "feat: something",
        "message": "feat: something\n\nLonger explanation.",
        "author": "dev",
        "committed_at": datetime(2026, 2, 8, tzinfo=UTC),
        "files": files,
    }
    values.update(kwargs)
    return Commit.model_validate(values)


def hunk(tag: str, lines: int = 5, sign: str = "+") -> str:
    body = "\n".join(f"{sign}{tag}_line_{i} = {i}" for i in range(lines))
    return f"@@ -1,{lines} +1,{lines} @@\n{body}"


def packed(commit: Commit, available: int, **kwargs: object) -> PackedContext:
    counter = kwargs.pop("counter", COUNTER)
    return pack(
        PackRequest(
            commit=commit,
            text=commit_text(commit),
            available=available,
            counter=counter,  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )
    )


def parts(context: PackedContext) -> list[str]:
    return [context.message, context.pull_request, context.facts, context.files, context.patch]


def test_small_commit_is_sent_whole() -> None:
    files = (
        FileChange(path="src/a.py", additions=5, patch=hunk("a")),
        FileChange(path="tests/test_a.py", additions=5, patch=hunk("t")),
        FileChange(path="logo.png", status="added"),
    )
    context = packed(commit_with(files), 4000)
    cov = context.coverage
    assert (cov.files_total, cov.files_sent, cov.lines_total, cov.lines_sent) == (3, 2, 10, 10)
    assert "Longer explanation." in context.message
    assert "A logo.png (+0 -0)" in context.files
    assert "a_line_4 = 4" in context.patch and "t_line_4 = 4" in context.patch


def test_public_surface_first_even_deletion_only_hunks() -> None:
    """The 750dbfd failure: hunks removing exports and renaming a function went last."""
    surface = (
        "@@ -1,4 +1,1 @@\n-def exported_api(a, b):\n-    return a\n-from .x import gone\n keep()"
    )
    rest = "\n".join(f"+    filler_{i} = compute({i})" for i in range(400))
    files = (
        FileChange(path="src/big.py", additions=400, patch=f"@@ -0,0 +1,400 @@\n{rest}"),
        FileChange(path="src/api.py", deletions=3, patch=surface),
    )
    commit = commit_with(files)
    facts = extract_facts(commit)
    context = packed(commit, 900, fact_terms=fact_terms(facts))
    assert "-def exported_api(a, b):" in context.patch
    assert context.patch.index("=== src/api.py") < context.patch.index("filler_0")


def test_licence_headers_import_only_and_whitespace_hunks_are_skipped() -> None:
    licence = (
        "@@ -0,0 +1,4 @@\n+# Copyright (c) 2026 The Authors.\n"
        "+# SPDX-License-Identifier: Apache-2.0\n"
        "+#\n+# Licensed under the Apache License."
    )
    imports = "@@ -10,2 +10,3 @@\n import os\n+import sys\n+from x import y"
    spaces = "@@ -20,1 +20,1 @@\n-x = 1\n+x =  1"
    code = "@@ -30,1 +30,1 @@\n-    return a\n+    return b"
    files = (
        FileChange(
            path="src/new.py",
            status="added",
            additions=6,
            patch=f"{licence}\n{imports}\n{spaces}\n{code}",
        ),
    )
    context = packed(commit_with(files), 3000)
    assert "Copyright" not in context.patch and "import sys" not in context.patch
    assert "x =  1" not in context.patch
    assert "+    return b" in context.patch
    assert context.skipped_hunks == 3


def test_every_path_kind_packs_and_configured_roles_reorder() -> None:
    """CODEOWNERS (an ownership file) once crashed the file order; `[repos.paths]` core globs
    lift product code that the default rules file under examples/."""
    files = (
        FileChange(path="examples/engine/run.py", additions=5, patch=hunk("ex")),
        FileChange(path="src/a.py", additions=3, patch=hunk("a", 3)),
        FileChange(path=".github/CODEOWNERS", additions=1, patch=hunk("own", 1)),
    )
    plain = packed(commit_with(files), 4000)
    assert plain.patch.index("=== src/a.py") < plain.patch.index("=== examples/engine/run.py")
    assert "own_line_0" in plain.patch
    tuned = packed(commit_with(files), 4000, roles=PathRoles(core=("examples/engine/**",)))
    assert tuned.patch.index("=== examples/engine/run.py") < tuned.patch.index("=== src/a.py")


def test_budget_unused_by_one_file_goes_to_the_next_and_pieces_are_round_robin() -> None:
    files = (
        *(
            FileChange(path=f"src/f{i}.py", additions=300, patch=hunk(f"f{i}", 300))
            for i in range(4)
        ),
        FileChange(path="src/tiny.py", additions=1, patch=hunk("tiny", 1)),
    )
    context = packed(commit_with(files), 3000)
    assert context.coverage.files_sent == 5  # every file got its first piece
    assert "tiny_line_0" in context.patch
    assert context.tokens <= 3000


def test_every_file_is_accounted_for_in_the_list() -> None:
    files = tuple(
        FileChange(path=f"pkg/sub{i % 7}/deep/f{i}.py", additions=i, deletions=1)
        for i in range(2000)
    )
    context = packed(commit_with(files, files_truncated=True), 3000)
    listed = [line for line in context.files.splitlines() if line.startswith("M ")]
    grouped = [line for line in context.files.splitlines() if line.startswith("… ")]
    counted = sum(
        int(line.split("(", 1)[1].split(" ", 1)[0]) for line in grouped if "more files," in line
    )
    assert 0 < len(listed) < 2000 and len(listed) + counted == 2000
    assert "the source stopped listing them" in context.files


def test_renames_that_do_not_fit_their_groups_are_counted_once() -> None:
    renames = tuple(
        FileChange(path=f"new{i}/f{i}.py", previous_path=f"old{i}/f{i}.py", status="renamed")
        for i in range(60)
    )
    edited = tuple(FileChange(path=f"src/e{i}.py", additions=2) for i in range(5))
    context = packed(commit_with((*renames, *edited)), 900)
    text = context.files.splitlines()
    in_groups = sum(
        int(line.split()[1]) for line in text if line.startswith("R ") and "moved" in line
    )
    one_by_one = [line for line in text if line.startswith(("R old", "M "))]
    grouped = sum(
        int(line.split("(", 1)[1].split(" ", 1)[0]) for line in text if "more files," in line
    )
    assert 0 < in_groups < 60  # some groups fit, the rest did not
    assert in_groups + len(one_by_one) + grouped == 65


def test_a_deep_read_spends_its_extra_budget_on_the_surface_only() -> None:
    surface = "\n".join(
        f"@@ -{i},1 +{i},1 @@\n-def api_{i}(a):\n+def api_{i}(a, b):" for i in range(1, 80, 4)
    )
    filler = hunk("filler", 300)
    files = (
        FileChange(path="src/api.py", additions=20, deletions=20, patch=surface),
        FileChange(path="src/filler.py", additions=300, patch=filler),
    )
    context = packed(commit_with(files), 6000, rest_budget=700)
    filler_tokens = COUNTER.count(context.patch.split("=== src/filler.py", 1)[-1])
    assert "-def api_77(a):" in context.patch
    assert filler_tokens < 700


def test_question_terms_pull_their_hunks_ahead() -> None:
    files = (
        *(
            FileChange(path=f"src/m{i}.py", additions=60, patch=hunk(f"m{i}", 60))
            for i in range(20)
        ),
        FileChange(path="src/zz.py", additions=1, patch="@@ -1 +1 @@\n+cache_key = build(x)"),
    )
    context = packed(commit_with(files), 1500, terms={"cache_key"})
    assert "cache_key = build(x)" in context.patch
    assert context.patch.startswith("=== src/zz.py")


def test_long_lines_are_clipped() -> None:
    minified = "@@ -0,0 +1 @@\n+" + "var a=1;" * 5000
    files = (FileChange(path="src/bundle.js", additions=1, patch=minified),)
    context = packed(commit_with(files), 3000)
    assert max(len(line) for line in context.patch.splitlines()) <= MAX_LINE_CHARS + 2


def test_pr_and_message_are_capped_to_their_share() -> None:
    pr = PullRequest(number=7, title="Big PR", body="word " * 50_000, labels=("perf", "ci"))
    commit = commit_with((), message="title\n\n" + "line\n" * 50_000, pr=pr)
    context = packed(commit, 2000)
    assert COUNTER.count(context.message) <= 0.22 * 2000
    assert COUNTER.count(context.pull_request) <= 0.10 * 2000
    assert context.pull_request.startswith("#7 Big PR\nlabels: perf, ci")


def test_scrub_runs_before_counting() -> None:
    files = (FileChange(path="src/TOKEN.py", additions=1, patch="@@ -0,0 +1 @@\n+TOKEN here"),)
    commit = commit_with(files, message="fix TOKEN", pr=PullRequest(number=1, body="TOKEN"))
    context = packed(commit, 2000, scrub=lambda s: s.replace("TOKEN", ""))
    assert all("TOKEN" not in part for part in parts(context))


def test_control_characters_in_paths_cannot_break_lines() -> None:
    assert safe_path("a\nb\rc\u2028d") == "a?b?c?d"
    files = (FileChange(path="evil\nname.py", additions=1, patch="@@ -0,0 +1 @@\n+x = compute()"),)
    context = packed(commit_with(files), 2000)
    assert "evil?name.py" in context.files and "evil?name.py" in context.patch


def test_three_thousand_files_five_megabytes_in_budget_and_bounded_memory() -> None:
    body = "\n".join(f"+    value_{i} = compute(alpha, beta) + {i}" for i in range(60))
    patch = f"@@ -1,60 +1,60 @@\n{body}"
    files = tuple(
        FileChange(path=f"src/pkg{i % 50}/mod{i}.py", additions=60, patch=patch)
        for i in range(3000)
    )
    commit = commit_with(files)
    assert sum(len(f.patch or "") for f in files) > 5_000_000
    tracemalloc.start()
    try:
        context = packed(commit, 5000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(COUNTER.count(part) for part in parts(context)) <= 5000
    assert context.coverage.files_total == 3000
    assert context.coverage.lines_total == 180_000
    assert peak < 16_000_000  # pieces are offsets into the patches, never copies of them


def test_real_commit_in_an_exact_budget() -> None:
    commit = load("750dbfd54267")
    facts = extract_facts(commit)
    context = packed(
        commit,
        4000,
        counter=EXACT,
        facts_block=lambda budget: render_facts(
            facts, files_total=len(commit.files), budget=budget, counter=EXACT
        ),
        fact_terms=fact_terms(facts),
    )
    assert sum(EXACT.count(part) for part in parts(context)) <= 4000
    assert "renamed `bsa_attn_fwd`" in context.facts
    assert "Pull Request Checklist" not in context.message


def test_truncate_to_tokens_marks_the_cut() -> None:
    text = "\n".join(f"line number {i}" for i in range(1000))
    cut = truncate_to_tokens(text, 50, COUNTER)
    assert cut.endswith("[… truncated]")
    assert text.startswith(cut.removesuffix("\n[… truncated]"))
    assert COUNTER.count(cut) <= 50
    assert truncate_to_tokens("short", 50, COUNTER) == "short"
    assert truncate_to_tokens("anything", 0, COUNTER) == ""


# -- properties --------------------------------------------------------------------------------

_texts = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 _-+=@#<>{}()\n\t.,;中文字é😀")), max_size=400
)
_paths = st.from_regex(r"[a-z]{1,6}(/[a-z_]{1,6}){0,3}\.(py|md|lock|js|min\.js)", fullmatch=True)


@st.composite
def _patches(draw: st.DrawFn) -> str | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    hunks = draw(st.lists(_texts, max_size=4))
    return "\n".join(f"@@ -1 +1 @@\n{h}" for h in hunks) if hunks else draw(_texts)


_files = st.builds(
    FileChange,
    path=st.one_of(_paths, _texts.filter(bool)),
    status=st.sampled_from(["added", "modified", "removed", "renamed", ""]),
    additions=st.integers(0, 10_000),
    deletions=st.integers(0, 10_000),
    patch=_patches(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(_files, max_size=25),
    message=_texts,
    body=_texts,
    available=st.integers(-50, 3000),
    include_patch=st.booleans(),
    rest=st.one_of(st.none(), st.integers(0, 2000)),
)
def test_packer_never_exceeds_budget(
    files: list[FileChange],
    message: str,
    body: str,
    available: int,
    include_patch: bool,
    rest: int | None,
) -> None:
    commit = commit_with(
        tuple(files), message=message, pr=PullRequest(number=3, title="t", body=body)
    )
    context = packed(commit, available, include_patch=include_patch, rest_budget=rest)
    assert sum(COUNTER.count(part) for part in parts(context)) <= max(available, 0)
    assert context.tokens <= max(available, 0)
    cov = context.coverage
    assert 0 <= cov.files_sent <= cov.files_total == len(files)
    assert 0 <= cov.lines_sent <= cov.lines_total
    if not include_patch:
        assert context.patch == ""


@settings(max_examples=200, deadline=None)
@given(text=_texts, limit=st.integers(-5, 200))
def test_truncate_never_exceeds(text: str, limit: int) -> None:
    cut = truncate_to_tokens(text, limit, COUNTER)
    assert COUNTER.count(cut) <= max(limit, 0)
    assert text.startswith(cut.removesuffix("\n[… truncated]"))


# The declaration test as one pattern, before the C-signature part was split off for speed.
_ONE_PATTERN = re.compile(
    r"^[+-]\s*(?:@\w|(?:async\s+)?def\s|class\s|struct\s|enum\s|interface\s|trait\s|impl\b"
    r"|(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s|func\s|export\s|template\s*<|__global__"
    r"|(?:static\s+|inline\s+|virtual\s+|constexpr\s+)*[\w:<>,*&\s]+\s[\w:~]+\s*\([^;]*$)"
)


_WORDS = st.sampled_from(["static", "inline", "int", "x", "a::b", "T<U>", "*p", "&r", "~X", "def"])
# Diff lines shaped like code: indentation, words apart, maybe a call, maybe more after it.
_CODE_LINES = st.builds(
    lambda sign, indent, words, gaps, call, tail: (
        sign + indent + "".join(w + g for w, g in zip(words, gaps, strict=False)) + call + tail
    ),
    st.sampled_from("+-"),
    st.text(" \t", max_size=4),
    st.lists(_WORDS, max_size=5),
    st.lists(st.sampled_from([" ", "  ", "\t", ""]), min_size=5, max_size=5),
    st.sampled_from(["(", "", " ("]),
    st.text("ab,;)= (", max_size=8),
)
_ANY_LINES = st.lists(
    st.sampled_from([*" \t+-_:(<>,*&;=~){}x1", "static ", "inline ", "int ", "def "]),
    max_size=40,
).map(lambda pieces: "+" + "".join(pieces))


@settings(max_examples=3000)
@given(st.one_of(_CODE_LINES, _ANY_LINES))
def test_declarations_and_signatures_match_what_the_single_pattern_matched(line: str) -> None:
    split = bool(packing._DECLARATION_RE.match(line) or packing._SIGNATURE_RE.match(line))
    assert split == bool(_ONE_PATTERN.match(line))


def test_fact_terms_mark_hunks_by_whole_identifiers_only() -> None:
    """A changed method `run` ranks the hunk that has `run`, not one that says "runs"."""
    terms = packing._terms_pattern({"run", "MAX_TOKENS"})
    assert packing._tier(["+    def run(self, x):"], terms) == 0
    assert packing._tier(["+    result = self.run(x)"], terms) == 0
    assert packing._tier(["+limit = MAX_TOKENS * 2"], terms) == 0
    assert packing._tier(["+# the wrapper serializes its own runs"], terms) == 2
    assert packing._tier(["+    runner = make_runner()"], terms) == 2
    assert packing._tier(["+x = MAX_TOKENS_2"], terms) == 2


def test_a_new_modules_imports_do_not_outrank_its_definitions() -> None:
    """Imports name what a module uses; outside a package's entry file they are not exports,
    so a licence-and-imports preamble does not rank with the definitions."""
    terms = packing._terms_pattern({"fused_moe", "Runner"})
    preamble = [
        "+# Licensed under the Apache License, Version 2.0",
        "+from .tuner import (",
        "+    Runner,",
        "+    fused_moe,",
        "+)",
        "+import torch",
        "+from .utils import fused_moe",
    ]
    assert packing._tier(preamble, terms) == 2
    assert packing._tier(preamble, terms, entry_file=True) == 0  # __init__.py re-exports
    assert packing._tier(["+def fused_moe(x):", "+    return x"], terms) == 0
