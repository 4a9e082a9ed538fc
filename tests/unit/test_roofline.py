"""Roofline operator model and the profile step: calibration error, monotonicity, parallelism, memory, MoE, catalog."""

from __future__ import annotations

import statistics

import pytest

from disagg_pipelines import catalog
from disagg_pipelines import profile as profile_step
from disagg_pipelines.domain.errors import (
    InsufficientMemory,
    InvalidInput,
    InvalidParallelism,
)
from disagg_pipelines.domain.model import MlaSpec, ModelSpec, MoeSpec
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.profile import roofline

BF16, FP8 = Precision.parse("bf16"), Precision.parse("fp8")
H100 = catalog.load_gpu("h100-sxm")
LLAMA_8B = ModelSpec(name="llama-8b", num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8,
                     head_dim=128, intermediate_size=14336, vocab_size=128256)
MOE = ModelSpec(name="moe-30b-a3b", architecture="Qwen3MoeForCausalLM", num_layers=48, hidden_size=2048,
                num_attention_heads=32, num_kv_heads=4, head_dim=128, intermediate_size=6144, vocab_size=151936,
                qk_norm=True, moe=MoeSpec(num_experts=128, experts_per_token=8, expert_intermediate_size=768))
MLA = ModelSpec(name="mla-small", architecture="DeepseekV3ForCausalLM", num_layers=8, hidden_size=2048,
                num_attention_heads=16, num_kv_heads=16, head_dim=128, intermediate_size=8192, vocab_size=32000,
                mla=MlaSpec(kv_lora_rank=512, q_lora_rank=1536, qk_nope_head_dim=128, qk_rope_head_dim=64,
                            v_head_dim=128),
                moe=MoeSpec(num_experts=64, experts_per_token=6, expert_intermediate_size=1408, num_shared_experts=2,
                            first_dense_layers=1))
SLIDING = LLAMA_8B.model_copy(update={"name": "sliding", "sliding_window_tokens": 128, "num_sliding_layers": 16})


# ---- operator error against the measured H100 timings ----------------------------------------------------------
def test_operator_error_against_h100_calibration() -> None:
    points = roofline.calibration_points(catalog.load_calibration(), H100, roofline.H100_FIT)
    families: dict[str, list[float]] = {}
    for family, _, measured, predicted in points:
        families.setdefault(family, []).append(abs(predicted / measured - 1))
    assert set(families) == {"gemm", "gemm_fp8", "attn_prefill", "attn_decode"}
    assert len(families["gemm"]) == 105 and len(families["gemm_fp8"]) == 72
    every = [e for errs in families.values() for e in errs]
    summary = {f: (statistics.median(e), max(e)) for f, e in families.items()}
    print("\n" + "\n".join(f"{f}: median {100 * m:.1f} % max {100 * x:.1f} %" for f, (m, x) in summary.items()))
    assert statistics.median(every) <= 0.10
    for family, (median, worst) in summary.items():
        assert median <= 0.10, family
        assert worst <= 0.40, family


def test_large_gemm_is_compute_bound_and_small_is_bandwidth_bound() -> None:
    fit = roofline.H100_FIT
    big = roofline.gemm_ms(8192, 8192, 8192, H100, fit, floor_us=0, sustained=False)
    assert 2 * 8192**3 / (big * 1e-3) / 1e12 == pytest.approx(989.4 * fit.gemm_bf16_eff, rel=0.01)
    small = roofline.gemm_ms(1, 4096, 128256, H100, fit, floor_us=0)
    weight_bytes = 2 * 4096 * 128256
    assert weight_bytes / (small * 1e-3) / 1e9 == pytest.approx(3350 * fit.hbm_eff, rel=0.02)


def test_fp8_gemm_reads_half_the_weight_bytes() -> None:
    fit = roofline.H100_FIT
    bf16 = roofline.gemm_ms(1, 8192, 57344, H100, fit, "bf16", floor_us=0)
    fp8 = roofline.gemm_ms(1, 8192, 57344, H100, fit, "fp8", floor_us=0)
    assert fp8 / bf16 == pytest.approx(0.5, rel=0.02)


# ---- profile tables ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", [LLAMA_8B, MOE, MLA, SLIDING], ids=lambda m: m.name)
def test_more_tokens_never_cheaper(model: ModelSpec) -> None:
    p = profile_step.profile(model, H100, BF16)
    for table in (p.token_ms, p.prefill_attn_ms, p.decode_attn_ms, p.sample_ms):
        assert table is not None
        assert all(b >= a for a, b in zip(table.ms, table.ms[1:]))
    prefill = [p.prefill_ms(1, s) for s in range(64, 40000, 397)]
    assert all(b >= a for a, b in zip(prefill, prefill[1:]))
    decode = [p.decode_ms(b, 2048) for b in range(1, 300, 7)]
    assert all(b >= a for a, b in zip(decode, decode[1:]))


