"""SimulationResult: what the discrete-event simulation of a plan measured (latency percentiles, throughput, SLO)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt

from disagg_pipelines.domain.plan import Predicted
from disagg_pipelines.domain.strict import Strict


class LatencyStats(Strict):
    """Mean and percentiles of one latency over requests, in milliseconds (the parent field names the unit)."""

    mean: NonNegativeFloat
    p50: NonNegativeFloat
    p90: NonNegativeFloat
    p99: NonNegativeFloat


class SimulationResult(Strict):
    """Measured service levels of a simulated run.

    ``itl_ms`` is each request's mean inter-token time ((last token - first token) / (output tokens - 1)), with
    percentiles taken across requests: what aiperf/genai-perf call TPOT. ``itl_token_mean_ms`` weights every
    inter-token gap equally instead. Requests with one output token have no ITL and always meet the ITL target.
    """

    schema_version: Literal["v1"] = "v1"
    mode: Literal["agg", "disagg"]
    arrival: Literal["poisson", "bursty", "constant", "closed"]
    seed: int
    requests: NonNegativeInt                  # requests completed (all that were issued)
    input_tokens: NonNegativeInt
    output_tokens: NonNegativeInt
    total_gpus: NonNegativeInt
    duration_s: NonNegativeFloat              # first arrival to last completion
    ttft_ms: LatencyStats
    itl_ms: LatencyStats
    e2e_ms: LatencyStats
    itl_token_mean_ms: NonNegativeFloat
    percentile: float = Field(gt=0, le=100)   # the SLO percentile the two fields below are taken at
    ttft_at_percentile_ms: NonNegativeFloat
    itl_at_percentile_ms: NonNegativeFloat
    request_rate_per_s: NonNegativeFloat      # completed requests per second
    mean_concurrency: NonNegativeFloat        # requests in flight on average (sum of e2e / duration)
    tokens_per_s: NonNegativeFloat            # output tokens per second
    tokens_per_s_per_gpu: NonNegativeFloat
    tokens_per_s_per_user: NonNegativeFloat   # 1000 / mean ITL
    slo_attainment: float = Field(ge=0, le=1)  # share of requests meeting the TTFT and the ITL target
    goodput_requests_per_s: NonNegativeFloat  # completions per second of requests that met both targets
    goodput_tokens_per_s: NonNegativeFloat    # their output tokens per second
    preemptions: NonNegativeInt               # sequences evicted for KV space and recomputed
    mean_batch: dict[str, float]              # role -> mean sequences per engine step
    kv_transfer_ms_mean: NonNegativeFloat     # 0 when aggregated
    queue_wait_ms_mean: NonNegativeFloat      # arrival to first scheduling on the first engine

    def to_predicted(self) -> Predicted:
        """The result in the planner's terms (source 'simulation')."""
        return Predicted(
            ttft_ms=self.ttft_at_percentile_ms, itl_ms=self.itl_at_percentile_ms, ttft_mean_ms=self.ttft_ms.mean,
            itl_mean_ms=self.itl_ms.mean, tokens_per_s_per_gpu=self.tokens_per_s_per_gpu,
            tokens_per_s_per_user=self.tokens_per_s_per_user, request_rate_per_s=self.request_rate_per_s,
            concurrency=self.mean_concurrency, slo_attainment=self.slo_attainment, source="simulation")
