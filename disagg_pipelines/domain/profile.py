"""Profile: the cost of prefill and decode for one (model, GPU, precision, parallelism), as composable cost tables.

One forward step of an engine processes some new tokens (prefill chunks and one token per decoding sequence). Its
time is modelled as

    step_ms = token_ms(new tokens) + sum over prefill chunks of causal attention
              + decode_attn_ms(KV tokens read by decoding sequences) + step_overhead_ms

``token_ms`` holds everything that scales with the number of tokens in the step (GEMMs, MoE experts, norms,
tensor-parallel all-reduce, sampling); attention is split out because it scales with context, not tokens. This form
serves the analytic estimate, the simulator (mixed chunked-prefill steps) and measured profiles alike.
"""

from __future__ import annotations

import bisect
from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveInt, model_validator

from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.strict import Strict

Provenance = Literal["measured", "calibrated", "spec-derived"]


class CostTable(Strict):
    """A monotone cost curve sampled at increasing x; linear between points and proportional beyond the last."""

    x: tuple[float, ...]
    ms: tuple[float, ...]

    @model_validator(mode="after")
    def _shape(self) -> CostTable:
        if len(self.x) != len(self.ms) or not self.x:
            raise ValueError(f"x and ms must be non-empty and of equal length (got {len(self.x)} and {len(self.ms)})")
        if any(b <= a for a, b in zip(self.x, self.x[1:])):
            raise ValueError("x must be strictly increasing")
        return self

    def at(self, x: float) -> float:
        xs, ys = self.x, self.ms
        if x <= 0:
            return 0.0
        if x <= xs[0]:
            return ys[0] * x / xs[0]
        if x >= xs[-1]:
            if len(xs) == 1:
                return ys[-1] * x / xs[-1]
            slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
            return ys[-1] + slope * (x - xs[-1])
        i = bisect.bisect_right(xs, x)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


class MemoryBudget(Strict):
    """Per-GPU memory of one instance."""

    hbm_gib: float
    weights_gib: float                       # weights resident on each GPU
    activation_reserve_gib: float            # activations, CUDA graphs, allocator slack
    kv_bytes_per_token: float                # KV bytes one token adds on each GPU
    kv_tokens_capacity: int                  # tokens of KV the instance holds: each GPU keeps its shard of every token (0: does not fit)

    @property
    def fits(self) -> bool:
        return self.kv_tokens_capacity > 0


class Profile(Strict):
    """Prefill and decode cost of one instance: a (model, GPU, precision, TP x PP x EP) combination."""

    schema_version: Literal["v1"] = "v1"
    model: ModelSpec
    gpu: GpuSpec
    precision: Precision
    tp: PositiveInt = 1
    pp: PositiveInt = 1
    ep: PositiveInt = 1
    method: Literal["roofline", "torch", "endpoint"] = "roofline"
    provenance: dict[str, Provenance] = Field(default_factory=dict)   # per cost component
    sources: tuple[str, ...] = ()
    token_ms: CostTable                      # one step's token-proportional cost vs tokens in the step
    prefill_attn_ms: CostTable               # causal attention of one sequence prefilled from 0 to S tokens, vs S
    decode_attn_ms: CostTable                # decode attention vs KV tokens read in the step (summed over sequences)
    step_overhead_ms: NonNegativeFloat       # per step: launch, scheduling, sampling
    sample_ms: CostTable | None = None       # lm_head + sampler vs tokens sampled in the step (one per sequence)
    decode_attn_ms_per_seq: NonNegativeFloat = 0.0  # per decoding sequence, independent of its context
    #                                          (sliding-window layers read at most their window)
    memory: MemoryBudget
    notes: tuple[str, ...] = ()

    @property
    def gpus(self) -> int:
        return self.tp * self.pp

    def chunk_attn_ms(self, prefix_tokens: int, chunk_tokens: int) -> float:
        """Attention of a prefill chunk of ``chunk_tokens`` after ``prefix_tokens`` already in the KV cache."""
        return max(0.0, self.prefill_attn_ms.at(prefix_tokens + chunk_tokens) - self.prefill_attn_ms.at(prefix_tokens))

    def step_ms(self, prefill_chunks: tuple[tuple[int, int], ...] = (), decode_seqs: int = 0,
                decode_kv_tokens: int = 0) -> float:
        """One engine step: ``prefill_chunks`` as (prefix, chunk) pairs plus ``decode_seqs`` decoding sequences."""
        tokens = sum(c for _, c in prefill_chunks) + decode_seqs
        if tokens == 0:
            return 0.0
        attn = sum(self.chunk_attn_ms(p, c) for p, c in prefill_chunks)
        if decode_seqs:
            attn += self.decode_attn_ms.at(decode_kv_tokens) + decode_seqs * self.decode_attn_ms_per_seq
        sampled = len(prefill_chunks) + decode_seqs
        sample = self.sample_ms.at(sampled) if self.sample_ms is not None else 0.0
        return self.token_ms.at(tokens) + attn + sample + self.step_overhead_ms

    def prefill_ms(self, batch: int, isl: int) -> float:
        """Prefill of ``batch`` prompts of ``isl`` tokens in one step."""
        return self.step_ms(prefill_chunks=((0, isl),) * batch)

    def decode_ms(self, batch: int, context: int) -> float:
        """One decode step of ``batch`` sequences, each with ``context`` tokens of KV."""
        return self.step_ms(decode_seqs=batch, decode_kv_tokens=batch * context)

    def kv_fits(self, batch: int, context: int) -> bool:
        return batch * context <= self.memory.kv_tokens_capacity
