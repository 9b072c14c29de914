"""Synthetic, seed-deterministic repositories shaped like a busy ML-systems repo, for the fakes.

A day's commits follow the mix of a busy inference-engine repository (sglang, vLLM): mostly
features and fixes touching 1-20 source files, tests, docs, CI tweaks, version and dependency
bumps by bots, a few large refactors of 100+ files, and (optionally) one 3,000-file commit with
about 5 MB of patch (a vendored kernel library moved in). Same seed, same commits, byte for byte:
SHAs, times, paths and patch text all come from one `random.Random(seed)`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.models import Window
from tests.fakes.github_server import FakeFile, FakeGitHub, FakePull

BASE_DAY = datetime(2026, 2, 8, tzinfo=UTC)
REPO = "bench/ml-systems"
HUGE_REPO = "bench/huge-commit"
HUGE_FILES = 3000
HUGE_PATCH_BYTES = 5_000_000

_COMPONENTS = (
    "python/sglang/srt/layers/attention",
    "python/sglang/srt/layers/moe",
    "python/sglang/srt/managers",
    "python/sglang/srt/model_executor",
    "python/sglang/srt/mem_cache",
    "python/sglang/srt/models",
    "python/sglang/srt/entrypoints",
    "python/sglang/multimodal_gen/runtime",
    "sgl-kernel/csrc/attention",
    "sgl-kernel/csrc/gemm",
)
_TAGS = ("", "", "", "[diffusion] ", "[NPU] ", "[AMD] ", "[PD] ", "[Spec] ", "[ModelOpt] ")
_NOUNS = (
    "kv cache",
    "scheduler",
    "radix tree",
    "fp8 gemm",
    "moe router",
    "flashinfer backend",
    "chunked prefill",
    "speculative decoding",
    "tokenizer manager",
    "lora adapter",
    "cuda graph runner",
    "expert parallel",
    "paged attention",
    "eagle draft model",
)
_IDENTS = (
    "batch",
    "seq_lens",
    "kv_indices",
    "hidden_states",
    "topk_ids",
    "scale",
    "req_pool",
    "out_cache_loc",
    "positions",
    "logits",
    "page_size",
    "num_tokens",
    "forward_mode",
)
_AUTHORS = (
    "Makcum888e",
    "debo3",
    "ispobock",
    "hnyls2002",
    "Fridge003",
    "merrymercy",
    "Qiaolin-Yu",
    "yizhang2077",
    "ch-wan",
    "zhyncs",
    "Kangyan-Zhou",
)
_PR_TEMPLATE = (
    "## Motivation\n\n{why}\n\n## Modifications\n\n{what}\n\n## Accuracy Tests\n\n"
    "gsm8k accuracy unchanged (0.951 -> 0.952).\n\n## Benchmarking and Profiling\n\n"
    "{bench}\n\n## Checklist\n\n- [x] Format your code according to the Code Formatting "
    "with Pre-Commit.\n- [x] Add unit tests as outlined in the Running Unit Tests.\n"
    "- [ ] Update documentation / docstrings / example tutorials as needed.\n"
)


@dataclass(frozen=True)
class CommitSpec:
    """One commit to load into the fake: everything the GitHub API will answer about it."""

    sha: str
    message: str
    author: str
    login: str | None
    committed_at: datetime
    files: tuple[FakeFile, ...]
    pull: FakePull | None = None

    @property
    def patch_bytes(self) -> int:
        return sum(len(f.patch or "") for f in self.files)


@dataclass(frozen=True)
class Scenario:
    """A repository on the fake and one day (UTC) of commits in it."""

    repo: str
    day: datetime
    commits: tuple[CommitSpec, ...] = field(default_factory=tuple)

    @property
    def window(self) -> Window:
        return day_window(self.day)

    @property
    def files(self) -> int:
        return sum(len(c.files) for c in self.commits)

    @property
    def patch_bytes(self) -> int:
        return sum(c.patch_bytes for c in self.commits)


def day_window(day: datetime) -> Window:
    return Window(start=day, end=day + timedelta(days=1), tz="UTC", label=day.date().isoformat())


def _hunks(rng: random.Random, lines: int, ext: str) -> str:
    """Unified-diff hunks of about `lines` changed lines of Python/C++-looking code."""
    comment = "#" if ext in ("py", "yml", "toml") else "//"
    out: list[str] = []
    left = max(1, lines)
    while left > 0:
        size = min(left, rng.randint(3, 30))
        body = []
        for i in range(size):
            sign = "+" if rng.random() < 0.65 else "-"
            a, b = rng.choice(_IDENTS), rng.choice(_IDENTS)
            body.append(
                f"{sign}{' ' * rng.choice((4, 8, 12))}{a} = self.{b}_{i}({a}, "
                f"alpha={rng.random():.3f})  {comment} {rng.choice(_NOUNS)}"
            )
        context = f"     def {rng.choice(_IDENTS)}_{rng.randint(0, 99)}(self):"
        start = rng.randint(1, 2000)
        out.append(f"@@ -{start},{size} +{start},{size} @@\n{context}\n" + "\n".join(body))
        left -= size
    return "\n".join(out)


def _files(
    rng: random.Random, count: int, lines: int, prefix: str, ext: str, *, new: bool = False
) -> tuple[FakeFile, ...]:
    per = max(1, lines // max(1, count))
    files = []
    for i in range(count):
        n = max(1, int(per * rng.uniform(0.3, 1.7)))
        files.append(
            FakeFile(
                f"{prefix}/{rng.choice(_IDENTS)}_{i}.{ext}",
                status="added" if new else "modified",
                additions=n if new else int(n * 0.65) + 1,
                deletions=0 if new else n - int(n * 0.65),
                patch=_hunks(rng, n, ext),
            )
        )
    return tuple(files)


def _kind(rng: random.Random) -> str:
    # Shares of a busy day (measured by eye on sglang/vLLM main branches, Feb 2026).
    kinds = (
        "feat",
        "fix",
        "perf",
        "refactor",
        "model",
        "big",
        "test",
        "docs",
        "ci",
        "bump",
        "deps",
    )
    weights = (24, 24, 6, 8, 5, 4, 9, 9, 6, 2, 3)
    return rng.choices(kinds, weights)[0]


def _plan(rng: random.Random, kind: str, n: int) -> tuple[str, str, tuple[FakeFile, ...], str]:
    """(title, author, files, PR body) for one commit of `kind`."""
    comp = rng.choice(_COMPONENTS)
    noun = rng.choice(_NOUNS)
    tag = rng.choice(_TAGS)
    author = rng.choice(_AUTHORS)
    ext = "cu" if comp.startswith("sgl-kernel") else "py"
    if kind == "feat":
        files = _files(rng, rng.randint(2, 20), rng.randint(60, 900), comp, ext)
        files += _files(rng, rng.randint(0, 2), rng.randint(20, 120), "test/srt", "py")
        title = f"{tag}feat: support {noun} in {comp.rsplit('/', 1)[-1]}"
    elif kind == "fix":
        files = _files(rng, rng.randint(1, 4), rng.randint(4, 150), comp, ext)
        title = f"{tag}fix: wrong {rng.choice(_IDENTS)} in {noun} path"
    elif kind == "perf":
        files = _files(rng, rng.randint(1, 6), rng.randint(20, 400), comp, ext)
        title = f"{tag}perf: speed up {noun} by fusing {rng.choice(_IDENTS)} kernels"
    elif kind == "refactor":
        files = _files(rng, rng.randint(3, 20), rng.randint(100, 1200), comp, ext)
        title = f"{tag}refactor: split {noun} into smaller modules"
    elif kind == "model":
        files = _files(rng, rng.randint(3, 12), rng.randint(300, 1500), comp, "py", new=True)
        title = f"feat: add {rng.choice(('Qwen3-Next', 'GLM-5', 'DeepSeek-V4', 'Kimi-K3'))} model"
    elif kind == "big":
        files = _files(rng, rng.randint(100, 320), rng.randint(1500, 8000), comp, ext)
        title = f"{tag}refactor: move {noun} loaders under component_loaders/"
    elif kind == "test":
        files = _files(rng, rng.randint(1, 6), rng.randint(20, 300), "test/srt", "py")
        title = f"test: add regression tests for {noun}"
    elif kind == "docs":
        files = _files(rng, rng.randint(1, 4), rng.randint(5, 120), "docs/advanced_features", "md")
        title = f"docs: document {noun} options"
    elif kind == "ci":
        files = _files(rng, rng.randint(1, 2), rng.randint(4, 40), ".github/workflows", "yml")
        title = f"[CI] fix: {noun} nightly job timeout"
    elif kind == "bump":
        bump = '@@ -1,3 +1,3 @@\n [project]\n-version = "0.5.8"\n+version = "0.5.9"'
        files = (FakeFile("python/pyproject.toml", additions=1, deletions=1, patch=bump),)
        title, author = "chore: bump version to 0.5.9", "github-actions[bot]"
    else:  # deps
        files = _files(rng, 1, 4, ".github/workflows", "yml")
        title, author = "build(deps): bump actions/checkout from 4 to 5", "dependabot[bot]"
    body = _PR_TEMPLATE.format(
        why=f"The {noun} path is slow or wrong for {rng.choice(_IDENTS)}. " * rng.randint(1, 4),
        what="\n".join(f"- change {rng.choice(_IDENTS)} in {f.filename}" for f in files[:8]),
        bench=f"Throughput {rng.randint(900, 4000)} -> {rng.randint(900, 4000)} tok/s on H200.",
    )
    return title, author, files, body


def huge_commit(
    rng: random.Random,
    number: int,
    when: datetime,
    *,
    files_count: int = HUGE_FILES,
    patch_bytes: int = HUGE_PATCH_BYTES,
) -> CommitSpec:
    """3,000 files and ~5 MB of patch: a kernel library moved into the tree in one commit."""
    per_file = patch_bytes // files_count
    files = []
    for i in range(files_count):
        lines: list[str] = []
        size = 0
        while size < per_file:
            line = f"+    {rng.choice(_IDENTS)}[{i}] = {rng.choice(_IDENTS)}({rng.random():.6f});"
            lines.append(line)
            size += len(line) + 1
        patch = f"@@ -0,0 +1,{len(lines)} @@\n" + "\n".join(lines)
        folder = f"{_COMPONENTS[8 + i % 2]}/cutlass_ext/group{i // 100:02d}"
        files.append(
            FakeFile(f"{folder}/k{i:04d}.cu", status="added", additions=len(lines), patch=patch)
        )
    title = f"feat: add cutlass_ext grouped-gemm and attention kernels (#{number})"
    return CommitSpec(
        sha=f"{rng.getrandbits(160):040x}",
        message=f"{title}\n\nAdds {files_count:,} kernel sources generated from templates.",
        author="zhyncs",
        login="zhyncs",
        committed_at=when,
        files=tuple(files),
        pull=FakePull(number, title=title, body="Vendors the kernels.", labels=("run-ci",)),
    )


HugeShape = tuple[int, int]  # (files, patch bytes)
FULL_HUGE: HugeShape = (HUGE_FILES, HUGE_PATCH_BYTES)


def busy_day(
    count: int, *, seed: int, day: datetime = BASE_DAY, huge: HugeShape | None = None
) -> tuple[CommitSpec, ...]:
    """`count` commits spread over `day` (UTC); with `huge`, one of them is the 3,000-file one."""
    rng = random.Random(seed)
    minutes = sorted(rng.uniform(0, 1439.9) for _ in range(count))
    huge_at = rng.randrange(count) if huge is not None and count else -1
    specs = []
    for n, minute in enumerate(minutes):
        when = day + timedelta(minutes=minute)
        number = 18000 + seed % 1000 * 10 + n
        if n == huge_at:
            assert huge is not None
            specs.append(huge_commit(rng, number, when, files_count=huge[0], patch_bytes=huge[1]))
            continue
        title, author, files, body = _plan(rng, _kind(rng), n)
        bot = author.endswith("[bot]")
        labels = tuple(rng.sample(("run-ci", "bug", "enhancement", "high priority"), 2))
        specs.append(
            CommitSpec(
                sha=f"{rng.getrandbits(160):040x}",
                message=f"{title} (#{number})\n\n{body[:300] if not bot else ''}".strip(),
                author=author,
                login=None if bot else author,
                committed_at=when,
                files=files,
                pull=None if bot else FakePull(number, title=title, body=body, labels=labels),
            )
        )
    return tuple(specs)


def load(fake: FakeGitHub, scenario: Scenario) -> None:
    """Add the scenario's commits to the fake, oldest first (each on top of the previous)."""
    for spec in sorted(scenario.commits, key=lambda c: c.committed_at):
        pulls = []
        if spec.pull is not None:
            pulls = [
                FakePull(
                    spec.pull.number,
                    title=spec.pull.title,
                    body=spec.pull.body,
                    labels=spec.pull.labels,
                    merge_commit_sha=spec.sha,
                )
            ]
        fake.add_commit(
            scenario.repo,
            spec.message,
            sha=spec.sha,
            committed_at=spec.committed_at,
            author=spec.author,
            author_login=spec.login,
            files=list(spec.files),
            pulls=pulls,
        )


def standard_scenarios(
    sizes: tuple[int, ...], *, seed: int, huge: HugeShape = FULL_HUGE
) -> dict[str, Scenario]:
    """One day per size in REPO (the largest day carries the huge commit) and a day with only
    the huge commit in HUGE_REPO. Keys: "cold<N>" and "huge"."""
    out: dict[str, Scenario] = {}
    largest = max(sizes)
    for index, size in enumerate(sizes):
        day = BASE_DAY + timedelta(days=index)
        commits = busy_day(size, seed=seed + index, day=day, huge=huge if size == largest else None)
        out[f"cold{size}"] = Scenario(REPO, day, commits)
    rng = random.Random(seed + 1000)
    when = BASE_DAY + timedelta(hours=12)
    only = huge_commit(rng, 19999, when, files_count=huge[0], patch_bytes=huge[1])
    out["huge"] = Scenario(HUGE_REPO, BASE_DAY, (only,))
    return out
