"""Seeded request streams: a Workload and a seed -> prompt/output lengths and open-loop arrival times.

Lengths and arrival gaps come from separate generators, so changing the arrival process keeps the same requests.
Everything is drawn from ``random.Random`` seeded with a string: the same seed gives the same stream on any machine.
"""

from __future__ import annotations

import math
import random

from disagg_pipelines.domain.workload import LengthDist, Workload


def _sampler(dist: LengthDist, rng: random.Random):
    lo = dist.min_tokens
    hi = dist.max_tokens if dist.max_tokens is not None else dist.mean_tokens * 16
    mean, std = float(dist.mean_tokens), float(dist.stddev_tokens)
    if dist.kind == "fixed":
        value = dist.mean_tokens
        return lambda: value
    if dist.kind == "uniform":
        top = dist.max_tokens if dist.max_tokens is not None else max(lo, 2 * dist.mean_tokens - lo)
        return lambda: rng.randint(lo, top)
    if dist.kind == "normal":
        gauss = rng.gauss
        return lambda: min(hi, max(lo, round(gauss(mean, std))))
    sigma2 = math.log(1.0 + (std / mean) ** 2)          # lognormal with the given mean and standard deviation
    mu, sigma = math.log(mean) - sigma2 / 2, math.sqrt(sigma2)
    lognorm = rng.lognormvariate
    return lambda: min(hi, max(lo, round(lognorm(mu, sigma))))


def sample_lengths(workload: Workload, requests: int, seed: int) -> tuple[list[int], list[int]]:
    """Prompt and output lengths of ``requests`` requests; a ``long_context`` share gets the long prompt instead."""
    rng = random.Random(f"{seed}:lengths")
    isl_of, osl_of = _sampler(workload.isl, rng), _sampler(workload.osl, rng)
    isl = [isl_of() for _ in range(requests)]
    osl = [osl_of() for _ in range(requests)]
    burst = workload.long_context
    if burst is not None:
        pick = random.Random(f"{seed}:long-context").random
        long_isl, frac = burst.isl_tokens, burst.fraction
        isl = [long_isl if pick() < frac else n for n in isl]
    return isl, osl


def arrival_times_ms(kind: str, rate_per_s: float, requests: int, seed: int, burstiness: float = 1.0) -> list[float]:
    """Open-loop arrival times in ms: Poisson, bursty (gamma gaps of shape ``burstiness``, same mean) or constant."""
    rng = random.Random(f"{seed}:arrivals")
    mean_gap_ms = 1000.0 / rate_per_s
    if kind == "constant":
        return [i * mean_gap_ms for i in range(requests)]
    if kind == "poisson":
        lam = 1.0 / mean_gap_ms
        draw = lambda: rng.expovariate(lam)  # noqa: E731
    elif kind == "bursty":
        shape, scale = burstiness, mean_gap_ms / burstiness
        draw = lambda: rng.gammavariate(shape, scale)  # noqa: E731
    else:
        raise ValueError(f"unknown open-loop arrival kind {kind!r}")
    t, out = 0.0, []
    append = out.append
    for _ in range(requests):
        t += draw()
        append(t)
    return out


def client_gaps_ms(requests: int, seed: int, mean_ms: float) -> list[float]:
    """Closed-loop client turnaround before each send: exponential with mean ``mean_ms`` (0 gives all zeros)."""
    if mean_ms <= 0:
        return [0.0] * requests
    rng = random.Random(f"{seed}:clients")
    lam = 1.0 / mean_ms
    return [rng.expovariate(lam) for _ in range(requests)]
