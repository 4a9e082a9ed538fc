"""The profile step: (ModelSpec, GpuSpec, Precision, TP x PP x EP) -> Profile, the cost tables of one instance.

Pure: the operator fit (calibration) is passed in; only the analytic ``roofline`` method exists so far.
"""

from __future__ import annotations

from typing import Literal

from disagg_pipelines.domain.calibration import OperatorFit
from disagg_pipelines.domain.errors import (
    InsufficientMemory,
    InvalidInput,
    InvalidParallelism,
)
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.profile import MemoryBudget, Profile

GIB = 2**30
# vLLM's default gpu_memory_utilization=0.9 leaves 10 % of HBM to the CUDA context, CUDA graphs and fragmentation
# (https://docs.vllm.ai/en/latest/configuration/engine_args.html); activations come out of the remaining 90 %.
HEADROOM_FRACTION = 0.10
ACTIVATION_TOKENS = 8192        # the prefill token budget an engine plans activations for (max_num_batched_tokens)
MIN_KV_TOKENS = 4096            # smallest useful KV cache: one 4k-token sequence


def profile(model: ModelSpec, gpu: GpuSpec, precision: Precision, *, tp: int = 1, pp: int = 1, ep: int = 1,
            method: Literal["roofline"] = "roofline", calibration: OperatorFit | None = None) -> Profile:
    """Predicted prefill/decode cost and memory of ``model`` on ``tp x pp`` GPUs of type ``gpu``.

    Raises InvalidParallelism (tp/pp/ep that the model or the GPU's NVLink domain cannot take) and InsufficientMemory
    (weights plus a minimal KV cache do not fit one GPU).
    """
    if method != "roofline":
        raise InvalidInput(f"unknown profiling method {method!r}; available: roofline")
    from disagg_pipelines.profile import roofline

    check_parallelism(model, gpu, tp=tp, pp=pp, ep=ep)
    fit = calibration or roofline.H100_FIT
    shard = roofline.Shard(model, tp, pp, ep)
    memory = memory_budget(model, gpu, precision, tp=tp, pp=pp, ep=ep)
    if memory.kv_tokens_capacity < MIN_KV_TOKENS:
        raise InsufficientMemory(_memory_message(model, gpu, precision, tp=tp, pp=pp, ep=ep, memory=memory))

    cost_kind = "calibrated" if gpu.name == fit.fitted_on else "spec-derived"
    return Profile(
        model=model, gpu=gpu, precision=precision, tp=tp, pp=pp, ep=ep, method="roofline",
        provenance={"token_ms": cost_kind, "prefill_attn_ms": cost_kind, "decode_attn_ms": cost_kind,
                    "sample_ms": cost_kind, "step_overhead_ms": "spec-derived", "memory": "spec-derived",
                    "allreduce": "spec-derived"},
        sources=(*fit.sources, *gpu.sources),
        token_ms=roofline.token_table(shard, gpu, precision, fit),
        prefill_attn_ms=roofline.prefill_attn_table(shard, gpu, fit),
        decode_attn_ms=roofline.decode_attn_table(shard, gpu, precision, fit),
        decode_attn_ms_per_seq=roofline.window_decode_ms_per_seq(shard, gpu, precision, fit),
        sample_ms=roofline.sample_table(shard, gpu, fit),
        step_overhead_ms=fit.step_overhead_us / 1e3,
        memory=memory,
        notes=_notes(model, gpu, fit, tp=tp, pp=pp),
    )


def valid_tp(model: ModelSpec, gpu: GpuSpec) -> list[int]:
    """TP degrees within the GPU's NVLink domain that split the attention heads (and KV heads, or replicate them)."""
    q, kv = model.num_attention_heads, model.num_kv_heads
    return [t for t in range(1, gpu.tp_domain_gpus + 1) if q % t == 0 and (kv % t == 0 or t % kv == 0)]


def check_parallelism(model: ModelSpec, gpu: GpuSpec, *, tp: int, pp: int = 1, ep: int = 1) -> None:
    choices = valid_tp(model, gpu)
    if tp < 1 or pp < 1 or ep < 1:
        raise InvalidParallelism(f"tp={tp}, pp={pp}, ep={ep} must all be >= 1; pick tp in {choices}")
    if tp > gpu.tp_domain_gpus:
        raise InvalidParallelism(
            f"tp={tp} exceeds the NVLink domain of {gpu.name} ({gpu.tp_domain_gpus} GPUs); pick tp in {choices} "
            f"and use pp to span more GPUs")
    if tp not in choices:
        raise InvalidParallelism(
            f"tp={tp} does not divide the {model.num_attention_heads} attention heads "
            f"({model.num_kv_heads} KV heads) of {model.name}; pick tp in {choices}")
    if pp > model.num_layers:
        raise InvalidParallelism(f"pp={pp} exceeds the {model.num_layers} layers of {model.name}")
    if ep > 1:
        if model.moe is None:
            raise InvalidParallelism(f"ep={ep} needs a mixture-of-experts model; {model.name} is dense, use ep=1")
        options = [e for e in range(1, tp + 1) if tp % e == 0 and model.moe.num_experts % e == 0]
        if tp % ep or model.moe.num_experts % ep:
            raise InvalidParallelism(
                f"ep={ep} must divide tp={tp} and the {model.moe.num_experts} experts of {model.name}; "
                f"pick ep in {options}")


