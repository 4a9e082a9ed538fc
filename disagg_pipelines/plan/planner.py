"""The plan step: (model, GPU, precision, engine, workload, SLO, GPU budget or target rate) -> Plan.

Searches aggregated vs disaggregated serving, the parallelism of each role, the prefill:decode ratio and the replica
counts with the candidate search (``search``, on the analytic serving model), re-estimates the best layouts at their operating load,
checks the top few in the simulator (when one is passed in), and explains the choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from disagg_pipelines.domain.engine import EngineSpec
from disagg_pipelines.domain.errors import (
    InvalidInput,
    NoFeasiblePlan,
)
from disagg_pipelines.domain.estimate import Estimate
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.plan import (
    Candidate,
    Plan,
    Predicted,
    RolePlan,
)
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.profile import Profile
from disagg_pipelines.domain.workload import Slo, Workload
from disagg_pipelines.plan import search
from disagg_pipelines.plan import serving as est

_TOP_SIMULATED = 3
_ALTERNATIVES = 5
_SIM_SLACK = 0.03          # sampling slack on SLO attainment for a few thousand simulated requests
_SIM_IN_FLIGHT = 600       # larger layouts are simulated as a same-ratio slice with about this many requests in flight
_SIM_MAX_REQUESTS = 3000   # ~4x the requests in flight reach steady state; capped to keep plan() under a second
_BACK_OFF = (0.85, 0.7, 0.55)  # loads tried, as shares of the analytic one, when no candidate passes the simulator


def plan(model: ModelSpec, gpu: GpuSpec, precision: Precision, engine: EngineSpec, workload: Workload, slo: Slo, *,
         gpus: int | None = None, rate_per_s: float | None = None, mode: Literal["auto", "agg", "disagg"] = "auto",
         prefill_gpu: GpuSpec | None = None, profiler: Callable[..., Profile] | None = None,
         simulator: Callable[..., Any] | None = None, sim_requests: int = 300, seed: int = 0) -> Plan:
    """The configuration that maximises goodput within ``gpus`` GPUs, or serves ``rate_per_s`` on the fewest GPUs.

    ``profiler`` builds the Profile of one instance shape (default: ``disagg_pipelines.profile.profile``);
    ``simulator`` (``disagg_pipelines.plan.simulate``) checks the top candidates; None skips the check.
    """
    if (gpus is None) == (rate_per_s is None):
        raise InvalidInput(f"give exactly one of gpus (a budget) or rate_per_s (a target load); got gpus={gpus}, "
                           f"rate_per_s={rate_per_s}")
    if gpus is not None and gpus < 1:
        raise InvalidInput(f"gpus={gpus} must be at least 1")
    if rate_per_s is not None and rate_per_s <= 0:
        raise InvalidInput(f"rate_per_s={rate_per_s} must be positive")
    if profiler is None:
        from disagg_pipelines import profile as profile_step
        profiler = profile_step.profile
    shape_wl = workload.model_copy(update={"request_rate_per_s": None, "concurrency": None, "arrival": None})
    cache = search.ShapeCache(model, precision, profiler)
    agg, dec, pre = search.rated_shapes(cache, model, gpu, prefill_gpu or gpu, engine, shape_wl, slo, gpus, mode)
    layouts = search.layouts(agg, dec, pre, engine, shape_wl, slo, gpus, rate_per_s)
    if not layouts:
        wider = None
        if gpus is not None:                 # would larger instances than the budget allows meet the SLO?
            wider = search.rated_shapes(cache, model, gpu, prefill_gpu or gpu, engine, shape_wl, slo, None, mode)
        raise NoFeasiblePlan(_infeasible_message(agg, dec, pre, slo, gpus, wider))
    scored = [_score(lay, engine, shape_wl, slo, gpus, rate_per_s) for lay in layouts]
    scored.sort(key=lambda c: _rank_key(c, gpus is not None))
    chosen, sim_lines = _simulator_check(scored, engine, shape_wl, slo, simulator, sim_requests, seed)
    lay, cand, estimate_ = chosen
    explanation = _explain(chosen, scored, agg, dec, pre, slo, gpus) + sim_lines
    return Plan(
        model=model, gpu=gpu, prefill_gpu=prefill_gpu, precision=precision, engine=engine.name,
        workload=workload.model_copy(update={"request_rate_per_s": cand.predicted.request_rate_per_s,
                                             "concurrency": None, "arrival": workload.arrival
                                             if workload.arrival not in (None, "closed") else None}),
        slo=slo, mode=cand.mode, roles=cand.roles, predicted=cand.predicted, gpu_budget=gpus,
        leftover_gpus=(gpus - cand.total_gpus) if gpus is not None else 0,
        alternatives=tuple(c for _, c, _ in scored if c.roles != cand.roles)[:_ALTERNATIVES],
        pareto=search.pareto_frontier(agg, dec, pre, workload),
        explanation=tuple(explanation),
        assumptions=_assumptions(engine, workload, slo, gpus, rate_per_s, sim_lines, cache))


def _score(lay: search.Layout, engine: EngineSpec, wl: Workload, slo: Slo, budget: int | None,
           rate_per_s: float | None) -> tuple[search.Layout, Candidate, Estimate]:
    load = wl.model_copy(update={"request_rate_per_s": max(lay.rate_per_s * (0.995 if budget else 1.0), 1e-6)})
    profiles = {r.role: s.profile for r, s in zip(lay.roles, lay.shapes)}
    e = est.estimate(lay.roles, profiles, engine, load)
    q = slo.percentile
    meets = (not e.saturated) and e.ttft_at(q) <= slo.ttft_ms * 1.01 and e.tpot_at(q) <= slo.itl_ms * 1.01
    pred = Predicted(ttft_ms=_finite(e.ttft_at(q)), itl_ms=_finite(e.tpot_at(q)), ttft_mean_ms=_finite(e.ttft_ms),
                     itl_mean_ms=_finite(e.tpot_ms), tokens_per_s_per_gpu=e.tokens_per_s_per_gpu,
                     tokens_per_s_per_user=e.tokens_per_s_per_user, request_rate_per_s=e.request_rate_per_s,
                     concurrency=e.concurrency, slo_attainment=_attainment(e, slo))
    return lay, Candidate(mode=lay.mode, roles=lay.roles, predicted=pred, meets_slo=meets, total_gpus=lay.gpus), e


def _finite(v: float) -> float:
    return v if math.isfinite(v) else 1e12


def _cdf(target: float, p50: float, p90: float, p99: float) -> float:
    """Share of requests at or below ``target`` from three percentiles (piecewise linear, exponential-ish tail)."""
    if not math.isfinite(p99):
        return 0.0
    if target >= p99:
        return 0.99 + 0.01 * (1 - math.exp(-(target - p99) / max(p99 - p90, 1e-6)))
    if target >= p90:
        return 0.90 + 0.09 * (target - p90) / max(p99 - p90, 1e-9)
    if target >= p50:
        return 0.50 + 0.40 * (target - p50) / max(p90 - p50, 1e-9)
    return 0.50 * target / p50 if p50 > 0 else 0.0


def _attainment(e: Estimate, slo: Slo) -> float:
    a = _cdf(slo.ttft_ms, e.ttft_p50_ms, e.ttft_p90_ms, e.ttft_p99_ms) * \
        _cdf(slo.itl_ms, e.tpot_p50_ms, e.tpot_p90_ms, e.tpot_p99_ms)
    return min(1.0, max(0.0, a))


def _rank_key(c: tuple[search.Layout, Candidate, Estimate], by_budget: bool) -> tuple:
    lay, cand, _ = c
    if by_budget:
        return (not cand.meets_slo, -lay.rate_per_s, lay.gpus, -cand.predicted.tokens_per_s_per_user)
    return (not cand.meets_slo, lay.gpus, -cand.predicted.tokens_per_s_per_user)


# ---- simulator check -------------------------------------------------------------------------------------------
def _simulator_check(scored: list[tuple[search.Layout, Candidate, Estimate]], engine: EngineSpec, wl: Workload,
                     slo: Slo, simulator: Callable[..., Any] | None, requests: int, seed: int
                     ) -> tuple[tuple[search.Layout, Candidate, Estimate], list[str]]:
    """Simulate the best few candidates at their planned load; the first that meets the SLO percentile wins.

    When none does, the best one is simulated at lower loads (a budget plan's load is the planner's to choose) and
    its prediction becomes the simulated one at the highest load that meets the SLO.
    """
    if simulator is None:
        return scored[0], []
    lines: list[str] = []
    feasible = [s for s in scored if s[1].meets_slo][:_TOP_SIMULATED]
    for lay, cand, e in feasible:
        ok, predicted = _simulate(lay, cand, 1.0, engine, wl, slo, simulator, requests, seed, lines)
        if ok:
            return (lay, cand.model_copy(update={"predicted": predicted}), e), lines
    if not feasible:
        return scored[0], lines
    lay, cand, e = feasible[0]
    for scale in _BACK_OFF:
        ok, predicted = _simulate(lay, cand, scale, engine, wl, slo, simulator, requests, seed, lines)
        if ok:
            lines.append(f"{_label(cand)} meets the SLO in simulation at {scale:.0%} of the analytic load: planned "
                         f"at {predicted.request_rate_per_s:,.2f} req/s")
            return (lay, cand.model_copy(update={"predicted": predicted}), e), lines
    lines.append(f"no simulated load down to {_BACK_OFF[-1]:.0%} of the analytic one met the SLO; keeping the "
                 f"analytic prediction of {_label(cand)} (treat it as optimistic)")
    return feasible[0], lines


def _simulate(lay: search.Layout, cand: Candidate, scale: float, engine: EngineSpec, wl: Workload, slo: Slo,
              simulator: Callable[..., Any], requests: int, seed: int, lines: list[str]) -> tuple[bool, Predicted]:
    """Simulate ``cand`` at ``scale`` x its planned load; append the explanation line; (accepted, prediction)."""
    roles, frac = _scaled_roles(lay.roles, cand.predicted.concurrency * scale)
    rate = cand.predicted.request_rate_per_s * frac
    if frac < 1 and lay.mode == "disagg":       # a smaller prefill pool pools less: load it to its own limit
        counts = {r.role: r.replicas for r in roles}
        rate = 0.995 * 1000 * search.served_rate(*lay.shapes, counts["prefill"], counts["decode"], slo, wl)
        frac = rate / cand.predicted.request_rate_per_s
    rate *= scale
    load = wl.model_copy(update={"request_rate_per_s": rate})
    n = int(min(_SIM_MAX_REQUESTS, max(requests, 4 * cand.predicted.concurrency * frac * scale)))
    profiles = {r.role: s.profile for r, s in zip(lay.roles, lay.shapes)}
    res = simulator(roles, profiles, engine, load, slo, requests=n, seed=seed)
    ok = res.slo_attainment >= slo.percentile / 100 - _SIM_SLACK
    part = "" if frac == 1 else f", a {'+'.join(str(r.replicas) for r in roles)}-replica slice at {frac:.1%} of the load"
    at = "" if scale == 1 else f" at {scale:.0%} load"
    lines.append(f"simulator check of {_label(cand)}{at} ({n} requests{part}, seed {seed}): "
                 f"p{slo.percentile:g} TTFT {res.ttft_at_percentile_ms:,.0f} ms, ITL {res.itl_at_percentile_ms:.1f} ms, "
                 f"SLO attainment {res.slo_attainment:.0%} -> {'accepted' if ok else 'rejected'}")
    sim = res.to_predicted()
    predicted = sim.model_copy(update={"request_rate_per_s": rate / frac,
                                       "concurrency": sim.concurrency / frac})
    return ok, predicted


def _scaled_roles(roles: tuple[RolePlan, ...], in_flight: float) -> tuple[tuple[RolePlan, ...], float]:
    """A slice of the layout (same shapes, fewer replicas, same ratio) small enough to simulate to steady state."""
    k = max(1.0, in_flight / _SIM_IN_FLIGHT)
    if k == 1.0:
        return roles, 1.0
    scaled = tuple(r.model_copy(update={"replicas": max(1, round(r.replicas / k))}) for r in roles)
    frac = min(s.replicas / r.replicas for s, r in zip(scaled, roles))
    return scaled, frac


# ---- explanation -----------------------------------------------------------------------------------------------
def _label(c: Candidate) -> str:
    if c.mode == "agg":
        r = c.roles[0]
        return f"{r.replicas}x agg({_shape_label(r)})"
    p = next(r for r in c.roles if r.role == "prefill")
    d = next(r for r in c.roles if r.role == "decode")
    return f"{p.replicas}P({_shape_label(p)})+{d.replicas}D({_shape_label(d)})"


def _shape_label(r: RolePlan) -> str:
    return f"tp{r.tp}" + (f" pp{r.pp}" if r.pp > 1 else "") + (f" ep{r.ep}" if r.ep > 1 else "")


def _explain(chosen: tuple[search.Layout, Candidate, Estimate], scored: list, agg: list[search.Rated],
             dec: list[search.Rated], pre: list[search.Rated], slo: Slo, budget: int | None) -> list[str]:
    lay, cand, e = chosen
    q = f"p{slo.percentile:g}"
    lines = [f"chosen {_label(cand)}: {cand.predicted.tokens_per_s_per_gpu:,.0f} tokens/s/GPU at "
             f"{cand.predicted.request_rate_per_s:.2f} req/s, {q} TTFT {cand.predicted.ttft_ms:,.0f} ms "
             f"(target {slo.ttft_ms:,.0f}), {q} ITL {cand.predicted.itl_ms:.1f} ms (target {slo.itl_ms:g})"]
    other = next((c for _, c, _ in scored if c.mode != cand.mode and c.meets_slo), None)
    metric = "tokens/s/GPU" if budget is not None else "GPUs"
    if other is None:
        why = "no aggregated layout meets the SLO" if cand.mode == "disagg" else \
            "no disaggregated layout meets the SLO" if dec else "disaggregation was not searched"
        lines.append(f"mode {cand.mode}: {why}")
    else:
        mine = cand.predicted.tokens_per_s_per_gpu if budget is not None else cand.total_gpus
        theirs = other.predicted.tokens_per_s_per_gpu if budget is not None else other.total_gpus
        lines.append(f"mode {cand.mode}: {mine:,.0f} {metric} vs {theirs:,.0f} for the best {other.mode} "
                     f"layout {_label(other)}")
    if cand.mode == "agg":
        lines.append(f"aggregated instances run {e.decode_batch:.0f} sequences each: prefill chunks share "
                     f"steps with decode (prefill busy {e.prefill_utilization:.0%} of the time) and queued prompts "
                     f"wait {e.queue_ms:.0f} ms on average")
    else:
        p, d = lay.shapes
        lines.append(f"ratio {cand.roles[0].replicas if cand.roles[0].role == 'prefill' else cand.roles[1].replicas}"
                     f"P:{next(r.replicas for r in cand.roles if r.role == 'decode')}D: the prefill pool runs at "
                     f"{e.prefill_utilization:.0%} utilisation (mean queue {e.queue_ms:.0f} ms, KV transfer "
                     f"{e.kv_transfer_ms:.1f} ms); each decode instance holds {e.decode_batch:.0f} sequences "
                     f"(ITL-bound batch {d.d_slo * d.inst.pp:.0f})")
    for role, pool in (("aggregated", agg), ("decode", dec)):
        rated = [r for r in pool if r.rate_per_ms > 0]
        if not rated or role not in {r.role for r in cand.roles}:
            continue
        ranked = sorted(rated, key=lambda r: -r.rate_per_ms / r.shape.gpus)
        cells = ", ".join(f"{r.shape.label} {r.rate_per_ms * 1000 * r.inst.osl / r.shape.gpus:,.0f}" for r in ranked[:4])
        lines.append(f"{role} parallelism: output tokens/s/GPU within the SLO per shape: {cells}")
    if budget is not None:
        left = budget - cand.total_gpus
        lines.append(f"uses {cand.total_gpus} of {budget} GPUs" +
                     (f"; {left} left over (too few for another replica that adds goodput)" if left else ""))
    return lines


def _assumptions(engine: EngineSpec, wl: Workload, slo: Slo, budget: int | None, rate: float | None,
                 sim_lines: list[str], cache: search.ShapeCache) -> dict[str, str]:
    out = {
        "engine": f"{engine.name} {engine.version}: max_num_batched_tokens {engine.default_max_num_batched_tokens}, "
                  f"CUDA graphs up to batch {engine.cuda_graph_max_batch}, memory share {engine.gpu_memory_fraction}",
        "load": f"Poisson arrivals at the planned rate; ISL {wl.mean_isl_tokens:.0f}, OSL {wl.mean_osl_tokens:.0f}",
        "slo": f"p{slo.percentile:g} TTFT <= {slo.ttft_ms:g} ms and p{slo.percentile:g} ITL (TPOT) <= {slo.itl_ms:g} ms",
        "kv_transfer": "prefill -> decode over RDMA (scale-out NICs), the conservative case",
        "sizing": f"maximise goodput within {budget} GPUs" if budget is not None else
                  f"fewest GPUs for {rate:g} req/s",
        "profile": "roofline profile per instance shape (disagg_pipelines.profile)",
        "simulator_check": "done" if sim_lines else "skipped (no simulator passed in)",
    }
    if cache.memory_errors:
        out["memory"] = f"{len(cache.memory_errors)} shape(s) skipped: weights plus minimal KV do not fit"
    return out


def _infeasible_message(agg: list[search.Rated], dec: list[search.Rated], pre: list[search.Rated], slo: Slo,
                        budget: int | None, wider: tuple[list, list, list] | None) -> str:
    q = f"p{slo.percentile:g}"
    ttft_pool = agg + pre
    best_t = min(ttft_pool, key=lambda r: r.best_ttft_ms, default=None)
    best_i = min(agg + dec, key=lambda r: r.best_itl_ms, default=None)
    parts = []
    if best_t is not None:
        parts.append(f"best {q} TTFT {best_t.best_ttft_ms:,.0f} ms with {best_t.shape.label} "
                     f"(target {slo.ttft_ms:,.0f} ms)")
    if best_i is not None:
        parts.append(f"best ITL {best_i.best_itl_ms:.1f} ms with {best_i.shape.label} (target {slo.itl_ms:g} ms)")
    w_agg, w_dec, w_pre = wider or (agg, dec, pre)
    agg_ok = [r.shape.gpus for r in w_agg if r.rate_per_ms > 0]
    dec_ok = [r.shape.gpus for r in w_dec if r.rate_per_ms > 0]
    pre_ok = [r.shape.gpus for r in w_pre if r.best_ttft_ms < slo.ttft_ms]
    sizes = agg_ok + ([min(dec_ok) + min(pre_ok)] if dec_ok and pre_ok else [])
    if budget is not None and sizes:
        hint = f"raise --gpus above {budget} (the smallest layout that meets the SLO needs {min(sizes)} GPUs) " \
            f"or relax the targets"
    else:
        slow = best_t is None or best_t.best_ttft_ms > slo.ttft_ms
        hint = "relax --ttft-ms" if slow else "relax --itl-ms"
        if best_i is not None and best_i.best_itl_ms > slo.itl_ms and not slow:
            hint = "relax --itl-ms"
        elif best_i is not None and best_i.best_itl_ms > slo.itl_ms:
            hint = "relax --ttft-ms and --itl-ms"
        hint += " or use a faster GPU / lower precision"
    return f"no feasible plan: {'; '.join(parts)}; {hint}"
