"""Planner search: instance shapes -> SLO-bounded capacities -> the best aggregated and disaggregated layouts.

This module owns the search; ``planner.plan`` composes it (``rated_shapes`` -> ``layouts`` -> scoring and the
simulator check) and never the other way round. Capacities come from the analytic serving model (``serving``):

* an aggregated instance serves up to ``rate`` requests/s with TTFT and TPOT within the SLO at its percentile;
* a decode instance holds up to ``d`` sequences with TPOT within the ITL target, i.e. ``d / ((OSL-1) * ITL)`` req/ms;
* a prefill pool of ``P`` instances serves up to ``lambda_P`` req/s with TTFT (M/D/c wait + prefill + KV transfer +
  first decode step) within the TTFT target; ``lambda_P`` grows faster than linearly in ``P`` (pooling).

A disaggregated layout for a pair of shapes is then a 1-D search over ``P``: the decode replicas take what the budget
leaves (``--gpus``), or the fewest that carry the rate (``--rate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from disagg_pipelines.domain.engine import EngineSpec
from disagg_pipelines.domain.errors import InsufficientMemory, InvalidParallelism
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.plan import ParetoPoint, RolePlan
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.profile import Profile
from disagg_pipelines.domain.workload import Slo, Workload
from disagg_pipelines.plan import kv_transfer
from disagg_pipelines.plan import serving as est

_PP_CHOICES = (1, 2, 4, 8)
_MAX_INSTANCE_GPUS = 64
_KEEP_SHAPES = 3               # best shapes per role kept for the disaggregated pairing


@dataclass(frozen=True)
class Shape:
    """One instance shape on one GPU type."""

    gpu: GpuSpec
    tp: int
    pp: int
    ep: int

    @property
    def gpus(self) -> int:
        return self.tp * self.pp

    @property
    def nodes(self) -> int:
        return max(1, math.ceil(self.gpus / self.gpu.gpus_per_node))

    @property
    def label(self) -> str:
        ep = f" ep{self.ep}" if self.ep > 1 else ""
        pp = f" pp{self.pp}" if self.pp > 1 else ""
        return f"tp{self.tp}{pp}{ep}"


@dataclass
class Rated:
    """A shape with its profile and what one instance (or pool) of it sustains within the SLO."""

    shape: Shape
    profile: Profile
    inst: est.Instance
    d_slo: float = 0.0                 # decoding sequences per virtual engine at the SLO
    rate_per_ms: float = 0.0           # requests/ms one instance sustains within the SLO (agg, decode)
    best_ttft_ms: float = math.inf     # at (near) zero load
    best_itl_ms: float = math.inf
    notes: list[str] = field(default_factory=list)


@dataclass
class Layout:
    """A concrete configuration: aggregated replicas, or P prefill + D decode replicas."""

    mode: str
    roles: tuple[RolePlan, ...]
    gpus: int
    rate_per_s: float                  # load it serves within the SLO (analytic)
    shapes: tuple[Rated, ...]


class ShapeCache:
    """Profiles per (gpu, tp, pp, ep), built once per plan() call; shapes that do not fit are remembered as None."""

    def __init__(self, model: ModelSpec, precision: Precision, profiler: Callable[..., Profile]) -> None:
        self.model, self.precision, self.profiler = model, precision, profiler
        self._cache: dict[tuple[str, int, int, int], Profile | None] = {}
        self.memory_errors: list[str] = []

    def get(self, shape: Shape) -> Profile | None:
        key = (shape.gpu.name, shape.tp, shape.pp, shape.ep)
        if key not in self._cache:
            try:
                self._cache[key] = self.profiler(self.model, shape.gpu, self.precision, tp=shape.tp, pp=shape.pp,
                                                 ep=shape.ep)
            except InsufficientMemory as err:
                self.memory_errors.append(str(err))
                self._cache[key] = None
            except InvalidParallelism:
                self._cache[key] = None
        return self._cache[key]


def candidate_shapes(model: ModelSpec, gpu: GpuSpec, budget: int | None) -> list[Shape]:
    """TP inside the NVLink domain (dividing the heads), PP across nodes; an instance fills whole nodes or fits in one."""
    from disagg_pipelines import profile as profile_step

    limit = min(budget or _MAX_INSTANCE_GPUS, _MAX_INSTANCE_GPUS)
    shapes = []
    for tp in profile_step.valid_tp(model, gpu):
        if gpu.gpus_per_node % tp and tp < gpu.gpus_per_node:
            continue
        for pp in _PP_CHOICES:
            g = tp * pp
            if g > limit or pp > model.num_layers:
                continue
            if pp > 1 and tp != gpu.tp_domain_gpus:
                continue                               # PP only once TP fills the NVLink domain
            if g > gpu.gpus_per_node and g % gpu.gpus_per_node:
                continue
            eps = [1]
            if model.moe is not None:
                eps = sorted({e for e in (tp, 1) if model.moe.num_experts % e == 0}, reverse=True)
            for ep in eps:
                shapes.append(Shape(gpu, tp, pp, ep))
    return shapes


def role_plan(role: str, shape: Shape, replicas: int, max_batch: int, budget_tokens: int) -> RolePlan:
    return RolePlan(role=role, gpu=shape.gpu.name, tp=shape.tp, pp=shape.pp, ep=shape.ep, replicas=replicas,
                    gpus_per_replica=shape.gpus, nodes_per_replica=shape.nodes, max_batch=max(1, max_batch),
                    max_num_batched_tokens=budget_tokens)


def _largest(ok: Callable[[float], bool], hi: float) -> float:
    """Largest x in [0, hi] with ok(x) (ok monotone: true then false); 0 if ok fails everywhere above 0."""
    if ok(hi):
        return hi
    lo = 0.0
    for _ in range(36):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-3 * max(lo, 1e-3):
            break
    return lo


def rate_agg(r: Rated, slo: Slo) -> None:
    """Largest decode batch (and so rate) at which one aggregated instance keeps TTFT and TPOT within the SLO."""
    q = slo.percentile / 100
    cv = math.sqrt(r.inst.isl_cv2)
    first = est.agg_point(r.inst, 1e-3)
    if first is not None:
        r.best_ttft_ms, r.best_itl_ms = first.ttft_q(q, cv), first.tpot_q(q)

    def ok(d: float) -> bool:
        pt = est.agg_point(r.inst, d)
        return pt is not None and pt.ttft_q(q, cv) <= slo.ttft_ms and pt.tpot_q(q) <= slo.itl_ms

    if r.inst.per_virtual_max <= 0 or not ok(1e-3):
        return
    top = _largest(ok, r.inst.per_virtual_max)
    # throughput can drop past the largest CUDA-graph batch (eager steps): take the best batch up to the SLO one
    best = None
    for d in {top, min(top, r.inst.engine.cuda_graph_max_batch)}:
        pt = est.agg_point(r.inst, d)
        if pt is not None and (best is None or pt.x > best.x):
            best = pt
    if best is not None:
        r.d_slo, r.rate_per_ms = best.d, best.x * r.inst.pp


def rate_decode(r: Rated, slo: Slo) -> None:
    """Largest decode batch at which a decode instance keeps TPOT within the ITL target."""
    q = slo.percentile / 100
    inst = r.inst
    r.best_itl_ms = inst.decode_step(1.0)

    def tpot(d: float) -> float:
        s = inst.decode_step(d)
        slope = inst.decode_step(d + 1) - s
        return s + est._Z.get(round(q * 100), 1.2816) * 0.5 * slope * math.sqrt(d) / math.sqrt(inst.decodes)

    if inst.per_virtual_max < 1 or tpot(1.0) > slo.itl_ms:
        return
    top = _largest(lambda d: tpot(d) <= slo.itl_ms, inst.per_virtual_max)
    r.d_slo = max({top, min(top, float(inst.engine.cuda_graph_max_batch))},
                  key=lambda d: d / inst.decode_step(d))
    r.rate_per_ms = inst.pp * r.d_slo / (inst.decodes * inst.decode_step(r.d_slo))


def prefill_base_ms(pool: est.PrefillPool, dec: Rated, kv_ms: float) -> float:
    e = dec.inst.engine
    return pool.service + kv_ms + e.disagg_handoff_ms + 1.5 * dec.inst.decode_step(dec.d_slo) + e.request_overhead_ms


def pool_rate(pre: Rated, servers_per_instance: int, instances: int, base_ms: float, slo: Slo) -> float:
    """Requests/ms a pool of ``instances`` prefill instances sustains with TTFT at the percentile within target."""
    pool = est.PrefillPool(pre.inst, instances * servers_per_instance)
    q = slo.percentile / 100
    spread = 1 + est._Z.get(round(q * 100), 1.2816) * math.sqrt(pre.inst.isl_cv2)
    if base_ms * spread > slo.ttft_ms:
        return 0.0

    def ok(x: float) -> bool:
        pw, mean, util = pool.wait(x)
        packed = base_ms + pool.latency(util) - pool.service       # base_ms holds the idle prefill time
        return util < 1 and packed * spread + est._wait_quantile(pw, mean, q) <= slo.ttft_ms

    return _largest(ok, pool.mu_total * 0.999)


def kv_ms_for(pre: Rated, dec: Rated, workload: Workload) -> float:
    p, d = pre.profile, dec.profile
    return kv_transfer.kv_transfer_ms(p.model, p.precision, int(workload.mean_isl_tokens), p.gpu, d.gpu,
                                      pre.shape.gpus, False)


def best_split_for_budget(pre: Rated, dec: Rated, budget: int, slo: Slo, workload: Workload
                          ) -> tuple[int, int, float] | None:
    """(prefill replicas, decode replicas, req/ms) maximising the served rate within ``budget`` GPUs."""
    gp, gd = pre.shape.gpus, dec.shape.gpus
    if gp + gd > budget or dec.rate_per_ms <= 0:
        return None
    kv_ms = kv_ms_for(pre, dec, workload)
    base = prefill_base_ms(est.PrefillPool(pre.inst, 1), dec, kv_ms)
    vp = pre.inst.pp
    memo: dict[int, float] = {}

    def served(p: int) -> float:
        if p not in memo:
            d = (budget - p * gp) // gd
            memo[p] = 0.0 if d < 1 else min(pool_rate(pre, vp, p, base, slo), d * dec.rate_per_ms)
        return memo[p]

    lo, hi = 1, (budget - gd) // gp
    if hi < 1:
        return None
    # served(p) rises while prefill is the bottleneck and falls after: ternary-style search on integers
    while hi - lo > 2:
        m1 = lo + (hi - lo) // 3
        m2 = hi - (hi - lo) // 3
        if served(m1) < served(m2):
            lo = m1 + 1
        else:
            hi = m2
    p = max(range(lo, hi + 1), key=lambda k: (served(k), -k))
    rate = served(p)
    if rate <= 0:
        return None
    d = (budget - p * gp) // gd
    d_needed = max(1, math.ceil(rate / dec.rate_per_ms - 1e-9))
    return p, min(d, d_needed), rate


def fewest_for_rate(pre: Rated, dec: Rated, rate_per_ms: float, slo: Slo, workload: Workload
                    ) -> tuple[int, int] | None:
    """(prefill replicas, decode replicas) with the fewest GPUs that carry ``rate_per_ms`` within the SLO."""
    if dec.rate_per_ms <= 0:
        return None
    d = max(1, math.ceil(rate_per_ms / dec.rate_per_ms - 1e-9))
    kv_ms = kv_ms_for(pre, dec, workload)
    base = prefill_base_ms(est.PrefillPool(pre.inst, 1), dec, kv_ms)
    vp = pre.inst.pp
    single = pool_rate(pre, vp, 1, base, slo)
    if single <= 0:
        return None
    hi = max(1, math.ceil(rate_per_ms / single)) + 1
    while pool_rate(pre, vp, hi, base, slo) < rate_per_ms:
        hi *= 2
        if hi > 1 << 16:
            return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if pool_rate(pre, vp, mid, base, slo) >= rate_per_ms:
            hi = mid
        else:
            lo = mid + 1
    return lo, d


def pareto(points: list[tuple[float, float, str, str]]) -> list[tuple[float, float, str, str]]:
    """Points (tokens/s/GPU, tokens/s/user, mode, label) not dominated in both coordinates, by tokens/s/user."""
    front: list[tuple[float, float, str, str]] = []
    for p in sorted(points, key=lambda t: (-t[1], -t[0])):
        if not front or p[0] > front[-1][0]:
            front.append(p)
    return front


def served_rate(pre: Rated, dec: Rated, prefill_replicas: int, decode_replicas: int, slo: Slo,
                workload: Workload) -> float:
    """Requests/ms that ``prefill_replicas`` + ``decode_replicas`` instances carry within the SLO."""
    base = prefill_base_ms(est.PrefillPool(pre.inst, 1), dec, kv_ms_for(pre, dec, workload))
    return min(pool_rate(pre, pre.inst.pp, prefill_replicas, base, slo), decode_replicas * dec.rate_per_ms)


# ---- candidate search (composed by planner.plan) ----------------------------------------------------------------------------------------------------
def rated_shapes(cache: ShapeCache, model: ModelSpec, gpu: GpuSpec, pgpu: GpuSpec, engine: EngineSpec,
                 wl: Workload, slo: Slo, budget: int | None, mode: str
                 ) -> tuple[list[Rated], list[Rated], list[Rated]]:
    agg: list[Rated] = []
    dec: list[Rated] = []
    pre: list[Rated] = []
    tokens = engine.default_max_num_batched_tokens
    for shape in candidate_shapes(model, gpu, budget):
        prof = cache.get(shape)
        if prof is None:
            continue
        if mode in ("auto", "agg"):
            r = rated(shape, prof, engine, wl, "aggregated", tokens)
            if r is not None:
                rate_agg(r, slo)
                agg.append(r)
        if mode in ("auto", "disagg"):
            r = rated(shape, prof, engine, wl, "decode", tokens)
            if r is not None:
                rate_decode(r, slo)
                dec.append(r)
    if mode in ("auto", "disagg"):
        for shape in candidate_shapes(model, pgpu, budget):
            prof = cache.get(shape)
            r = None if prof is None else rated(shape, prof, engine, wl, "prefill", tokens)
            if r is not None:
                r.best_ttft_ms = est.PrefillPool(r.inst, 1).service
                pre.append(r)
    if not agg and not dec:
        raise InsufficientMemory(memory_message(cache, model, gpu, precision=cache.precision, budget=budget))
    return agg, dec, pre


def rated(shape: Shape, prof: Profile, engine: EngineSpec, wl: Workload, role: str, tokens: int
           ) -> Rated | None:
    rp = role_plan(role, shape, 1, engine.default_max_batch, tokens)
    inst = est.Instance(prof, engine, rp, wl)
    if inst.max_running < 1:
        return None
    return Rated(shape=shape, profile=prof, inst=inst)


def memory_message(cache: ShapeCache, model: ModelSpec, gpu: GpuSpec, precision: Precision,
                    budget: int | None) -> str:
    need_gib = model.weight_bytes(precision) / 2**30
    have = f"{gpu.hbm_gib:.0f} GiB per GPU"
    within = f" within the budget of {budget} GPUs" if budget is not None else ""
    detail = f"; {cache.memory_errors[-1]}" if cache.memory_errors else ""
    return (f"{model.name} at {precision.label} fits no instance{within}: weights alone need {need_gib:.0f} GiB "
            f"({have} on {gpu.name}){detail}")


# ---- layouts ---------------------------------------------------------------------------------------------------
def layouts(agg: list[Rated], dec: list[Rated], pre: list[Rated], engine: EngineSpec,
             wl: Workload, slo: Slo, budget: int | None, rate_per_s: float | None) -> list[Layout]:
    out: list[Layout] = []
    tokens = engine.default_max_num_batched_tokens
    for r in agg:
        if r.rate_per_ms <= 0:
            continue
        g = r.shape.gpus
        reps = budget // g if budget is not None else math.ceil(rate_per_s / 1000 / r.rate_per_ms - 1e-9)
        if reps < 1:
            continue
        mb = batch_cap(r, engine)
        roles = (role_plan("aggregated", r.shape, reps, mb, tokens),)
        rate = reps * r.rate_per_ms * 1000 if budget is not None else rate_per_s
        out.append(Layout("agg", roles, reps * g, rate, (r,)))
    good_dec = sorted((r for r in dec if r.rate_per_ms > 0), key=lambda r: -r.rate_per_ms / r.shape.gpus)
    good_pre = sorted((r for r in pre if r.best_ttft_ms < slo.ttft_ms),
                      key=lambda r: (-est.PrefillPool(r.inst, 1).capacity_per_ms * r.inst.pp / r.shape.gpus,
                                     r.best_ttft_ms))
    # keep the most efficient shapes plus the lowest-latency prefill shape (tight TTFT targets need it)
    fastest = sorted(good_pre, key=lambda r: r.best_ttft_ms)[:1]
    good_pre = list({id(r): r for r in good_pre[:_KEEP_SHAPES] + fastest}.values())
    for p in good_pre:
        for d in good_dec[:_KEEP_SHAPES]:
            if budget is not None:
                split = best_split_for_budget(p, d, budget, slo, wl)
                if split is None:
                    continue
                np_, nd, rate_ms = split
                rate = rate_ms * 1000
            else:
                fit = fewest_for_rate(p, d, rate_per_s / 1000, slo, wl)
                if fit is None:
                    continue
                np_, nd = fit
                rate = rate_per_s
            roles = (role_plan("prefill", p.shape, np_, max(1, int(tokens // p.inst.isl)), tokens),
                     role_plan("decode", d.shape, nd, batch_cap(d, engine), tokens))
            out.append(Layout("disagg", roles, np_ * p.shape.gpus + nd * d.shape.gpus, rate, (p, d)))
    return out


def batch_cap(r: Rated, engine: EngineSpec) -> int:
    """max_batch per instance: the SLO batch with headroom (protects ITL under bursts), within the engine's limit."""
    return int(min(engine.default_max_batch, r.inst.max_running, math.ceil(r.d_slo * r.inst.pp * 1.25) + 1))


