"""CPU smoke test of benchmarks/gpu/e2e_dense.py: the script the lead runs once on an H100.

The CUDA-only parts (events, graph capture) cannot run here; everything they wrap (the model, the KV-cache views,
the decode plan, the JSON document, the tables, the torch.compile path through Inductor's CPU backend) runs on CPU
with tiny shapes.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (optional extra 'torch'); the script needs it")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "e2e_dense.py"


@pytest.fixture(scope="module")
def e2e() -> ModuleType:
    spec = importlib.util.spec_from_file_location("e2e_dense_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


def test_quick_cpu_run_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "res" / "e2e.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--device", "cpu", "--configs", "tiny,tiny-qk", "--out", str(out)],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["complete"] is True and doc["schema_version"] == "v1"
    assert doc["environment"]["torch_version"] == torch.__version__
    assert doc["environment"]["device_type"] == "cpu"
    points = doc["points"]
    for name in ("tiny", "tiny-qk"):
        mine = [p for p in points if p["config"] == name]
        assert {(p["phase"], p["batch"], p["isl_tokens"], p["context_tokens"]) for p in mine} == {
            ("prefill", 1, 64, None), ("decode", 1, None, 32), ("decode", 4, None, 32)}
        for p in mine:
            assert p["error"] is None and p["skipped_reason"] is None, p
            assert 0 < p["ms_p10"] <= p["ms_median"] <= p["ms_p90"]
            assert p["graph"] is False and p["iterations"] == 1
        info = doc["configs"][name]
        assert info["weight_params"] == e2e_shape_total(info["shape"])
        assert info["kv_alloc_tokens"] == 4 * 33            # largest point that fits: batch 4 x (32 + 1)
        assert doc["sanity"][name]["prefill_tflops_per_s"] > 0
        assert doc["sanity"][name]["decode_weight_gb_per_s"] > 0
    assert "== tiny: prefill, batch 1, ms median" in proc.stdout
    assert "== sanity" in proc.stdout


def e2e_shape_total(shape: dict) -> int:
    """Parameter count written out independently of the script's own property."""
    h, q, kv, inter, vocab = (shape["hidden_size"], shape["num_heads"] * shape["head_dim"],
                              shape["num_kv_heads"] * shape["head_dim"], shape["intermediate_size"],
                              shape["vocab_size"])
    per_layer = h * (q + 2 * kv) + q * h + 3 * h * inter + 2 * h + (2 * shape["head_dim"] if shape["qk_norm"] else 0)
    return shape["num_layers"] * per_layer + h + 2 * vocab * h


