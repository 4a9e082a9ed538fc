"""EngineSpec: the scheduling behaviour of a serving engine that decides latency (loaded from catalog/engines/)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveInt

from disagg_pipelines.domain.strict import Strict


class EngineSpec(Strict):
    """Continuous batching, chunked prefill with a token budget, CUDA-graph decode, batch and KV-cache limits."""

    name: Literal["vllm", "sglang", "trtllm"]
    version: str                              # engine release whose defaults and flags this describes
    chunked_prefill: bool = True
    mixed_batching: bool = True               # prefill chunks and decode tokens share one step
    default_max_num_batched_tokens: PositiveInt
    default_max_batch: PositiveInt            # max concurrent sequences per instance
    cuda_graph_max_batch: PositiveInt         # decode batches above this run without CUDA graphs
    eager_step_overhead_ms: NonNegativeFloat  # extra per-step cost of a decode step outside CUDA graphs
    scheduler_overhead_ms: NonNegativeFloat   # host-side scheduling + sampling per step
    gpu_memory_fraction: float = Field(gt=0, le=1)  # share of HBM the engine takes (weights + KV + activations)
    kv_block_tokens: PositiveInt = 16
    request_overhead_ms: NonNegativeFloat = 0.0  # per request, client-visible: HTTP, tokenize, detokenize, stream
    disagg_handoff_ms: NonNegativeFloat = 0.0   # per request in disagg mode: router + decode-side admission
    sources: tuple[str, ...] = ()
