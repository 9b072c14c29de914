"""The C, C++ and CUDA definition reader, on real flashinfer hunks and on arbitrary text."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis.diff import Side, hunk_spans, sides
from bot.analysis.facts import c_family
from bot.analysis.facts.c_family import EXTENSIONS, read_definitions
from bot.analysis.facts.definitions import Definition, Param
from tests.bot.analysis.facts.definition_checks import assert_well_formed, named, names

EXCERPTS = Path(__file__).resolve().parents[3] / "data" / "facts_excerpts"


@dataclass
class Hunk:
    section: str
    old: dict[str, Definition]
    new: dict[str, Definition]
    old_side: Side
    new_side: Side


def excerpt(name: str) -> list[Hunk]:
    """The hunks of one stored excerpt, both sides read."""
    text = (EXCERPTS / name).read_text()
    path = next(line[6:] for line in text.splitlines() if line.startswith("+++ b/"))
    patch = text[text.index("\n@@") + 1 :]
    hunks = []
    for span in hunk_spans(patch):
        old, new = sides(patch, span)
        hunks.append(
            Hunk(
                span.section,
                named(read_definitions(old, span.section, path)),
                named(read_definitions(new, span.section, path)),
                old,
                new,
            )
        )
    return hunks


def hunk(lines: str, changed: set[int] | None = None) -> Side:
    """A hand-made side: `lines` with the given indices marked changed."""
    return Side(lines.split("\n"), changed or set())


# -- real hunks --------------------------------------------------------------------------------


def test_added_prototypes_are_functions_and_only_new_ones_are_touched() -> None:
    prototypes = excerpt("5fc667f1e442-trtllm_fmha_v2_binding.patch")[0]
    added = {
        "run_fmha_v2_flash_attention_e4m3_fp32_64_64_S_q_k_v_64x64_output_bf16_sm120_nl_tiled",
        "run_fmha_v2_flash_attention_e4m3_fp32_64_64_S_q_k_v_128x128_output_bf16_sm120_nl_tiled",
        "run_fmha_v2_flash_attention_e4m3_fp32_64_64_S_q_k_v_192x128_output_fp16_sm120_nl_tiled",
    }
    assert set(prototypes.new) - set(prototypes.old) == added
    assert len(prototypes.old) == 2
    for name, definition in prototypes.new.items():
        assert definition.kind == "function"
        assert definition.public
        assert definition.touched == (name in added)
        assert definition.params == (
            Param("params", None, "const bert::Fused_multihead_attention_params_v2&"),
            Param("launch_params", None, "const bert::Fused_multihead_attention_launch_params&"),
            Param("stream", None, "cudaStream_t"),
        )
        assert definition.signature.startswith(f"extern void {name}( const bert::")
        assert definition.signature.endswith("…")  # folded to MAX_SIGNATURE_CHARS


def test_a_hunk_inside_a_long_parameter_list_is_a_partial_view_of_it() -> None:
    # The header names `static inline void set_params(…,`; the hunk shows only the middle of
    # its 40-odd parameters, where `scale_bmm1_d` is inserted.
    middle = excerpt("5fc667f1e442-trtllm_fmha_v2_binding.patch")[1]
    assert middle.section.startswith("static inline void set_params(")
    before, after = middle.old["set_params"], middle.new["set_params"]
    for view in (before, after):
        assert view.partial and view.touched and not view.public  # `static`
        assert view.kind == "function"
        assert view.signature.startswith("static inline void set_params(…, void* attention_")
        assert "// attention sinks." not in view.signature
    assert names(before)[:3] == ["attention_sinks_d", "cu_kv_seqlens_d", "cu_q_seqlens_d"]
    assert "scale_bmm1_d" not in names(before)
    assert names(after)[7:9] == ["scale_bmm1_d", "scale_bmm2_d"]
    assert Param("scale_bmm1", None, "float const") in (after.params or ())


def test_a_body_hunk_under_an_open_header_reports_nothing() -> None:
    # `void TRTLLMFMHAv2Run(TensorView q, …,` is the header, but the hunk is in the body.
    body = excerpt("5fc667f1e442-trtllm_fmha_v2_binding.patch")[2]
    assert body.section.startswith("void TRTLLMFMHAv2Run(")
    assert body.old == {} and body.new == {}


def test_a_resigned_multi_line_definition_under_its_doc_comment() -> None:
    (run,) = excerpt("5fc667f1e442-trtllm_fmha_v2_run.patch")
    before, after = run.old["TRTLLMFMHAv2Run"], run.new["TRTLLMFMHAv2Run"]
    assert before.kind == after.kind == "function"
    assert before.touched and after.touched and before.public
    added = [name for name in names(after) if name not in names(before)]
    assert added == ["scale_bmm1_d", "scale_bmm2_d", "causal"]
    assert after.params is not None
    assert after.params[5] == Param("scale_bmm1_d", None, "Optional<TensorView>")
    assert after.signature.startswith("void TRTLLMFMHAv2Run(TensorView q, TensorView k,")
    assert "@brief" not in after.signature and "{" not in after.signature


def test_a_body_only_hunk_in_a_struct_method_shows_no_definition() -> None:
    (body,) = excerpt("d898ed046b6d-kernelParams.patch")
    assert body.section == "struct KernelParams {"
    assert body.old == {} and body.new == {}


def test_a_default_added_in_a_multi_line_prototype_touches_both_sides() -> None:
    (quantization,) = excerpt("202af00dff85-quantization.patch")
    before = quantization.old["invokeNvfp4QuantAndPerTokenScale"]
    after = quantization.new["invokeNvfp4QuantAndPerTokenScale"]
    assert before.touched and after.touched
    assert names(before) == names(after)
    assert before.params is not None and after.params is not None
    assert before.params[-1] == Param("stream", None, "cudaStream_t")
    assert after.params[-1] == Param("stream", "0", "cudaStream_t")
    assert after.signature.startswith("void invokeNvfp4QuantAndPerTokenScale(uint32_t m,")


def test_a_declaration_cut_in_its_parameter_list_has_no_params() -> None:
    (quantization,) = excerpt("202af00dff85-quantization.patch")
    for side in (quantization.old, quantization.new):
        cut = side["invokeBlockScaleInterleave"]
        assert cut.params is None and not cut.touched and cut.kind == "function"
        assert cut.signature.startswith(
            "template <typename T> void invokeBlockScaleInterleave(int b,"
        )


def test_a_static_kernel_gaining_a_parameter() -> None:
    (kernel,) = excerpt("e77a4a0d2763-flashkda_binding_common.patch")
    before, after = kernel.old["PackBetaForTmaKernel"], kernel.new["PackBetaForTmaKernel"]
    assert before.kind == after.kind == "kernel"
    assert not after.public  # `static __global__`
    assert before.touched and after.touched
    assert names(after) == [*names(before), "beta_token_stride"]
    assert after.signature.startswith("static __global__ void PackBetaForTmaKernel(")


def test_an_extern_c_kernel_with_launch_bounds() -> None:
    (kernel,) = excerpt("78e463b874df-tinygemm2_sm100.patch")
    assert kernel.section.startswith("__device__ __forceinline__ unsigned int __as_u32(")
    before = kernel.old["kernel_tinygemm2_sm100_stage4"]
    after = kernel.new["kernel_tinygemm2_sm100_stage4"]
    assert before.kind == after.kind == "kernel"
    assert before.touched and after.touched and after.public
    assert names(before)[:2] == ["tmap_wt", "tmap_act"]
    assert after.params is not None
    assert after.params[-1] == Param(
        "_loom_tma_params", None, "__grid_constant__ LoomTensorMapPack<2> const"
    )
    assert after.signature.startswith(
        "__global__ __launch_bounds__(384, 1) void kernel_tinygemm2_sm100_stage4("
    )


def test_a_template_line_change_touches_a_definition_that_starts_in_a_doc_comment() -> None:
    # The hunk starts inside the `/** … */` above the function; only `template <…>` and the
    # second line of the parameter list change.
    (prefill,) = excerpt("5a73a36a7169-prefill.patch")
    before = prefill.old["SinglePrefillWithKVCacheDevice"]
    after = prefill.new["SinglePrefillWithKVCacheDevice"]
    assert before.kind == after.kind == "function"
    assert before.touched and after.touched
    assert names(before) == names(after)
    assert before.params is not None and after.params is not None
    assert before.params[1].annotation == "typename KTraits::SharedStorage&"
    assert after.params[1].annotation == "SmemStorage&"
    assert after.params[2] == Param("tid", "threadIdx", "const dim3")
    assert after.params[-1] == Param("num_kv_heads", "gridDim.z", "const uint32_t")
    assert after.signature.startswith(
        "template <typename KTraits, typename Params, typename SmemStorage> "
        "__device__ __forceinline__ void SinglePrefillWithKVCacheDevice("
    )
    only_template = Side(
        prefill.old_side.lines,
        {prefill.old_side.lines.index("template <typename KTraits, typename Params>")},
    )
    (view,) = read_definitions(only_template, prefill.section, "prefill.cuh")
    assert view.touched  # the template line is part of the signature span


def test_a_constructor_of_the_struct_named_by_the_hunk_header_gains_defaults() -> None:
    (constructor,) = excerpt("b460bc00cb37-moe_kernels.patch")
    assert constructor.section == "struct ActivationParams {"
    before = constructor.old["ActivationParams::ActivationParams"]
    after = constructor.new["ActivationParams::ActivationParams"]
    assert before.kind == after.kind == "method"
    assert before.touched and after.touched
    assert after.params is not None
    assert after.params[-2:] == (
        Param("situ_beta", "nullptr", "float const*"),
        Param("situ_linear_beta", "nullptr", "float const*"),
    )
    assert ":" not in after.signature  # the member initializers are not the signature
    cast = constructor.old["ActivationParams::operator ActivationType"]
    assert cast.kind == "method" and cast.params == () and not cast.touched


def test_a_template_static_method_of_the_header_struct() -> None:
    (method,) = excerpt("8044d94bf9ac-kernelParams.patch")
    before = method.old["KernelParams::makeTmaShapeStrideQ"]
    after = method.new["KernelParams::makeTmaShapeStrideQ"]
    assert before.kind == after.kind == "method"
    assert before.touched and after.touched and after.public
    assert names(after) == [
        "options",
        "groupsHeadsQ",
        "groupsTokensHeadsQ",
        "tileSizeQ",
        "tileSizePerCtaQ",
        "numEltsInClampedHeadDimQ",
    ]
    assert after.signature.startswith("template <class FmhaOptions> static auto makeTmaShape")


def test_a_body_change_under_a_visible_method_does_not_touch_it() -> None:
    # The changed lines are a preprocessor condition and comments inside the body.
    (body,) = excerpt("92ef090ed4f8-fmhaKernels.patch")
    for side in (body.old, body.new):
        method = side["TllmGenFmhaKernel::setupKernelSmem"]
        assert method.kind == "method" and not method.touched
        assert method.params == (
            Param("func", None, "CUfunction"),
            Param("kernelMeta", None, "KernelMeta const&"),
        )
        assert method.signature == (
            "void setupKernelSmem(CUfunction func, KernelMeta const& kernelMeta) const"
        )


def test_a_function_replaced_by_a_template_of_the_same_name() -> None:
    (utils,) = excerpt("e9fb62b74e47-cudaUtils.patch")
    assert utils.old["roundUp"].touched and utils.new["roundUp"].touched
    assert names(utils.old["roundUp"]) == ["a", "b"]
    assert names(utils.new["roundUp"]) == ["numerator", "denominator"]
    assert utils.new["roundUp"].signature.startswith("template <typename T, typename U,")
    assert not utils.old["ceilDiv"].touched and not utils.new["ceilDiv"].touched


@pytest.mark.parametrize("name", sorted(p.name for p in EXCERPTS.glob("*.patch")))
def test_every_cut_of_a_real_hunk_reads_cleanly(name: str) -> None:
    """Fragments cut anywhere (mid-comment, mid-list, mid-body) never raise."""
    for item in excerpt(name):
        for side in (item.old_side, item.new_side):
            lines = side.lines
            for start in range(len(lines)):
                for end in range(start + 1, len(lines) + 1, 3):
                    cut = Side(lines[start:end], {i - start for i in side.changed if start <= i})
                    assert_well_formed(read_definitions(cut, item.section, "x.cu"), cut)


# -- what the excerpts do not show -------------------------------------------------------------


def test_classes_methods_access_and_private_namespaces() -> None:
    side = hunk(
        "namespace {\n"
        "int helper(int);\n"
        "}  // namespace\n"
        "namespace flashinfer::detail {\n"
        "template <typename T>\n"
        "class Runner : public Base<T> {\n"
        " public:\n"
        "  Runner(int device, bool pdl = false);\n"
        "  ~Runner();\n"
        "  void run(const T* x, int n = 4) const;\n"
        " private:\n"
        "  int plan(int);\n"
        "};\n"
        "}  // namespace flashinfer::detail\n"
        "static void local(void) {}\n"
        "void Runner::_reset() {}\n"
        "struct Plain { int x; };",
        {7},
    )
    found = named(read_definitions(side, "", "runner.h"))
    assert set(found) == {
        "helper",
        "Runner",
        "Runner::Runner",
        "Runner::~Runner",
        "Runner::run",
        "Runner::plan",
        "local",
        "Runner::_reset",
        "Plain",
    }
    assert found["Runner"].kind == "class" and found["Runner"].params is None
    assert found["Runner"].signature == "template <typename T> class Runner : public Base<T>"
    assert found["Runner::Runner"].params == (
        Param("device", None, "int"),
        Param("pdl", "false", "bool"),
    )
    assert found["Runner::Runner"].touched and not found["Runner::run"].touched
    assert found["Runner::run"].kind == "method"
    assert found["local"].params == ()
    assert found["Runner::plan"].params == (Param("int"),)  # unnamed: the type is the name
    private = {name for name, d in found.items() if not d.public}
    # anonymous and detail namespaces, `private:`, `static`, a leading underscore
    assert private == {
        "helper",
        "Runner",
        "Runner::Runner",
        "Runner::~Runner",
        "Runner::run",
        "Runner::plan",
        "local",
        "Runner::_reset",
    }
    assert found["Plain"].public


def test_a_header_class_owns_indented_members_until_its_closing_brace() -> None:
    side = hunk("    return x;\n  }\n  int size() const;\n};\n\nint size();")
    found = read_definitions(side, "class Buffer : public Base {", "buffer.hpp")
    assert [d.name for d in found] == ["Buffer::size", "size"]
    assert [d.kind for d in found] == ["method", "function"]


def test_calls_statements_and_macros_in_a_body_are_not_declarations() -> None:
    side = hunk(
        "  CudaDevice device(dev);\n"
        "  dim3 block(BLOCK_THREADS);\n"
        "  set_alpha(params.scale, scale, type);\n"
        '  FLASHINFER_CHECK(ok, "bad");\n'
        "  kernel<<<grid, block, 0, stream>>>(x, n);\n"
        "  CUTE_UNROLL for (int i = 0; i < n; ++i) {\n"
        "  }\n"
        "}\n"
        "TVM_FFI_DLL_EXPORT_TYPED_FUNC(run, flashinfer::Run);\n"
        "TEST(Suite, Case) {}",
        {0, 1, 2, 3, 4},
    )
    assert read_definitions(side, "void launch(int n) {", "launch.cu") == []


def test_a_definition_cut_at_the_end_of_the_fragment() -> None:
    side = hunk(
        "template <typename T>\n__global__ void __launch_bounds__(128) scale_kernel(T* out,\n"
        "    const T* in, float alpha = 1.0f,",
        {2},
    )
    (kernel,) = read_definitions(side, "", "scale.cu")
    assert kernel.name == "scale_kernel" and kernel.kind == "kernel"
    assert kernel.params is None and kernel.touched
    assert kernel.signature.startswith("template <typename T> __global__ void __launch_bounds__")


def test_cuda_qualifiers_in_a_c_header_are_read_with_the_cuda_grammar() -> None:
    side = hunk("__global__ void fill(float* out, int n);\n__device__ inline int twice(int x);")
    found = named(read_definitions(side, "", "fill.h"))
    assert found["fill"].kind == "kernel" and found["twice"].kind == "function"
    assert found["twice"].params == (Param("x", None, "int"),)


def test_sides_over_the_size_bound_are_skipped() -> None:
    side = hunk("void f(int x);\n" * 30_000)
    assert read_definitions(side, "", "big.cpp") == []


@pytest.fixture
def fresh_parsers() -> Iterator[None]:
    """Parsers built again around the test (they are cached once per process)."""
    c_family._parser.cache_clear()
    c_family._tree_sitter_missing.cache_clear()
    yield
    c_family._parser.cache_clear()
    c_family._tree_sitter_missing.cache_clear()


def test_without_tree_sitter_nothing_is_read_and_that_is_logged_once(
    fresh_parsers: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "tree_sitter", None)  # `import tree_sitter` fails
    side = hunk("__global__ void k(int n) {}")
    with caplog.at_level(logging.INFO, logger="bot.analysis.facts.c_family"):
        assert read_definitions(side, "", "k.cu") == []
        assert read_definitions(side, "", "k.cpp") == []
    assert len([r for r in caplog.records if "tree-sitter" in r.getMessage()]) == 1


def test_extensions() -> None:
    assert {".cu", ".cuh", ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx"} <= EXTENSIONS
    assert {".inl", ".ipp"} <= EXTENSIONS and ".py" not in EXTENSIONS


# -- arbitrary text ----------------------------------------------------------------------------

_C_PIECES = [
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "<",
    ">",
    ";",
    ",",
    "=",
    "*",
    "&",
    "::",
    ":",
    "...",
    "~",
    "<<<",
    ">>>",
    "f",
    "g",
    "x",
    "Foo",
    "_h",
    "T",
    "static",
    "namespace",
    "class",
    "struct",
    "public:",
    "private:",
    "void",
    "int",
    "const",
    "operator",
    "return",
    "__global__",
    "1'000",
    '"',
    "'",
    "/*",
    "*/",
    "//",
    "\n",
    "\n  ",
    " ",
    "#if X\n",
    "#define M(a) (a\n",
    "\\\n",
    "template <typename T>",
    "__device__ __forceinline__",
    "namespace {",
    'extern "C"',
    "= 0",
    "= default",
    'R"(',
]
_C_TOKENS = st.sampled_from(_C_PIECES)
_SECTIONS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "class Foo {",
            "struct Foo<2> {",
            "namespace detail {",
            "namespace {",
            "void f(int a,",
            "static inline void g(Params& p,",
            "template <typename T>",
        ]
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    pieces=st.lists(st.one_of(_C_TOKENS, st.text(max_size=8)), max_size=120),
    changed=st.sets(st.integers(min_value=-3, max_value=80), max_size=20),
    section=_SECTIONS,
    extension=st.sampled_from(sorted(EXTENSIONS)),
)
def test_arbitrary_text_never_raises_and_reads_well_formed(
    pieces: list[str], changed: set[int], section: str, extension: str
) -> None:
    side = Side("".join(pieces).split("\n"), changed)
    found = read_definitions(side, section, f"src/file{extension}")
    assert_well_formed(found, side)
