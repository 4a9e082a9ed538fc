"""Workload and Slo: what traffic the deployment must serve and how fast."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from disagg_pipelines.domain.strict import Strict


class LengthDist(Strict):
    """A token-length distribution: fixed, uniform [min, max], normal or lognormal (mean/stddev), clipped to [min, max]."""

    kind: Literal["fixed", "uniform", "normal", "lognormal"] = "fixed"
    mean_tokens: PositiveInt
    stddev_tokens: NonNegativeFloat = 0.0
    min_tokens: PositiveInt = 1
    max_tokens: PositiveInt | None = None

    @model_validator(mode="after")
    def _bounds(self) -> LengthDist:
        hi = self.max_tokens if self.max_tokens is not None else self.mean_tokens * 16
        if not self.min_tokens <= self.mean_tokens <= hi:
            raise ValueError(
                f"mean_tokens={self.mean_tokens} lies outside [min_tokens={self.min_tokens}, max_tokens={hi}]")
        if self.kind in ("normal", "lognormal") and self.stddev_tokens == 0:
            raise ValueError(f"kind={self.kind!r} needs stddev_tokens > 0; use kind='fixed' for a constant length")
        return self

    @classmethod
    def fixed(cls, tokens: int) -> LengthDist:
        return cls(kind="fixed", mean_tokens=tokens)

    @property
    def upper_tokens(self) -> int:
        """The largest length this distribution produces (for memory sizing)."""
        if self.kind == "fixed":
            return self.mean_tokens
        if self.max_tokens is not None:
            return self.max_tokens
        return int(self.mean_tokens + 4 * self.stddev_tokens) if self.kind != "uniform" else self.mean_tokens * 2


class LongContextBurst(Strict):
    """A share of requests with a much longer prompt (e.g. document Q&A mixed into chat)."""

    fraction: float = Field(gt=0, lt=1)
    isl_tokens: PositiveInt


class Workload(Strict):
    """Request shape and load: open-loop arrivals at ``request_rate_per_s`` or ``concurrency`` closed-loop clients.

    Neither set means the load is for the planner to find (the most goodput a GPU budget sustains).
    """

    isl: LengthDist
    osl: LengthDist
    request_rate_per_s: PositiveFloat | None = None
    concurrency: PositiveInt | None = None
    arrival: Literal["poisson", "bursty", "constant", "closed"] | None = None  # None: closed with concurrency, else poisson
    burstiness: PositiveFloat = 1.0          # gamma shape for 'bursty' inter-arrivals (<1 burstier than Poisson)
    long_context: LongContextBurst | None = None
    prefix_cache_hit_rate: float = Field(default=0.0, ge=0, lt=1)  # share of prompt tokens served from cache

    @model_validator(mode="after")
    def _one_load(self) -> Workload:
        if self.request_rate_per_s is not None and self.concurrency is not None:
            raise ValueError("give request_rate_per_s (open loop) or concurrency (closed loop), not both")
        if self.concurrency is not None and self.arrival not in (None, "closed"):
            raise ValueError(f"arrival={self.arrival!r} needs request_rate_per_s; concurrency implies 'closed'")
        if self.request_rate_per_s is not None and self.arrival == "closed":
            raise ValueError("arrival='closed' needs concurrency (the number of clients), not request_rate_per_s")
        return self

    @property
    def arrival_kind(self) -> str:
        if self.concurrency is not None:
            return "closed"
        return self.arrival or "poisson"

    @property
    def mean_isl_tokens(self) -> float:
        base = float(self.isl.mean_tokens)
        if self.long_context is None:
            return base
        f = self.long_context.fraction
        return (1 - f) * base + f * self.long_context.isl_tokens

    @property
    def mean_osl_tokens(self) -> float:
        return float(self.osl.mean_tokens)

    @property
    def max_context_tokens(self) -> int:
        isl = self.isl.upper_tokens if self.long_context is None else max(self.isl.upper_tokens,
                                                                          self.long_context.isl_tokens)
        return isl + self.osl.upper_tokens


class Slo(Strict):
    """Latency targets at a percentile: time to first token and inter-token latency (TPOT)."""

    ttft_ms: PositiveFloat
    itl_ms: PositiveFloat
    percentile: float = Field(default=90.0, gt=0, le=100)