def pareto_frontier(agg: list[Rated], dec: list[Rated], pre: list[Rated], wl: Workload
            ) -> tuple[ParetoPoint, ...]:
    pts: list[tuple[float, float, str, str]] = []
    osl = wl.mean_osl_tokens
    for r in agg:
        for d in sweep(r.inst.per_virtual_max):
            pt = est.agg_point(r.inst, d)
            if pt is not None and pt.x > 0:
                pts.append((pt.x * r.inst.pp * 1000 * osl / r.shape.gpus, 1000 / pt.itl, "agg",
                            f"agg({r.shape.label}) batch {d * r.inst.pp:.0f}"))
    best_pre = max(pre, key=lambda r: est.PrefillPool(r.inst, 1).capacity_per_ms * r.inst.pp / r.shape.gpus,
                   default=None)
    if best_pre is not None:
        cap = est.PrefillPool(best_pre.inst, 1).capacity_per_ms * best_pre.inst.pp * 0.8
        for r in dec:
            for d in sweep(r.inst.per_virtual_max):
                s = r.inst.decode_step(d)
                x = r.inst.pp * d / (r.inst.decodes * s)
                gpus = r.shape.gpus + x * best_pre.shape.gpus / cap
                pts.append((1000 * osl * x / gpus, 1000 / s, "disagg",
                            f"P({best_pre.shape.label})+D({r.shape.label}) batch {d * r.inst.pp:.0f}"))
    return tuple(ParetoPoint(tokens_per_s_per_gpu=a, tokens_per_s_per_user=b, mode=m, label=lab)
                 for a, b, m, lab in pareto(pts))


def sweep(top: float) -> list[float]:
    vals, d = [], 1.0
    while d < top:
        vals.append(d)
        d *= 2
    return vals + [top] if top >= 1 else vals
