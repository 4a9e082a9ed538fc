"""Estimate and EstimateCase: the predicted service levels of one serving configuration, and its input as flags."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from disagg_pipelines.domain.strict import Strict


class EstimateCase(Strict):
    """One configuration to estimate, with the same keys as the ``disagg estimate`` flags (one line of ``--cases``)."""

    model: str
    gpu: str
    engine: Literal["vllm", "sglang", "trtllm"] = "vllm"
    precision: str = "bf16"
    isl: PositiveInt
    osl: PositiveInt
    concurrency: PositiveInt | None = None    # closed loop: clients in total
    rate: PositiveFloat | None = None         # open loop: requests/s in total
    tp: PositiveInt = 1
    pp: PositiveInt = 1
    ep: PositiveInt = 1
    replicas: PositiveInt = 1                 # aggregated instances
    mode: Literal["agg", "disagg"] = "agg"
    prefill_tp: PositiveInt | None = None
    prefill_workers: PositiveInt | None = None
    decode_tp: PositiveInt | None = None
    decode_workers: PositiveInt | None = None
    decode_batch: PositiveInt | None = None   # max_batch of each decode (or aggregated) instance
    max_num_batched_tokens: PositiveInt | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EstimateCase:
        if (self.concurrency is None) == (self.rate is None):
            raise ValueError(f"give exactly one of concurrency or rate (got concurrency={self.concurrency}, "
                             f"rate={self.rate})")
        disagg_keys = {"prefill_tp": self.prefill_tp, "prefill_workers": self.prefill_workers,
                       "decode_tp": self.decode_tp, "decode_workers": self.decode_workers}
        given = [k for k, v in disagg_keys.items() if v is not None]
        if self.mode == "agg" and given:
            raise ValueError(f"{', '.join(given)} apply only to mode='disagg' (got mode='agg'); add mode='disagg'")
        return self


class Estimate(Strict):
    """Predicted latency and throughput of one configuration at one load (analytic serving model)."""

    mode: Literal["agg", "disagg"]
    ttft_ms: float                            # mean
    ttft_p50_ms: float
    ttft_p90_ms: float
    ttft_p99_ms: float
    tpot_ms: float                            # mean time per output token after the first (mean ITL)
    tpot_p50_ms: float                        # percentiles of the per-request mean ITL
    tpot_p90_ms: float
    tpot_p99_ms: float
    itl_p99_ms: float                         # per-token inter-token latency, 99th percentile
    tokens_per_s_per_gpu: float               # output tokens/s per GPU
    tokens_per_s_per_user: float              # 1000 / tpot_ms
    request_rate_per_s: float
    concurrency: float                        # requests in flight (queued included)
    total_gpus: PositiveInt
    decode_batch: float                       # mean decoding sequences per decode (or aggregated) instance
    max_running: int                          # running requests one instance admits (max_batch and KV capacity)
    prefill_utilization: float = Field(ge=0)  # busy share of the prefill capacity
    kv_transfer_ms: float = 0.0
    queue_ms: float = 0.0                     # mean wait before a prefill starts (queueing)
    saturated: bool = False                   # the load exceeds what the configuration sustains
    notes: tuple[str, ...] = ()

    def ttft_at(self, percentile: float) -> float:
        return _interp(percentile, self.ttft_ms, self.ttft_p50_ms, self.ttft_p90_ms, self.ttft_p99_ms)

    def tpot_at(self, percentile: float) -> float:
        return _interp(percentile, self.tpot_ms, self.tpot_p50_ms, self.tpot_p90_ms, self.tpot_p99_ms)


def _interp(p: float, mean: float, p50: float, p90: float, p99: float) -> float:
    if p <= 50:
        return p50
    if p <= 90:
        return p50 + (p90 - p50) * (p - 50) / 40
    if p <= 99:
        return p90 + (p99 - p90) * (p - 90) / 9
    return p99