def test_llama_8b_end_to_end_magnitudes() -> None:
    """Weights-bound decode near HBM speed; prefill near the chained-GEMM rate measured on an H100."""
    p = profile_step.profile(LLAMA_8B, H100, BF16)
    weights_ms = LLAMA_8B.weight_bytes(BF16) / (3350e9 * roofline.H100_FIT.hbm_eff) * 1e3
    assert weights_ms < p.decode_ms(1, 1024) < 1.25 * weights_ms
    assert p.decode_ms(64, 4096) > p.decode_ms(64, 1024) + 0.8 * 64 * 3072 * 131072 / 3e12 * 1e3
    linear_flops = 2 * 8192 * (LLAMA_8B.linear_params)
    assert p.prefill_ms(1, 8192) > linear_flops / (989.4e12 * roofline.H100_FIT.gemm_bf16_eff) * 1e3
    # lm_head runs for the sampled token only: doubling the prompt far less than doubles the lm_head share
    assert p.sample_ms is not None and p.sample_ms.at(1) < 0.5


def test_tp2_splits_weights_and_speeds_decode() -> None:
    one, two = (profile_step.profile(LLAMA_8B, H100, BF16, tp=t) for t in (1, 2))
    embed = (LLAMA_8B.embedding_params + LLAMA_8B.lm_head_params) * 2 / 2**30
    assert two.memory.weights_gib == pytest.approx(one.memory.weights_gib / 2, rel=0.01)
    assert two.memory.weights_gib < one.memory.weights_gib - embed / 2 + 0.1
    assert two.memory.kv_bytes_per_token == one.memory.kv_bytes_per_token / 2
    assert two.decode_ms(1, 1024) < 0.75 * one.decode_ms(1, 1024)
    # the all-reduce costs something: TP=2 is slower than half of TP=1 for a small step
    assert two.token_ms.at(1) > one.token_ms.at(1) / 2


def test_kv_heads_replicate_beyond_their_count() -> None:
    four = profile_step.profile(LLAMA_8B.model_copy(update={"num_kv_heads": 4}), H100, BF16, tp=8)
    assert four.memory.kv_bytes_per_token == 32 * 2 * 1 * 128 * 2          # one KV head per GPU, not half of one
    mla = profile_step.profile(MLA, H100, BF16, tp=4)
    assert mla.memory.kv_bytes_per_token == 8 * (512 + 64) * 2             # MLA latent replicated per rank


def test_fp8_halves_weight_bytes() -> None:
    bf16, fp8 = (profile_step.profile(LLAMA_8B, H100, p) for p in (BF16, FP8))
    other = (LLAMA_8B.total_params - LLAMA_8B.linear_params) * 2 / 2**30
    assert fp8.memory.weights_gib - other == pytest.approx((bf16.memory.weights_gib - other) / 2, rel=0.01)
    assert fp8.memory.kv_bytes_per_token == bf16.memory.kv_bytes_per_token / 2
    assert fp8.decode_ms(1, 1024) < 0.65 * bf16.decode_ms(1, 1024)