def memory_budget(model: ModelSpec, gpu: GpuSpec, precision: Precision, *, tp: int = 1, pp: int = 1,
                  ep: int = 1) -> MemoryBudget:
    """Per-GPU memory of the largest pipeline stage: weights, activation reserve, KV bytes per token, KV capacity."""
    from disagg_pipelines.profile import roofline

    shard = roofline.Shard(model, tp, pp, ep)
    weights = shard.weight_bytes(precision)
    h = model.hidden_size
    inter = max(model.intermediate_size, (model.moe.expert_intermediate_size if model.moe else 0))
    # residual + normed hidden + qkv + gate_up output, bf16, for one prefill token budget
    act_per_token = 2 * (3 * h + (shard.heads + 2 * shard.kv_heads) * shard.qk_dim + 2 * inter // tp)
    reserve = HEADROOM_FRACTION * gpu.hbm_bytes + ACTIVATION_TOKENS * act_per_token
    kv_per_token = shard.layers * shard.kv_elements_per_token_per_layer * precision.kv_bytes_per_element
    free = gpu.hbm_bytes - weights - reserve
    capacity = max(0, int(free // kv_per_token))
    return MemoryBudget(hbm_gib=gpu.hbm_gib, weights_gib=weights / GIB, activation_reserve_gib=reserve / GIB,
                        kv_bytes_per_token=float(kv_per_token), kv_tokens_capacity=capacity)


def smallest_fitting_tp(model: ModelSpec, gpu: GpuSpec, precision: Precision, *, pp: int = 1) -> int | None:
    """The smallest valid tp whose GPUs hold the weights plus a minimal KV cache; None if none in the NVLink domain."""
    for t in valid_tp(model, gpu):
        if memory_budget(model, gpu, precision, tp=t, pp=pp).kv_tokens_capacity >= MIN_KV_TOKENS:
            return t
    return None


def _memory_message(model: ModelSpec, gpu: GpuSpec, precision: Precision, *, tp: int, pp: int, ep: int,
                    memory: MemoryBudget) -> str:
    need = memory.weights_gib + memory.activation_reserve_gib + MIN_KV_TOKENS * memory.kv_bytes_per_token / GIB
    best = smallest_fitting_tp(model, gpu, precision, pp=pp)
    hint = f"the smallest tp that fits is {best}" if best else \
        f"no tp up to {gpu.tp_domain_gpus} fits; raise pp or pick a lower precision or a larger GPU"
    return (f"{model.name} at {precision.label} does not fit {gpu.name} with tp={tp}, pp={pp}: needs "
            f"{need:.1f} GiB per GPU (weights {memory.weights_gib:.1f} + reserve {memory.activation_reserve_gib:.1f} "
            f"+ KV for {MIN_KV_TOKENS} tokens) but {gpu.hbm_gib:.1f} GiB is available; {hint}")


def _notes(model: ModelSpec, gpu: GpuSpec, fit: OperatorFit, *, tp: int, pp: int) -> tuple[str, ...]:
    notes = [f"roofline operator model; constants fitted on {fit.fitted_on}"
             + ("" if gpu.name == fit.fitted_on else f", scaled to {gpu.name} by datasheet peak and bandwidth")]
    if pp > 1:
        notes.append(f"pp={pp}: costs are those of the largest stage ({-(-model.num_layers // pp)} layers, plus "
                     f"embedding and lm_head); one step's latency across stages is about pp times longer")
    if tp > model.num_kv_heads and model.mla is None:
        notes.append(f"tp={tp} > {model.num_kv_heads} KV heads: KV heads are replicated, one per GPU")
    if model.mla is not None and tp > 1:
        notes.append("MLA: the KV latent is replicated on every TP rank")
    if model.num_sliding_layers:
        notes.append("sliding-window layers: KV capacity counts them as full layers (an upper bound on KV use)")
    if model.moe is not None:
        notes.append("MoE: uniform routing assumed; a step reads only the experts its tokens pick")
    return tuple(notes)