def test_points_over_the_kv_budget_are_skipped_with_the_reason(e2e: ModuleType, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # tiny: 2 layers x 2 (K, V) x 2 kv heads x 16 x 2 bytes = 256 bytes per token; batch 1 needs 33 x 256 = 8448 B,
    # batch 4 needs 33792 B; a 20000-byte budget keeps the first only.
    out = tmp_path / "e2e.json"
    rc = e2e.main(["--quick", "--device", "cpu", "--out", str(out), "--kv-budget-gib", str(20000 / 1024**3)])
    assert rc == 0
    doc = json.loads(out.read_text())
    decode = {p["batch"]: p for p in doc["points"] if p["phase"] == "decode"}
    assert decode[1]["ms_median"] > 0 and decode[1]["skipped_reason"] is None
    assert decode[4]["ms_median"] is None
    assert "batch 4 x context 32+1" in decode[4]["skipped_reason"]
    assert doc["configs"]["tiny"]["kv_bytes_per_token"] == 256
    assert doc["configs"]["tiny"]["kv_alloc_tokens"] == 33
    assert "skip" in capsys.readouterr().out


def test_h100_plan_skips_exactly_the_points_whose_kv_does_not_fit(e2e: ModuleType) -> None:
    # 80 GB H100 after ~15 GiB of llama-8b weights: ~64 GiB free -> 0.9 x 64 - 1 = 56.6 GiB for the KV cache.
    # llama-3.1-8b: 128 KiB of KV per token, so at most ~463k tokens: 64 x 4097 fits, 128 x 4097 does not.
    shape = e2e.CONFIGS["llama-3.1-8b"]
    assert shape.kv_bytes_per_token(2) == 128 * 1024
    plan = e2e.decode_plan(shape, e2e.FULL_SWEEP, int(56.6 * 1024**3), 2)
    skipped = {key for key, reason in plan.items() if reason is not None}
    assert skipped == {(128, 4096), (256, 4096), (256, 2048)}
    assert "batch 256 x context 4096+1" in plan[(256, 4096)]
    assert len(plan) == 21


def test_decode_from_the_cache_equals_the_full_forward(e2e: ModuleType) -> None:
    """Prefill 20 tokens into the cache, decode the 21st: same logits as one causal pass over all 21 tokens
    (checks RoPE positions, the cache write position and the attention span of the decode path)."""
    torch.manual_seed(0)
    for name in ("tiny", "tiny-qk"):
        shape = e2e.CONFIGS[name]
        model = e2e.DenseDecoder(shape, torch.device("cpu"), torch.float32, "enable_gqa", max_positions=64)
        batch, seq = 3, 20
        ids = torch.randint(0, shape.vocab_size, (batch, seq + 1))
        pos = torch.arange(seq + 1).expand(batch, -1)
        n = batch * shape.num_kv_heads * (seq + 1) * shape.head_dim
        k_store = [torch.zeros(n + 7) for _ in range(shape.num_layers)]       # views use the front of the storage
        v_store = [torch.zeros(n + 7) for _ in range(shape.num_layers)]
        cache = e2e.kv_views(k_store, v_store, shape, batch, seq + 1)
        full = model.forward(ids, pos)
        prefill = model.forward(ids[:, :seq], pos[:, :seq], cache, write_pos=0)
        decode = model.forward(ids[:, seq:], pos[:, seq:], cache, write_pos=seq)
        assert full.shape == decode.shape == (batch, shape.vocab_size)
        torch.testing.assert_close(decode, full, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(prefill, model.forward(ids[:, :seq], pos[:, :seq]), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(decode, prefill, atol=1e-3)   # a different token at a different position
        assert model.param_count() == shape.total_params == e2e_shape_total(e2e.dataclasses.asdict(shape))


def test_gqa_by_enable_gqa_and_by_repeated_heads_agree_with_naive_attention(e2e: ModuleType) -> None:
    torch.manual_seed(1)
    b, heads, kv_heads, d = 2, 8, 2, 16
    for sq, skv, causal in ((1, 9, False), (7, 7, True)):
        q = torch.randn(b, heads, sq, d)
        k, v = torch.randn(b, kv_heads, skv, d), torch.randn(b, kv_heads, skv, d)
        group = heads // kv_heads
        kr, vr = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)   # head h uses kv head h // group
        scores = q @ kr.transpose(-1, -2) / d**0.5
        if causal:
            scores = scores.masked_fill(torch.ones(sq, skv, dtype=torch.bool).triu(1), float("-inf"))
        naive = scores.softmax(-1) @ vr
        for mode in ("enable_gqa", "repeat"):
            torch.testing.assert_close(e2e.attend(q, k, v, causal, mode), naive, rtol=1e-5, atol=1e-5)


def test_shapes_match_the_model_catalog(e2e: ModuleType) -> None:
    from disagg_pipelines.catalog import load_model
    from disagg_pipelines.domain.precision import Precision

    for name, hf_id in (("llama-3.1-8b", "meta-llama/Llama-3.1-8B"), ("qwen3-8b", "Qwen/Qwen3-8B")):
        spec, shape = load_model(hf_id), e2e.CONFIGS[name]
        assert (shape.num_layers, shape.hidden_size, shape.num_heads, shape.num_kv_heads, shape.head_dim,
                shape.intermediate_size, shape.vocab_size, shape.qk_norm) == (
            spec.num_layers, spec.hidden_size, spec.num_attention_heads, spec.num_kv_heads, spec.head_dim,
            spec.intermediate_size, spec.vocab_size, spec.qk_norm)
        assert shape.total_params == spec.total_params
        assert shape.kv_bytes_per_token(2) == spec.kv_bytes_per_token(Precision())


def test_percentile_interpolates(e2e: ModuleType) -> None:
    assert e2e.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert e2e.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 10) == pytest.approx(1.4)
    assert e2e.percentile([7.0], 90) == 7.0


def test_unknown_config_is_one_line_and_exit_2(e2e: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert e2e.main(["--device", "cpu", "--configs", "llama-9b"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "llama-9b" in err and "llama-3.1-8b" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_device_is_one_line_and_exit_2(e2e: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert e2e.main(["--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--device cpu" in err


def inductor_unavailable() -> str | None:
    """Why torch.compile's Inductor backend cannot build CPU kernels here, or None when it can."""
    if importlib.util.find_spec("torch._inductor") is None:
        return f"torch {torch.__version__} has no torch._inductor"
    if not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
        return "no C++ compiler on PATH (Inductor's CPU backend builds its kernels with one)"
    return None


@pytest.mark.skipif(inductor_unavailable() is not None, reason=str(inductor_unavailable()))
def test_compiled_layers_give_the_eager_logits_and_compile_three_graphs_each(tmp_path: Path) -> None:
    """--compile on CPU: every point runs the Inductor-compiled layers, and their logits match the eager layers'
    within bf16 rounding. Compiled kernels keep fp32 inside a fused op where eager rounds every op's output to bf16
    (eps 2**-8), so logits of size ~3 differ by a few bf16 steps; 0.03 x max|logit| (about 8 eps) allows that, and a
    wrong or missing op (RoPE, a norm, the residual) moves the logits by O(1). Cold, this takes ~40 s on 2 cores,
    most of it g++ building the kernels; Inductor's on-disk cache makes reruns ~15 s."""
    out = tmp_path / "e2e.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--device", "cpu", "--configs", "tiny-qk", "--compile",
         "--out", str(out)],
        capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["complete"] is True and doc["settings"]["compile"] is True
    points = doc["points"]
    assert [(p["phase"], p["batch"]) for p in points] == [("prefill", 1), ("decode", 1), ("decode", 4)]
    for p in points:
        assert p["error"] is None and p["skipped_reason"] is None, p
        assert p["compiled"] is True and p["ms_median"] > 0
        assert p["eager_logits_max_abs"] > 0.5                    # logits of a real size: the tolerance means something
        assert 0.0 <= p["compiled_vs_eager_max_abs_diff"] <= 0.03 * p["eager_logits_max_abs"], p
        # each point brings one new shape class: [1, 64] prefill, [1, 1] decode, [4, 1] decode (batch dim dynamic)
        assert p["compiles"] == 2 and p["compile_s"] > 0, p
    compile_info = doc["configs"]["tiny-qk"]["compile"]
    assert compile_info["graphs"] == {"attn_in": 3, "attn_out_mlp": 3}
    assert compile_info["recompiles"] == {"attn_in": 2, "attn_out_mlp": 2}
    assert compile_info["total_compile_s"] == pytest.approx(sum(p["compile_s"] for p in points), abs=0.01)
    assert "eager+compiled" in proc.stdout


def test_phases_limit_the_points_and_a_bad_phase_is_refused(e2e: ModuleType, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "e2e.json"
    assert e2e.main(["--quick", "--device", "cpu", "--out", str(out), "--phases", "decode"]) == 0
    doc = json.loads(out.read_text())
    assert {p["phase"] for p in doc["points"]} == {"decode"} and doc["settings"]["phases"] == ["decode"]
    assert all(p["compiled"] is False and p["compiled_vs_eager_max_abs_diff"] is None for p in doc["points"])
    with pytest.raises(SystemExit) as exc:
        e2e.main(["--device", "cpu", "--phases", "prefil"])
    assert exc.value.code == 2 and "prefil" in capsys.readouterr().err


def test_a_config_whose_compiles_keep_failing_stops_compiling(e2e: ModuleType, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Each failed compile costs seconds on a one-shot GPU run: after two failures the config's other points are
    recorded as skipped instead of compiling again."""
    dynamo_config = torch._dynamo.config
    for name in ("automatic_dynamic_shapes", "recompile_limit", "cache_size_limit"):   # restored after the test
        if hasattr(dynamo_config, name):
            monkeypatch.setattr(dynamo_config, name, getattr(dynamo_config, name))

    def refusing_backend(self: object, name: str):  # type: ignore[no-untyped-def]
        def backend(gm: object, example_inputs: object) -> object:
            raise RuntimeError(f"refused to compile {name}")
        return backend

    monkeypatch.setattr(e2e.LayerCompiler, "_backend", refusing_backend)
    out = tmp_path / "e2e.json"
    try:
        assert e2e.main(["--quick", "--device", "cpu", "--compile", "--out", str(out)]) == 0
    finally:
        torch._dynamo.reset()
    points = json.loads(out.read_text())["points"]
    assert [p["phase"] for p in points] == ["prefill", "decode", "decode"]
    assert all("refused to compile attn_in" in p["error"] for p in points[:2]), points
    assert points[2]["error"] is None and "failed to compile" in points[2]["skipped_reason"]


def test_kernel_breakdown_alone_records_categories_whose_shares_sum_to_one(e2e: ModuleType, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """--kernel-breakdown --phases none on CPU: no timed points, one profiled prefill and decode entry per config.
    CPU has no kernels, so the aten ops (self time) stand in for them; the matmuls must land in 'gemm' and SDPA in
    'attention', and the top list must be sorted and no longer than 15."""
    out = tmp_path / "e2e.json"
    assert e2e.main(["--quick", "--device", "cpu", "--kernel-breakdown", "--phases", "none", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["complete"] is True and doc["points"] == [] and doc["settings"]["kernel_breakdown"] is True
    entry = doc["kernel_breakdown"]["tiny"]
    assert entry["compiled"] is False and "decode_graph" not in entry       # graphs need cuda
    assert (entry["prefill"]["isl_tokens"], entry["decode"]["batch"], entry["decode"]["context_tokens"]) == (64, 4, 32)
    for key in ("prefill", "decode"):
        e = entry[key]
        assert e["error"] is None and e["skipped_reason"] is None and e["source"] == "cpu ops (self time)", e
        assert e["reps"] == 2 and e["total_ms_per_step"] > 0
        cats = e["categories"]
        assert set(cats) == {"gemm", "attention", "fused", "norm", "other"}
        assert sum(c["share"] for c in cats.values()) == pytest.approx(1.0, abs=1e-4)
        assert sum(c["ms_per_step"] for c in cats.values()) == pytest.approx(e["total_ms_per_step"], rel=1e-3)
        assert cats["gemm"]["ms_per_step"] > 0 and cats["attention"]["ms_per_step"] > 0
        assert cats["fused"]["ms_per_step"] == 0                              # eager layers: nothing Inductor-made
        top = e["top_kernels"]
        assert 0 < len(top) <= 15 and [k["ms_per_step"] for k in top] == sorted((k["ms_per_step"] for k in top),
                                                                                  reverse=True)
        # 2 layers x (qkv, o, gate_up, down) + lm_head = 9 matmuls per step
        mm = next(k for k in top if k["name"] == "aten::mm")
        assert mm["category"] == "gemm" and mm["calls_per_step"] == 9
    printed = capsys.readouterr().out
    assert "kernel breakdown, prefill B=1 isl=64" in printed and "top 15 by time" in printed


def test_kernel_names_fall_in_the_documented_categories(e2e: ModuleType) -> None:
    kb = sys.modules["kernel_breakdown"]
    cases = {
        "nvjet_tst_128x256_64x4_1x2_h_bz_coopA_NTN": "gemm",
        "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x256x64": "gemm",
        "void cutlass::Kernel2<cutlass_80_tensorop_bf16_s16816gemm_relu_bf16_64x64_64x4_tn_align8>(...)": "gemm",
        "void gemv2T_kernel_val<int, int, __nv_bfloat16, float, float, 128, 16, 4, 4, false>(...)": "gemm",
        "void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4, cutlass::bfloat16_t>>(...)":
            "attention",
        "fmha_cutlassF_bf16_aligned_64x64_rf_sm80": "attention",
        "triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0": "fused",
        "triton_tem_fused_mm_0": "gemm",
        "void at::native::(anonymous namespace)::vectorized_layer_norm_kernel<float, float>(...)": "norm",
        "void at::native::elementwise_kernel<128, 2, ...>": "other",
        "Memset (Device)": "other",
    }
    for name, category in cases.items():
        assert kb.categorise(name) == category, name
    summary = kb.summarise([("nvjet_a", 30.0), ("flash_fwd", 10.0), ("nvjet_a", 30.0), ("memcpy", 0.0)], reps=2)
    assert summary["total_ms_per_step"] == pytest.approx(0.035)
    assert summary["categories"]["gemm"] == {"ms_per_step": 0.03, "share": pytest.approx(60 / 70, abs=1e-6),
                                             "calls_per_step": 1.0}
    assert summary["top_kernels"][0]["name"] == "nvjet_a" and len(summary["top_kernels"]) == 3
    def failing_step() -> None:
        raise RuntimeError("profiler refused")

    failed = kb.breakdown_step(failing_step, torch.device("cpu"), warmup=0, reps=1)
    assert failed["error"] == "RuntimeError: profiler refused" and "categories" not in failed
    assert "profiler failed: RuntimeError: profiler refused" in kb.format_breakdown("x", failed)[0]
