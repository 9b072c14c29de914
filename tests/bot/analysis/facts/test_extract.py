"""Change facts of whole commits: Python through ast, settings, errors, dependencies, moves.

Real commits come from tests/data/real_commits (flashinfer excerpts, Apache-2.0, see NOTICE);
the small hand-made diffs pin one rule each.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis.facts import extract_facts, fact_terms, render_facts
from bot.analysis.tokens import default_counter
from bot.models import ChangeFacts, Commit, FileChange
from tests.data.real_commits import load

COUNTER = default_counter()


def commit_of(*files: FileChange) -> Commit:
    return Commit(
        repo="o/r",
        sha="b" * 40,
        title="change",
        message="change",
        author="dev",
        committed_at=datetime(2026, 8, 14, tzinfo=UTC),
        files=files,
    )


def py(path: str, patch: str, **kwargs: object) -> FileChange:
    return FileChange.model_validate({"path": path, "patch": patch, "additions": 1, **kwargs})


def kinds(facts: ChangeFacts) -> set[tuple[str, str]]:
    return {(s.kind, s.name) for s in facts.symbols}


# -- real commits ------------------------------------------------------------------------------


def test_renamed_functions_and_dropped_exports_of_750dbfd() -> None:
    facts = extract_facts(load("750dbfd54267"))
    renamed = {(s.old_name, s.name) for s in facts.symbols if s.kind == "renamed"}
    assert ("bsa_attn_fwd", "bsa_attn_sm100_blk128_fwd") in renamed
    assert ("bsa_attn_blk64_fwd", "bsa_attn_sm100_blk64_fwd") in renamed
    dropped = {e.name for e in facts.exports if e.kind == "removed"}
    assert {"bsa_attn_fwd", "bsa_attn_blk64_fwd"} <= dropped
    assert any(m.old_path.endswith("blk128/utils.py") for m in facts.moves) or facts.moves
    block = render_facts(facts, files_total=50, budget=800, counter=COUNTER)
    assert "renamed `bsa_attn_fwd` -> `bsa_attn_sm100_blk128_fwd`" in block
    assert "no longer exports" in block


def test_new_parameters_behind_a_hunk_header_of_d898ed0() -> None:
    facts = extract_facts(load("d898ed046b6d"))
    (signature,) = [s for s in facts.symbols if s.name == "trtllm_ragged_attention_deepseek"]
    assert signature.kind == "signature" and signature.public
    assert signature.params_added == ("q_seq_lens_cpu=None", "kv_seq_lens_cpu=None")
    errors = {e.text for e in facts.errors if e.change == "added" and e.kind == "raise"}
    assert "ValueError '{name} must be a CPU tensor'" in errors
    assert not any("tests/" in e.path for e in facts.errors)  # tests are nobody's interface


def test_a_parameter_type_that_changes_the_compile_key_in_ed6c709() -> None:
    facts = extract_facts(load("ed6c709849fe"))
    typed = [s for s in facts.symbols if s.types_changed]
    assert any(
        "cache_intermediate_states: cutlass.Constexpr[bool] -> cutlass.Boolean" in t
        for s in typed
        for t in s.types_changed
    )
    removed = [s for s in facts.symbols if "cache_intermediate_states" in s.params_removed]
    assert removed and not removed[0].public  # `_get_compiled_mtp_kernel`: the cache key


def test_a_default_on_toggle_of_a9e03bf() -> None:
    facts = extract_facts(load("a9e03bf2f5fe"))
    (toggle,) = [s for s in facts.settings if s.name == "FLASHINFER_KDA_T1_FAST_PATH"]
    assert (toggle.kind, toggle.change, toggle.new) == ("env", "added", '"1"')


# -- one rule each -----------------------------------------------------------------------------


def test_python_signatures_parsed_with_ast() -> None:
    patch = (
        "@@ -1,6 +1,6 @@\n"
        " class Wrapper:\n"
        "-    def plan(self, q, causal: bool = False, *, backend='auto'):\n"
        "+    def plan(self, q, causal: bool = True, *, backend='fa3', window=None):\n"
        "         pass\n"
        "-def gone(x):\n"
        "+def _private_helper(x):\n"
        "     return x\n"
    )
    facts = extract_facts(commit_of(py("pkg/api.py", patch)))
    (plan,) = [s for s in facts.symbols if s.name == "Wrapper.plan"]
    assert plan.kind == "signature" and plan.public
    assert plan.params_added == ("window=None",)
    assert plan.defaults_changed == ("causal: False -> True", "backend: 'auto' -> 'fa3'")
    renamed = [s for s in facts.symbols if s.kind == "renamed"]
    assert [(s.old_name, s.name, s.public) for s in renamed] == [("gone", "_private_helper", True)]


def test_flags_config_fields_and_env_defaults() -> None:
    patch = (
        "@@ -10,8 +10,9 @@ class ServerArgs:\n"
        "     port: int = 30000\n"
        "-    chunked_prefill_size: int = 8192\n"
        "+    chunked_prefill_size: int = 4096\n"
        "+    enable_fast_path: bool = True\n"
        "@@ -40,3 +41,3 @@ def add_cli_args(parser):\n"
        '-    parser.add_argument("--max-batch", type=int, default=64)\n'
        '+    parser.add_argument(\n+        "--max-batch", type=int, default=128\n+    )\n'
        '-    level = os.environ.get("APP_LOG_LEVEL", "info")\n'
        '+    level = os.environ.get("APP_LOG_LEVEL", "warning")\n'
    )
    facts = extract_facts(commit_of(py("pkg/server_args.py", patch)))
    found = {(s.kind, s.change, s.name, s.old, s.new) for s in facts.settings}
    assert ("config", "default", "ServerArgs.chunked_prefill_size", "8192", "4096") in found
    assert ("config", "added", "ServerArgs.enable_fast_path", None, "True") in found
    assert ("flag", "default", "--max-batch", "64", "128") in found
    assert ("env", "default", "APP_LOG_LEVEL", '"info"', '"warning"') in found


def test_dependencies_are_parsed_not_guessed() -> None:
    pyproject = (
        "@@ -10,7 +10,7 @@ dependencies = [\n"
        '-    "torch>=2.4",\n'
        '+    "torch>=2.5",\n'
        '     "numpy",\n'
        '+    "nvidia-cutlass-dsl==4.7.0",\n'
        "@@ -40,3 +40,3 @@ [tool.setuptools.package-data]\n"
        '-flashinfer = ["data/*.so"]\n'
        '+flashinfer = ["data/lib/*.so"]\n'
    )
    data_only = '@@ -1,3 +1,3 @@\n-"data/*.so",\n+"data/lib/*.so",\n'
    submodule = (
        "@@ -1 +1 @@\n-Subproject commit 1111111111111111\n+Subproject commit 2222222222222222"
    )
    facts = extract_facts(
        commit_of(
            py("pyproject.toml", pyproject),
            py("setup.py", data_only),
            py("3rdparty/cutlass", submodule),
        )
    )
    found = {(d.name, d.old, d.new) for d in facts.dependencies}
    assert found == {
        ("torch", ">=2.4", ">=2.5"),
        ("nvidia-cutlass-dsl", None, "==4.7.0"),
        ("3rdparty/cutlass", "111111111111", "222222222222"),
    }


def test_exports_of_an_init_module_and_all_lists() -> None:
    init = (
        "@@ -1,5 +1,3 @@\n"
        "-from .attn import (\n-    attn_fwd,\n-    attn_bwd,\n-)\n"
        "+from .attn import attn_bwd\n"
        " from .gemm import gemm\n"
    )
    module = '@@ -1,3 +1,3 @@\n __all__ = [\n-    "old_name",\n+    "new_name",\n ]\n'
    facts = extract_facts(commit_of(py("pkg/__init__.py", init), py("pkg/mod.py", module)))
    assert {(e.kind, e.name, e.path) for e in facts.exports} == {
        ("removed", "attn_fwd", "pkg/__init__.py"),
        ("removed", "old_name", "pkg/mod.py"),
        ("added", "new_name", "pkg/mod.py"),
    }


def test_body_hunks_are_not_mistaken_for_signatures() -> None:
    body = (
        "@@ -100,5 +100,7 @@ def run(\n"
        "         out = kernel(\n"
        "             query,\n"
        "+            key,\n"
        "+            value,\n"
        "         )\n"
    )
    assert extract_facts(commit_of(py("pkg/run.py", body))).symbols == ()


def test_moves_unscanned_and_bounds() -> None:
    files = [
        FileChange(path="new/a.py", previous_path="old/a.py", status="renamed"),
        FileChange(path="big.py", additions=1, patch="@@ -1 +1 @@\n+" + "x" * 500_000),
        FileChange(path="lost.py", additions=3, patch=None),
        *(
            py(f"pkg/m{i}.py", f"@@ -0,0 +1,1 @@\n+def f{i}(a):\n", status="added")
            for i in range(60)
        ),
    ]
    facts = extract_facts(commit_of(*files))
    assert [(m.old_path, m.new_path) for m in facts.moves] == [("old/a.py", "new/a.py")]
    assert facts.files_unscanned == 2
    assert len(facts.symbols) == 40 and facts.omitted >= 20


def test_terms_name_what_hunks_would_mention() -> None:
    facts = extract_facts(load("d898ed046b6d"))
    assert {"trtllm_ragged_attention_deepseek", "q_seq_lens_cpu"} <= fact_terms(facts)


def test_the_block_stays_within_its_budget_and_says_what_it_left_out() -> None:
    facts = extract_facts(load("750dbfd54267"))
    block = render_facts(facts, files_total=50, budget=120, counter=COUNTER)
    assert COUNTER.count(block) <= 120
    assert "more facts not shown" in block
    assert render_facts(None, files_total=1, budget=100, counter=COUNTER) == ""


_patch_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "+def f(a, b=1):",
                "-def f(a):",
                " class K:",
                "+    def m(self, x: int = 3,",
                '+    parser.add_argument("--x", default=1)',
                '-raise ValueError("bad")',
                '+TORCH_CHECK(x > 0, "positive");',
                "+__all__ = ['a',",
                "+from .x import (a,",
                "-Subproject commit abcdef1",
                '+    "torch>=2.5",',
                "@@ -1,3 +1,4 @@ def g(",
            ]
        ),
        st.text(max_size=60).map(lambda t: "+" + t),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a.py", "b.cu", "c.go", "pyproject.toml", "d.ts"]), _patch_lines
        ),
        max_size=5,
    )
)
def test_any_patch_yields_well_formed_facts(files: list[tuple[str, list[str]]]) -> None:
    commit = commit_of(*(py(path, "\n".join(lines)) for path, lines in files))
    facts = extract_facts(commit)
    assert facts.files_scanned + facts.files_unscanned <= len(files)
    assert COUNTER.count(render_facts(facts, files_total=5, budget=300, counter=COUNTER)) <= 300


def test_removed_public_definitions_across_languages() -> None:
    """A move is no removal; private names are no surface; each language's public marker counts."""
    moved = commit_of(
        py("a.py", "@@ -1,4 +0,0 @@\n-def helper(x):\n-    return x\n-class Thing:\n-    pass\n"),
        py("b.py", "@@ -0,0 +1,2 @@\n+def helper(x):\n+    return x\n"),
        py("c.ts", "@@ -1,1 +0,0 @@\n-export function render(a) {\n"),
        py("d.go", "@@ -1,2 +0,0 @@\n-func (s *Server) Serve() error {\n-func internal() {}\n"),
        py("e.py", "@@ -1,2 +0,0 @@\n-def _private():\n-    pass\n"),
    )
    facts = extract_facts(moved)
    removed = {s.name for s in facts.symbols if s.kind == "removed" and s.public}
    assert removed == {"Thing", "render", "Server.Serve"}
    assert {(m.kind, m.name) for m in facts.symbols if m.name == "helper"} == {("moved", "helper")}


