"""Roofline operator model: (ModelSpec, GpuSpec, Precision, TP x PP x EP, OperatorFit) -> the cost tables of a Profile.

Each operator costs

    t = (compute^p + memory^p)^(1/p) + floor
    compute = FLOPs / (peak x eff x sustained) x (1 + m_half / M)      (small-M GEMMs are far from peak)
    memory  = bytes / (HBM bandwidth x hbm_eff)

with peaks and bandwidths from the GpuSpec and the efficiencies, ramp, overlap exponent and floors from an
OperatorFit. ``H100_FIT`` was fitted to the measured H100 operator timings (catalog/calibration/h100-sxm-operators.json;
``python3 benchmarks/operator_error.py --fit`` refits it) and checked against back-to-back GEMM chains on an H100.

An engine step is composed the way optimized engines run it: fused QKV and gate_up GEMMs, flash attention (split-KV
for decode), fused residual-add + RMSNorm, fused SiLU x mul, rope + KV-cache write, CUDA graphs (no per-call host
floor; each kernel pays only ``kernel_floor_us`` / ``elementwise_floor_us``), lm_head only for sampled tokens.
"""

from __future__ import annotations

import math

from disagg_pipelines.domain.calibration import OperatorFit
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.profile import CostTable

# Fitted by benchmarks/operator_error.py --fit (Nelder-Mead on log error, 187 operator timings of
# catalog/calibration/h100-sxm-operators.json); the floors below come from elsewhere, as cited.
H100_FIT = OperatorFit(
    fitted_on="h100-sxm",
    gemm_bf16_eff=0.747,          # 739 TFLOP/s of 989.4 (calibration: 8192^3 bf16 peak measured 747)
    gemm_fp8_eff=0.702,           # 1,389 TFLOP/s of 1,978.9 (calibration: 8192^3 fp8 peak measured 1,387)
    hbm_eff=0.893,                # 2,993 GB/s of 3,350 (calibration: 4 GiB copy measured 2,989 GB/s)
    gemm_m_half_tokens=11.8,
    overlap_exponent=4.5,
    attn_prefill_eff=0.661,
    attn_s_half_tokens=365.0,
    attn_cta_gb_per_s=55.2,
    isolated_call_us=34.1,        # host/launch floor of one synchronised torch call; absent inside an engine step
    # A CUDA graph of Llama-3.1-8B's 128 projection GEMMs (M=1..256) and the same chain eager at M=512..8192, timed
    # on an H100 SXM (torch 2.11, cu130) for this project: the chain takes bytes/bw + ~3.8 us per GEMM, not +34 us;
    # long chains run ~4 % below the isolated-GEMM rate (clocks under sustained load).
    kernel_floor_us=3.8,
    sustained_clock_factor=0.96,
    # Assumed: a CUDA-graph kernel node launches in ~1-2 us and a fused norm/rope kernel of a few KiB runs ~1 us
    # (NVIDIA blog "Getting Started with CUDA Graphs", https://developer.nvidia.com/blog/cuda-graphs/).
    elementwise_floor_us=2.5,
    # Assumed: graph replay + sampler + input copies of a CUDA-graphed decode step, a few tens of us
    # (vLLM docs, CUDA graphs: https://docs.vllm.ai/en/latest/design/cuda_graphs.html).
    step_overhead_us=40.0,
    # NCCL all-reduce on NVLink/NVSwitch: small-message latency ~10 us and bus bandwidth ~80 % of the link rate
    # (nccl-tests doc/PERFORMANCE.md, https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md;
    # busBw = algBw x 2(n-1)/n); engines with a custom one-shot all-reduce reach ~5-10 us for decode-size messages.
    allreduce_latency_us=8.0,
    allreduce_bus_eff=0.8,
    sources=("catalog/calibration/h100-sxm-operators.json (operator timings, H100 SXM, 2026-11-27)",
             "GEMM-chain probe on H100 SXM (CUDA graph, torch 2.11): 5.17 ms for 32 layers at M=1",
             "https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md",
             "https://docs.vllm.ai/en/latest/design/cuda_graphs.html"),
)

