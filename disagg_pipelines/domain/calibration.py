"""OperatorFit: the few constants of the roofline operator model, fitted to one GPU's measured operator timings.

The constants are efficiencies and latencies with a physical meaning, so that they carry over to other GPUs of the same
generation (peaks and bandwidths come from the GpuSpec; the fractions of them that kernels achieve come from here).
"""

from __future__ import annotations

from pydantic import NonNegativeFloat, PositiveFloat

from disagg_pipelines.domain.strict import Strict


class OperatorFit(Strict):
    """Achievable fractions of peak, the M-dependent GEMM ramp, and per-kernel latency floors."""

    fitted_on: str                               # GPU name whose measurements produced the fit (e.g. h100-sxm)
    gemm_bf16_eff: PositiveFloat                 # large-GEMM throughput / datasheet bf16 dense peak
    gemm_fp8_eff: PositiveFloat                  # large-GEMM throughput / datasheet fp8 dense peak (fp4 too)
    hbm_eff: PositiveFloat                       # streaming-read bandwidth / datasheet HBM bandwidth
    gemm_m_half_tokens: NonNegativeFloat         # compute efficiency ramp: eff(M) = eff / (1 + m_half / M)
    overlap_exponent: PositiveFloat              # time = (compute^p + memory^p)^(1/p): p -> inf is a pure max()
    attn_prefill_eff: PositiveFloat              # causal flash-attention throughput / bf16 dense peak, long S
    attn_s_half_tokens: NonNegativeFloat         # attention efficiency ramp in sequence length
    attn_cta_gb_per_s: PositiveFloat             # read bandwidth one attention CTA sustains (decode without split-KV)
    isolated_call_us: NonNegativeFloat           # per-call floor of an isolated, synchronised operator timing
    kernel_floor_us: NonNegativeFloat            # per GEMM / attention kernel when kernels run back to back
    elementwise_floor_us: NonNegativeFloat       # per small fused elementwise kernel (norm, rope, activation)
    step_overhead_us: NonNegativeFloat           # per engine step: graph launch, sampler, input preparation
    allreduce_latency_us: NonNegativeFloat       # per tensor-parallel all-reduce, small message
    allreduce_bus_eff: PositiveFloat             # NCCL bus bandwidth / scale-up bandwidth per direction
    sustained_clock_factor: PositiveFloat = 1.0  # compute throughput kept during long back-to-back GEMM chains
    sources: tuple[str, ...] = ()