def test_a_check_moved_to_another_macro_is_no_new_validation() -> None:
    """pytorch/ao e74892b turned `assert(...)` into `STD_TORCH_CHECK(..., "msg")` and added two
    real checks; only those two are new (the shape of that diff, hand-written)."""
    patch = (
        "@@ -10,8 +10,12 @@ void launch(int rows, int cols, int N) {\n"
        "-    assert((scale_x == 1 || scale_x == 32) &&\n"
        "-           (scale_y == 1 || scale_y == 32));\n"
        "-    assert(out != nullptr); // both null is a bug\n"
        "+    STD_TORCH_CHECK((scale_x == 1 || scale_x == 32) &&\n"
        "+                        (scale_y == 1 || scale_y == 32),\n"
        '+                    "scales must be 1 or 32, got ", scale_x);\n'
        "+    STD_TORCH_CHECK(rows % 32 == 0 && cols % 32 == 0,\n"
        '+                    "rows and cols must be multiples of 32");\n'
        '+    STD_TORCH_CHECK(out != nullptr, "out must be non-null");\n'
        "+    STD_TORCH_CHECK(N % 32 == 0,\n"
        '+                    "N must be a multiple of 32");\n'
    )
    facts = extract_facts(commit_of(py("csrc/quantize.cuh", patch)))
    shape = (
        "STD_TORCH_CHECK(rows % 32 == 0 && cols % 32 == 0) 'rows and cols must be multiples of 32'"
    )
    size = "STD_TORCH_CHECK(N % 32 == 0) 'N must be a multiple of 32'"
    assert [(e.change, e.text) for e in facts.errors] == [("added", shape), ("added", size)]