def test_memory_capacity_math() -> None:
    p = profile_step.profile(LLAMA_8B, H100, BF16)
    m = p.memory
    assert m.kv_bytes_per_token == 32 * 2 * 8 * 128 * 2
    free = (m.hbm_gib - m.weights_gib - m.activation_reserve_gib) * 2**30
    assert m.kv_tokens_capacity == int(free // m.kv_bytes_per_token)
    assert m.weights_gib == pytest.approx(LLAMA_8B.weight_bytes(BF16) / 2**30, rel=1e-3)
    assert p.kv_fits(64, 4096) and not p.kv_fits(256, 4096)


def test_moe_loads_active_experts_for_few_tokens_and_all_for_many() -> None:
    shard = roofline.Shard(MOE, 1, 1, 1)
    fit = roofline.H100_FIT
    one = roofline.moe_ms(1, shard, H100, BF16, fit)
    many = roofline.moe_ms(4096, shard, H100, BF16, fit)
    expert_bytes = MOE.expert_params * 2
    bw = 3350e9 * fit.hbm_eff
    k_ms = 8 * expert_bytes / bw * 1e3
    all_ms = 128 * expert_bytes / bw * 1e3
    assert k_ms < one < 2 * k_ms + 0.05                 # ~k experts read for one token
    assert many > all_ms                                 # every expert read (and compute on top)
    p = profile_step.profile(MOE, H100, BF16)
    assert p.decode_ms(1, 1024) < 0.5 * MOE.weight_bytes(BF16) / bw * 1e3


def test_sliding_window_cuts_attention() -> None:
    full, sliding = (profile_step.profile(m, H100, BF16) for m in (LLAMA_8B, SLIDING))
    assert sliding.prefill_attn_ms.at(16384) < 0.6 * full.prefill_attn_ms.at(16384)
    assert sliding.decode_attn_ms.at(64 * 4096) < 0.6 * full.decode_attn_ms.at(64 * 4096)
    assert sliding.decode_attn_ms_per_seq > 0


def test_provenance_calibrated_on_h100_spec_derived_elsewhere() -> None:
    assert profile_step.profile(LLAMA_8B, H100, BF16).provenance["token_ms"] == "calibrated"
    other = next(g for g in catalog.list_gpus() if g != "h100-sxm") if len(catalog.list_gpus()) > 1 else None
    if other:
        p = profile_step.profile(LLAMA_8B, catalog.load_gpu(other), BF16)
        assert p.provenance["token_ms"] == "spec-derived"


# ---- errors -----------------------------------------------------------------------------------------------------
def test_tp_not_dividing_heads_names_valid_values() -> None:
    with pytest.raises(InvalidParallelism, match=r"tp=3 does not divide the 32 attention heads.*\[1, 2, 4, 8\]"):
        profile_step.profile(LLAMA_8B, H100, BF16, tp=3)


def test_tp_beyond_nvlink_domain() -> None:
    with pytest.raises(InvalidParallelism, match=r"tp=16 exceeds the NVLink domain of h100-sxm \(8 GPUs\)"):
        profile_step.profile(LLAMA_8B, H100, BF16, tp=16)


def test_ep_needs_moe_and_divides_tp() -> None:
    with pytest.raises(InvalidParallelism, match="ep=2 needs a mixture-of-experts"):
        profile_step.profile(LLAMA_8B, H100, BF16, tp=2, ep=2)
    with pytest.raises(InvalidParallelism, match=r"ep=4 must divide tp=2"):
        profile_step.profile(MOE, H100, BF16, tp=2, ep=4)
    assert profile_step.profile(MOE, H100, BF16, tp=2, ep=2).memory.fits


def test_insufficient_memory_says_gib_and_smallest_tp() -> None:
    big = LLAMA_8B.model_copy(update={"name": "big", "num_layers": 160, "hidden_size": 8192, "num_attention_heads": 64,
                                      "intermediate_size": 28672})
    with pytest.raises(InsufficientMemory, match=r"needs \d+\.\d GiB per GPU.*79\.6 GiB is available; "
                                                 r"the smallest tp that fits is 4"):
        profile_step.profile(big, H100, BF16)


def test_unknown_method() -> None:
    with pytest.raises(InvalidInput, match="unknown profiling method 'torch'"):
        profile_step.profile(LLAMA_8B, H100, BF16, method="torch")  # type: ignore[arg-type]


# ---- every catalog model on every catalog GPU -------------------------------------------------------------------
CASES = [(m, g) for m in catalog.list_models() for g in catalog.list_gpus()]


@pytest.mark.parametrize("model_id,gpu_name", CASES, ids=[f"{m}@{g}" for m, g in CASES])
def test_every_catalog_model_on_every_gpu(model_id: str, gpu_name: str) -> None:
    model, gpu = catalog.load_model(model_id), catalog.load_gpu(gpu_name)
    precision = Precision.parse(model.native_precision)
    tp = profile_step.smallest_fitting_tp(model, gpu, precision)
    if tp is None:
        with pytest.raises(InsufficientMemory, match="no tp up to"):
            profile_step.profile(model, gpu, precision, tp=profile_step.valid_tp(model, gpu)[-1])
        return
    p = profile_step.profile(model, gpu, precision, tp=tp)
    assert p.memory.kv_tokens_capacity >= profile_step.MIN_KV_TOKENS
    assert 0 < p.decode_ms(1, 1024) < p.decode_ms(64, 1024) < p.prefill_ms(1, 8192)
    smaller = [t for t in profile_step.valid_tp(model, gpu) if t < tp]
    if smaller:
        with pytest.raises(InsufficientMemory):
            profile_step.profile(model, gpu, precision, tp=smaller[-1])