ACT_BYTES = 2                   # activations and outputs are bf16
TOKEN_GRID = tuple(sorted({n for p in range(17) for n in (2**p, 3 * 2**p // 2, 5 * 2**p // 4, 7 * 2**p // 4)
                           if 1 <= n <= 65536}))
KV_GRID = tuple(2**p for p in range(0, 25))   # decode KV tokens read in one step: 1 .. 16M


# ---- single operators --------------------------------------------------------------------------------------------
def _combine(compute_s: float, memory_s: float, fit: OperatorFit) -> float:
    p = fit.overlap_exponent
    return (compute_s**p + memory_s**p) ** (1 / p)


def gemm_ms(m: float, k: int, n: int, gpu: GpuSpec, fit: OperatorFit, weights: str = "bf16",
            floor_us: float | None = None, sustained: bool = True) -> float:
    """``x[M,K] @ w[K,N]``; weights (and the activations fed to the tensor cores) in ``weights`` format."""
    if m <= 0:
        return 0.0
    wbytes = Precision(weights=weights).weight_bytes_per_param
    abytes, eff = _low_precision_inputs(weights, gpu, fit)
    clock = fit.sustained_clock_factor if sustained else 1.0
    compute = 2 * m * k * n / (gpu.dense_tflops(weights) * 1e12 * eff * clock) * (1 + fit.gemm_m_half_tokens / m)
    memory = (m * k * abytes + k * n * wbytes + m * n * ACT_BYTES) / (gpu.hbm_bw_gb_per_s * 1e9 * fit.hbm_eff)
    floor = fit.kernel_floor_us if floor_us is None else floor_us
    return (_combine(compute, memory, fit) + floor * 1e-6) * 1e3


def _low_precision_inputs(weights: str, gpu: GpuSpec, fit: OperatorFit) -> tuple[int, float]:
    """(activation bytes fed to the tensor cores, GEMM efficiency): fp8 activations on GPUs with fp8 tensor cores,
    bf16 (weights upcast) otherwise."""
    if weights != "bf16" and gpu.fp8_native:
        return 1, fit.gemm_fp8_eff
    return ACT_BYTES, fit.gemm_bf16_eff


def memory_ms(nbytes: float, gpu: GpuSpec, fit: OperatorFit, floor_us: float = 0.0) -> float:
    """A bandwidth-bound kernel moving ``nbytes`` (read plus write)."""
    return (nbytes / (gpu.hbm_bw_gb_per_s * 1e9 * fit.hbm_eff) + floor_us * 1e-6) * 1e3


def prefill_attention_ms(s: int, heads: int, qk_dim: int, v_dim: int, gpu: GpuSpec, fit: OperatorFit,
                         window: int | None = None, floor_us: float | None = None, sustained: bool = True) -> float:
    """Causal flash attention of one sequence over ``s`` tokens (``window``: sliding-window attention)."""
    if s <= 0:
        return 0.0
    w = window or s
    pairs = s * s / 2 if s <= w else w * w / 2 + (s - w) * w     # (query, key) pairs attended
    flops = 2 * pairs * heads * (qk_dim + v_dim)
    clock = fit.sustained_clock_factor if sustained else 1.0
    compute = flops / (gpu.bf16_dense_tflops * 1e12 * fit.attn_prefill_eff * clock) * (1 + fit.attn_s_half_tokens / s)
    floor = fit.kernel_floor_us if floor_us is None else floor_us
    return (compute + floor * 1e-6) * 1e3


def decode_attention_ms(kv_bytes: float, flops: float, gpu: GpuSpec, fit: OperatorFit, ctas: int | None = None,
                        floor_us: float | None = None) -> float:
    """Decode attention reading ``kv_bytes`` of KV cache. ``ctas``: parallel blocks when the kernel does not split
    the KV sequence (torch SDPA); None for split-KV kernels (flash-decoding), which fill the GPU."""
    bw = gpu.hbm_bw_gb_per_s * 1e9 * fit.hbm_eff
    if ctas is not None:
        bw = min(bw, ctas * fit.attn_cta_gb_per_s * 1e9)
    compute = flops / (gpu.bf16_dense_tflops * 1e12 * fit.attn_prefill_eff)
    floor = fit.kernel_floor_us if floor_us is None else floor_us
    return (max(kv_bytes / bw, compute) + floor * 1e-6) * 1e3


def allreduce_ms(nbytes: float, tp: int, gpu: GpuSpec, fit: OperatorFit) -> float:
    """Ring all-reduce of ``nbytes`` across ``tp`` GPUs on the scale-up fabric: latency + 2(tp-1)/tp x bytes / bus bw."""
    if tp <= 1 or nbytes <= 0:
        return 0.0
    bw = gpu.scale_up_bw_gb_per_s * 1e9 * fit.allreduce_bus_eff
    return (fit.allreduce_latency_us * 1e-6 + 2 * (tp - 1) / tp * nbytes / bw) * 1e3


# ---- model shapes per GPU ------------------------------------------------------------------------------------------
class Shard:
    """Per-GPU shapes of one model under TP x PP x EP (heads, KV heads, widths, layers of the largest stage)."""

    def __init__(self, model: ModelSpec, tp: int, pp: int, ep: int) -> None:
        self.model, self.tp, self.pp, self.ep = model, tp, pp, ep
        self.heads = model.num_attention_heads // tp
        self.kv_heads = max(1, model.num_kv_heads // tp)          # replicated when tp > num_kv_heads
        self.layers = math.ceil(model.num_layers / pp)
        share = self.layers / model.num_layers
        self.sliding_layers = round(model.num_sliding_layers * share)
        self.moe_layers = round(model.num_moe_layers * share)
        self.dense_layers = self.layers - self.moe_layers
        mla = model.mla
        self.qk_dim = (mla.qk_nope_head_dim + mla.qk_rope_head_dim) if mla else model.head_dim
        self.v_dim = mla.v_head_dim if mla else model.head_dim

    def attention_gemms(self) -> list[tuple[int, int]]:
        """(K, N) of the attention projections of one layer on one GPU (fused QKV for MHA/GQA)."""
        m, h = self.model, self.model.hidden_size
        if m.mla is None:
            return [(h, (self.heads + 2 * self.kv_heads) * m.head_dim), (self.heads * m.head_dim, h)]
        a = m.mla
        gemms = [(h, a.kv_lora_rank + a.qk_rope_head_dim)]                    # kv_a: replicated
        if a.q_lora_rank:
            gemms += [(h, a.q_lora_rank), (a.q_lora_rank, self.heads * self.qk_dim)]
        else:
            gemms.append((h, self.heads * self.qk_dim))
        gemms += [(a.kv_lora_rank, self.heads * (a.qk_nope_head_dim + a.v_head_dim)), (self.heads * a.v_head_dim, h)]
        return gemms

    @property
    def kv_elements_per_token_per_layer(self) -> int:
        """KV elements one token adds to one layer on one GPU (MLA's latent is replicated on every TP rank)."""
        if self.model.mla is not None:
            return self.model.mla.kv_lora_rank + self.model.mla.qk_rope_head_dim
        return 2 * self.kv_heads * self.model.head_dim

    def decode_flops_per_kv_token_per_layer(self) -> float:
        if self.model.mla is not None:      # absorbed MLA: scores over the latent + rope, values over the latent
            a = self.model.mla
            return 2 * self.heads * (2 * a.kv_lora_rank + a.qk_rope_head_dim)
        return 2 * self.heads * (self.qk_dim + self.v_dim)

    def weight_bytes(self, precision: Precision) -> float:
        """Weights resident on each GPU of the largest pipeline stage."""
        m, tp, wb = self.model, self.tp, precision.weight_bytes_per_param
        attn = sum(k * n for k, n in self.attention_gemms())
        if m.attention_bias:
            attn += (self.heads + 2 * self.kv_heads) * m.head_dim
        dense = 3 * m.hidden_size * m.intermediate_size / tp
        moe = 0.0
        if m.moe is not None:
            moe = m.moe.num_experts * m.expert_params / tp + m.moe_shared_params_per_layer / tp \
                + m.hidden_size * m.moe.num_experts * (1 - 1 / tp)      # router replicated
        linear = self.layers * attn + self.dense_layers * dense + self.moe_layers * moe
        other = self.layers * m.norm_params_per_layer + (m.embedding_params + m.lm_head_params) / tp + m.hidden_size
        return linear * wb + other * ACT_BYTES


# ---- cost tables -------------------------------------------------------------------------------------------------
def token_table(shard: Shard, gpu: GpuSpec, precision: Precision, fit: OperatorFit) -> CostTable:
    return CostTable(x=tuple(float(t) for t in TOKEN_GRID),
                     ms=_monotone([token_ms(t, shard, gpu, precision, fit) for t in TOKEN_GRID]))


def token_ms(t: int, shard: Shard, gpu: GpuSpec, precision: Precision, fit: OperatorFit) -> float:
    """Token-proportional cost of one step with ``t`` new tokens on one GPU of the largest stage (no lm_head)."""
    m, w, h = shard.model, precision.weights, shard.model.hidden_size
    ef = fit.elementwise_floor_us
    attn = sum(gemm_ms(t, k, n, gpu, fit, w) for k, n in shard.attention_gemms())
    # fused add+RMSNorm x2 (read x, residual; write both), rope on q/k, KV-cache write (+ per-head q/k norm)
    qk_elems = (shard.heads * shard.qk_dim + shard.kv_heads * shard.qk_dim)
    elementwise = 2 * memory_ms(t * 8 * h, gpu, fit, ef) + memory_ms(t * 4 * qk_elems, gpu, fit, ef) \
        + memory_ms(t * shard.kv_elements_per_token_per_layer * (ACT_BYTES + precision.kv_bytes_per_element),
                    gpu, fit, ef)
    if m.qk_norm:
        elementwise += memory_ms(t * 4 * qk_elems, gpu, fit, ef)
    comm = 2 * allreduce_ms(t * h * ACT_BYTES, shard.tp, gpu, fit)
    per_layer = attn + elementwise + comm
    dense = _dense_mlp_ms(t, m.intermediate_size // shard.tp, shard, gpu, precision, fit)
    total = shard.layers * per_layer + shard.dense_layers * dense
    if shard.moe_layers:
        total += shard.moe_layers * moe_ms(t, shard, gpu, precision, fit)
    return total


def _dense_mlp_ms(t: int, inter: int, shard: Shard, gpu: GpuSpec, precision: Precision, fit: OperatorFit) -> float:
    h, w = shard.model.hidden_size, precision.weights
    act = memory_ms(t * 6 * inter, gpu, fit, fit.elementwise_floor_us)     # SiLU(gate) x up: read 2I, write I
    return gemm_ms(t, h, 2 * inter, gpu, fit, w) + act + gemm_ms(t, inter, h, gpu, fit, w)


def moe_ms(t: int, shard: Shard, gpu: GpuSpec, precision: Precision, fit: OperatorFit) -> float:
    """One MoE layer for ``t`` tokens: router, routed experts (only the experts some token picked are read), shared
    experts. Experts are split over ``ep`` groups, each expert's width over tp / ep GPUs; routing is assumed uniform."""
    m, moe, w = shard.model, shard.model.moe, precision.weights
    if moe is None:
        return 0.0
    h, e, k = m.hidden_size, moe.num_experts, moe.experts_per_token
    width = moe.expert_intermediate_size * shard.ep // shard.tp
    local = e / shard.ep
    touched = local * (1 - (1 - k / e) ** t)                      # expected distinct local experts picked
    tokens = t * k / shard.ep                                     # (token, expert) pairs on this GPU
    wbytes = precision.weight_bytes_per_param
    abytes, eff = _low_precision_inputs(w, gpu, fit)
    per_expert = tokens / max(touched, 1e-9)
    compute = 2 * tokens * 3 * h * width / (gpu.dense_tflops(w) * 1e12 * eff * fit.sustained_clock_factor) \
        * (1 + fit.gemm_m_half_tokens / max(per_expert, 1e-9))
    memory = (touched * 3 * h * width * wbytes + tokens * (h + 2 * width) * abytes + tokens * (h + width) * ACT_BYTES) \
        / (gpu.hbm_bw_gb_per_s * 1e9 * fit.hbm_eff)
    experts = (_combine(compute, memory, fit) + 2 * fit.kernel_floor_us * 1e-6) * 1e3
    router = gemm_ms(t, h, e, gpu, fit, "bf16")
    # top-k, permute/align, SiLU x mul, un-permute + weighted sum
    glue = 4 * fit.elementwise_floor_us * 1e-3 + memory_ms(tokens * (4 * h + 6 * width), gpu, fit)
    shared = 0.0
    if moe.shared_size:
        shared = _dense_mlp_ms(t, max(1, moe.shared_size // shard.tp), shard, gpu, precision, fit)
    return router + experts + glue + shared


def sample_ms(seqs: int, shard: Shard, gpu: GpuSpec, fit: OperatorFit) -> float:
    """lm_head (vocab-parallel) and sampling for ``seqs`` sampled tokens (final norm, logits gather, softmax/top-k)."""
    m = shard.model
    vocab = m.vocab_size // shard.tp
    head = gemm_ms(seqs, m.hidden_size, vocab, gpu, fit, "bf16")
    gather = allreduce_ms(seqs * vocab * 4 * shard.tp / 2, shard.tp, gpu, fit)   # all-gather of fp32 logits
    sampler = memory_ms(seqs * m.vocab_size * 4 * 2, gpu, fit, 3 * fit.elementwise_floor_us)
    return head + gather + sampler


def sample_table(shard: Shard, gpu: GpuSpec, fit: OperatorFit) -> CostTable:
    grid = [t for t in TOKEN_GRID if t <= 4096]
    return CostTable(x=tuple(float(t) for t in grid), ms=_monotone([sample_ms(t, shard, gpu, fit) for t in grid]))


def prefill_attn_table(shard: Shard, gpu: GpuSpec, fit: OperatorFit) -> CostTable:
    m = shard.model
    limit = max(65536, m.max_position_embeddings)
    grid = [s for s in TOKEN_GRID if s <= limit] + [2**p for p in range(17, 22) if 2**p <= limit]
    full = shard.layers - shard.sliding_layers
    ms = []
    for s in grid:
        t = full * prefill_attention_ms(s, shard.heads, shard.qk_dim, shard.v_dim, gpu, fit)
        if shard.sliding_layers:
            t += shard.sliding_layers * prefill_attention_ms(s, shard.heads, shard.qk_dim, shard.v_dim, gpu, fit,
                                                             window=m.sliding_window_tokens)
        ms.append(t)
    return CostTable(x=tuple(float(s) for s in grid), ms=_monotone(ms))


def decode_attn_table(shard: Shard, gpu: GpuSpec, precision: Precision, fit: OperatorFit) -> CostTable:
    """Decode attention of the full-attention layers vs KV tokens read (summed over the decoding sequences)."""
    full = shard.layers - shard.sliding_layers
    kv_bytes = shard.kv_elements_per_token_per_layer * precision.kv_bytes_per_element
    flops = shard.decode_flops_per_kv_token_per_layer()
    ms = [full * decode_attention_ms(n * kv_bytes, n * flops, gpu, fit) for n in KV_GRID]
    return CostTable(x=tuple(float(n) for n in KV_GRID), ms=_monotone(ms))


def window_decode_ms_per_seq(shard: Shard, gpu: GpuSpec, precision: Precision, fit: OperatorFit) -> float:
    """Sliding-window layers' decode attention per sequence: each reads at most its window of KV."""
    if not shard.sliding_layers:
        return 0.0
    w = shard.model.sliding_window_tokens or 0
    kv_bytes = w * shard.kv_elements_per_token_per_layer * precision.kv_bytes_per_element
    return shard.sliding_layers * memory_ms(kv_bytes, gpu, fit)


def _monotone(values: list[float]) -> tuple[float, ...]:
    """Running maximum: more tokens never cost less (kernel choices make tiny dips in the raw model)."""
    out, best = [], 0.0
    for v in values:
        best = max(best, v)
        out.append(best)
    return tuple(out)


# ---- comparison with isolated operator timings ------------------------------------------------------------------
def calibration_points(calibration: dict, gpu: GpuSpec, fit: OperatorFit) -> list[tuple[str, str, float, float]]:
    """(family, label, measured ms, predicted ms) for every operator of a calibration file, each timed in isolation
    (so each pays ``isolated_call_us``, runs at boost clocks, and torch SDPA decode does not split the KV sequence)."""
    iso = fit.isolated_call_us
    out = []
    for family, weights in (("gemm", "bf16"), ("gemm_fp8", "fp8")):
        for r in calibration.get(family, []):
            if r["op"] == "peak":
                continue
            pred = gemm_ms(r["M"], r["K"], r["N"], gpu, fit, weights, floor_us=iso, sustained=False)
            out.append((family, f"{r['model']} {r['op']} M={r['M']}", r["ms"], pred))
    for r in calibration.get("attention", []):
        if r["kind"] == "prefill_causal":
            pred = r["B"] * prefill_attention_ms(r["S"], r["nh"], r["hd"], r["hd"], gpu, fit, floor_us=iso,
                                                 sustained=False)
            out.append(("attn_prefill", f"S={r['S']}", r["ms"], pred))
        else:
            kv = r["B"] * r["S"] * 2 * r["nkv"] * r["hd"] * ACT_BYTES
            flops = r["B"] * r["S"] * 2 * r["nh"] * 2 * r["hd"]
            pred = decode_attention_ms(kv, flops, gpu, fit, ctas=r["B"] * r["nkv"], floor_us=iso)
            out.append(("attn_decode", f"B={r['B']} S={r['S']}", r["ms"], pred))
    return out