def test_a_renamed_class_pairs_only_with_a_similar_name() -> None:
    """flashinfer 94f6ae8 renamed `BlackwellDenseGemmBf16Fp4Kernel` to
    `Sm12xDenseGemmBf16Fp4Kernel`; an unrelated class swap stays a removal and an addition."""
    renamed = "@@ -1,2 +1,2 @@\n-class BlackwellDenseGemmKernel:\n+class Sm12xDenseGemmKernel:\n"
    facts = extract_facts(commit_of(py("pkg/gemm.py", renamed)))
    assert kinds(facts) == {("renamed", "Sm12xDenseGemmKernel")}
    swapped = "@@ -1,2 +1,2 @@\n-class Scheduler:\n+class TokenBucket:\n"
    facts = extract_facts(commit_of(py("pkg/gemm.py", swapped)))
    assert kinds(facts) == {("removed", "Scheduler"), ("added", "TokenBucket")}


def test_new_modules_read_as_classes_with_methods_and_named_helpers() -> None:
    """A new 2,000-line module must not fill the block with private signatures."""
    body = "".join(
        f"+    def method{i}(self, a: int, b: int) -> int:\n+        return a\n" for i in range(3)
    )
    helpers = "".join(f"+def _helper{i}(x, y, z):\n+    return x\n" for i in range(12))
    patch = f"@@ -0,0 +1,60 @@\n+class Kernel:\n{body}{helpers}"
    facts = extract_facts(commit_of(py("pkg/kernel.py", patch, status="added")))
    block = render_facts(facts, files_total=1, budget=2000, counter=COUNTER)
    assert "added `class Kernel` with `method0`, `method1`, `method2` (pkg/kernel.py)" in block
    assert (
        "- added internal `_helper0`, `_helper1`" in block and "and 4 more (pkg/kernel.py)" in block
    )
    assert "def _helper0" not in block and "def method0" not in block
