"""Analytic serving model: (role plans, profiles, engine, workload) -> Estimate.

An engine instance runs steps; each step carries one token for every decoding sequence plus, when prompts are
waiting, prefill chunks up to the token budget (``max_num_batched_tokens``). The model is a steady-state (fluid)
one, parametrised by ``d``, the mean number of decoding sequences per instance:

* Aggregated, mixed batching (vLLM, TRT-LLM): a share ``a`` of steps carry a prefill chunk. With ``X`` requests/ms
  and ``p`` prefill tokens per mixed step, ``a = X * ISL / p * ITL`` and Little's law gives ``d = X * (OSL-1) * ITL``;
  eliminating ``X`` gives the closed form ``ITL = (1-a) * s_decode(d) + a * s_mixed(d, p)`` with
  ``a = d * ISL / (p * (OSL-1))``. Prefill chunks stretch ITL through ``a``.
* Aggregated, separate prefill steps (SGLang default): ``ITL = s_decode(d) + a * s_prefill(p)``.
* Prompts queue for the prefill slot: M/D/1 waiting (Pollaczek-Khinchine, scaled by the prompt-length variability)
  with the utilisation ``u`` of the prefill capacity, so TTFT grows with load.
* Disaggregated: a prefill pool of ``c`` servers (M/D/c waiting via Erlang C and the Allen-Cunneen correction),
  KV transfer (``kv_transfer``), then the decode pool whose ITL is ``s_decode(d)``.
* Closed loop with ``C`` clients: the fixed point ``C = X * (TTFT + (OSL-1) * ITL)`` is solved by bisection on
  ``d``; clients beyond what an instance admits (``max_batch`` and KV capacity) wait outside, adding to TTFT.
* Open loop at rate ``R``: bisection on ``d`` for ``X(d) = R``; a rate above capacity is reported as saturated.

Pipeline parallelism. A Profile with ``pp > 1`` costs the largest stage only. Engines keep ``pp`` micro-batches in
flight (vLLM: one scheduler per virtual engine with the KV blocks split ``pp`` ways, vllm-project/vllm#4412; V1: a
batch queue of ``pp`` disjoint batches, vllm-project/vllm#13064; TRT-LLM and SGLang pipeline micro-batches the same
way), so an instance acts as ``pp`` virtual engines, each holding ``1/pp`` of the admission limit and of the KV, and a
token of a virtual engine passes every stage: its step is ``pp`` x the stage time plus ``pp - 1`` stage-to-stage
sends of the step's activations (``pp_send_ms``). Per-token latency spans all stages; throughput is that of ``pp``
stages working at once. Waiting-time percentiles use the exponential tail of the
M/G/c wait: ``P(W > t) = P(wait) * exp(-t / E[W | wait])``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from disagg_pipelines import profile as profile_step
from disagg_pipelines.domain.engine import EngineSpec
from disagg_pipelines.domain.errors import InsufficientMemory, InvalidInput
from disagg_pipelines.domain.estimate import Estimate, EstimateCase
from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.domain.profile import Profile
from disagg_pipelines.domain.workload import Workload
from disagg_pipelines.plan import kv_transfer

_Z = {50: 0.0, 90: 1.2816, 99: 2.3263}
# Stage-to-stage send of one micro-batch: a fixed cost per hop (NCCL send/recv launch and small-message latency,
# an assumed ~20 us) plus the activations (hidden state and residual, 16-bit) at the link's bandwidth.
PP_SEND_LATENCY_MS = 0.02
PP_SEND_BYTES_PER_ELEMENT = 2 * 2
_BISECT_STEPS = 40
_GRID = 32
INF = float("inf")


# ---- one engine instance ---------------------------------------------------------------------------------------
class Instance:
    """Step-time functions and admission limits of one engine instance for one workload (plain class: hot path)."""

    def __init__(self, profile: Profile, engine: EngineSpec, role: RolePlan, workload: Workload) -> None:
        self.profile = profile
        self.engine = engine
        self.role = role
        self.isl = max(1.0, workload.mean_isl_tokens * (1 - workload.prefix_cache_hit_rate))
        self.isl_context = workload.mean_isl_tokens
        self.osl = workload.mean_osl_tokens
        self.decodes = max(self.osl - 1.0, 0.5)           # ITL intervals per request
        self.ctx = self.isl_context + self.osl / 2          # mean context of a decoding sequence
        self.budget = float(role.max_num_batched_tokens)
        self.pp = profile.pp                                # pp micro-batches in flight, each through pp stages
        self.overhead = profile.step_overhead_ms + engine.scheduler_overhead_ms
        self.kv_tokens = kv_capacity_tokens(profile, engine)
        per_request = self.isl_context + self.osl / 2
        self.max_running = max(0, min(role.max_batch, int(self.kv_tokens / per_request)))
        self.per_virtual_max = self.max_running / self.pp
        self._token = profile.token_ms.at
        self.send_fixed, self.send_per_token = pp_send_ms(profile)
        self._dattn = profile.decode_attn_ms.at
        self._sample = profile.sample_ms.at if profile.sample_ms is not None else (lambda n: 0.0)
        self.attn_per_seq = profile.decode_attn_ms_per_seq
        self.prefill_attn_full = profile.prefill_attn_ms.at(self.isl_context) - \
            profile.prefill_attn_ms.at(self.isl_context - self.isl)
        self.isl_cv2 = _cv2(workload.isl.stddev_tokens, workload.isl.mean_tokens, workload.isl.kind)

    def _send(self, tokens: float) -> float:
        return self.send_fixed + self.send_per_token * tokens

    def decode_step(self, d: float) -> float:
        """One step of a virtual engine with ``d`` decoders: ``pp`` stage times plus the sends between stages."""
        if d <= 0:
            return self.pp * (self.overhead + self._token(1) + self._sample(1)) + self._send(1)
        t = self._token(max(d, 1.0)) + self._dattn(max(d, 1.0) * self.ctx) + max(d, 1.0) * self.attn_per_seq + \
            self._sample(max(d, 1.0)) + self.overhead
        if d > self.engine.cuda_graph_max_batch:
            t += self.engine.eager_step_overhead_ms
        return self.pp * t + self._send(max(d, 1.0))

    def mixed_step(self, d: float, p: float) -> float:
        attn = self.prefill_attn_full * p / self.isl
        dec = self._dattn(d * self.ctx) + d * self.attn_per_seq if d > 0 else 0.0
        return self.pp * (self._token(d + p) + dec + attn + self._sample(d + 1) + self.overhead) + self._send(d + p)

    def prefill_step(self, p: float) -> float:
        return self.pp * (self._token(p) + self.prefill_attn_full * p / self.isl +
                          self._sample(max(1.0, p / self.isl)) + self.overhead) + self._send(p)


def pp_send_ms(profile: Profile) -> tuple[float, float]:
    """(fixed ms, ms per token) of the ``pp - 1`` stage-to-stage sends of one step; (0, 0) without PP.

    Stages inside one NVLink domain send over NVLink, otherwise over the RDMA NICs; each of the stage's ``tp`` GPUs
    sends its share of the activations.
    """
    pp = profile.pp
    if pp <= 1:
        return 0.0, 0.0
    gpu = profile.gpu
    per_gpu = gpu.scale_up_bw_gb_per_s if profile.tp * pp <= gpu.nvlink_domain_gpus else gpu.scale_out_bw_gb_per_s
    bytes_per_ms = per_gpu * 1e9 / 1e3 * kv_transfer.LINK_EFFICIENCY * profile.tp
    per_token = profile.model.hidden_size * PP_SEND_BYTES_PER_ELEMENT / bytes_per_ms
    return (pp - 1) * PP_SEND_LATENCY_MS, (pp - 1) * per_token


def kv_capacity_tokens(profile: Profile, engine: EngineSpec) -> float:
    """Tokens of KV cache one instance holds with the engine's memory share (each GPU holds its shard of a token)."""
    mem = profile.memory
    if mem.kv_tokens_capacity <= 0 or mem.kv_bytes_per_token <= 0:
        return float(mem.kv_tokens_capacity)
    # the profile sizes KV for a 90 % HBM share (vLLM's default); shift by the engine's own share
    extra = (engine.gpu_memory_fraction - (1 - profile_step.HEADROOM_FRACTION)) * mem.hbm_gib * 2**30
    return max(0.0, mem.kv_tokens_capacity + extra / mem.kv_bytes_per_token)


def _cv2(std: float, mean: float, kind: str) -> float:
    if kind == "fixed" or mean <= 0:
        return 0.0
    if kind == "uniform":
        return (mean / math.sqrt(3)) ** 2 / mean**2 if std == 0 else (std / mean) ** 2
    return (std / mean) ** 2


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with ``load`` Erlangs offered (load < servers)."""
    if load <= 0:
        return 0.0
    if load >= servers:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1 - b))


def _wait_quantile(p_wait: float, mean_wait: float, q: float) -> float:
    """Quantile ``q`` (0-1) of a wait that is 0 with probability 1-p_wait and exponential otherwise."""
    if p_wait <= 0 or mean_wait <= 0:
        return 0.0
    tail = 1 - q
    if tail >= p_wait:
        return 0.0
    return mean_wait / p_wait * math.log(p_wait / tail)


# ---- a point of the aggregated model ---------------------------------------------------------------------------
class Point:
    """Steady state at one decode batch: rates per ms and latencies in ms (per virtual engine)."""

    __slots__ = ("d", "itl", "x", "ttft_base", "p_wait", "mean_wait", "util", "tpot_sd", "itl_hi", "extra_wait",
                 "kv_ms")

    def __init__(self, d: float, itl: float, x: float, ttft_base: float, p_wait: float, mean_wait: float,
                 util: float, tpot_sd: float, itl_hi: float, kv_ms: float = 0.0) -> None:
        self.d, self.itl, self.x, self.ttft_base = d, itl, x, ttft_base
        self.p_wait, self.mean_wait, self.util, self.tpot_sd, self.itl_hi = p_wait, mean_wait, util, tpot_sd, itl_hi
        self.extra_wait = 0.0
        self.kv_ms = kv_ms

    @property
    def ttft_mean(self) -> float:
        return self.ttft_base + self.mean_wait + self.extra_wait

    def ttft_q(self, q: float, base_cv: float = 0.0) -> float:
        z = _Z.get(round(q * 100), 1.2816)
        return self.ttft_base * (1 + z * base_cv) + _wait_quantile(self.p_wait, self.mean_wait, q) + self.extra_wait

    def tpot_q(self, q: float) -> float:
        return self.itl + _Z.get(round(q * 100), 1.2816) * self.tpot_sd


def agg_point(inst: Instance, d: float, seen_fraction: float = 1.0) -> Point | None:
    """Aggregated instance with ``d`` decoding sequences per virtual engine; None when prefill cannot keep up."""
    e = inst.engine
    isl, n = inst.isl, inst.decodes
    mixed = e.mixed_batching and e.chunked_prefill
    chunk = max(1.0, inst.budget - d) if mixed else inst.budget
    n_chunks = math.ceil(isl / chunk) if e.chunked_prefill else 1
    p1 = isl / n_chunks
    # short prompts pack into one step; at least as many tokens per prefill step as the load needs
    p = min(chunk, max(p1, d * isl / n / 0.95)) if isl < chunk else p1
    s_d = inst.decode_step(d)
    itl = s_d
    util = 0.0
    s_pf = s_d
    for _ in range(3):
        a = d * isl / (p * n)                      # prefill steps per decode step (mixed: share of steps)
        if mixed:
            if a >= 1:
                return None
            s_pf = inst.mixed_step(d, p)
            itl = (1 - a) * s_d + a * s_pf
            util = a * s_pf / itl
        else:
            s_pf = inst.prefill_step(p)
            itl = s_d + a * s_pf
            util = a * s_pf / itl
        if util >= 1:
            return None
        if isl >= chunk:
            break
        p = min(chunk, max(p, p1 + (chunk - p1) * util))   # queued short prompts share a step
    x = d / (n * itl) if d > 0 else 0.0
    d_seen = d * seen_fraction
    if mixed:
        service = n_chunks * inst.mixed_step(d_seen, p1)
        # a queued prompt shares a step with the one ahead only if two fit the token budget; else it waits a step
        unit = service if 2 * isl > chunk else inst.mixed_step(d_seen, p1) * isl / chunk
    else:
        service = n_chunks * inst.prefill_step(p1)
        unit = service if 2 * isl > chunk else inst.prefill_step(p1) * isl / chunk
    residual = 0.5 * itl * min(1.0, d_seen)
    mean_wait = util / (1 - util) * unit * (1 + inst.isl_cv2) / 2 if util > 0 else 0.0
    a = d * isl / (p * n)
    gap = abs(s_pf - s_d) if mixed else s_pf
    tpot_sd = gap * math.sqrt(max(0.0, a * (1 - a) if mixed else a) / n)
    itl_hi = (s_pf if mixed else s_d + s_pf) if a > 0.01 else s_d
    base = residual + service + e.request_overhead_ms
    return Point(d, itl, x, base, util, mean_wait, util, tpot_sd, itl_hi)


# ---- disaggregated pools ---------------------------------------------------------------------------------------
class PrefillPool:
    """``servers`` prefill virtual engines serving whole prompts (packed into one step when several fit)."""

    def __init__(self, inst: Instance, servers: int) -> None:
        self.inst = inst
        self.servers = servers
        isl, budget = inst.isl, inst.budget
        chunks = math.ceil(isl / budget) if inst.engine.chunked_prefill else 1
        self.service = chunks * inst.prefill_step(isl / chunks)
        pack = max(1, int(budget // isl))
        self.pack_service = inst.prefill_step(pack * isl) if pack > 1 else self.service
        self.capacity_per_ms = pack / self.pack_service
        self.mu_total = self.capacity_per_ms * servers

    def latency(self, util: float) -> float:
        """Prefill time of one prompt: alone when the pool is idle, packed with others as it fills up."""
        return self.service + (self.pack_service - self.service) * min(1.0, util)

    def wait(self, x: float) -> tuple[float, float, float]:
        """(probability of waiting, mean wait ms, utilisation) at ``x`` requests/ms; utilisation >= 1: saturated."""
        util = x / self.mu_total
        if util >= 1:
            return 1.0, INF, util
        load = x / self.capacity_per_ms
        pw = erlang_c(self.servers, load)
        mean = pw / (self.mu_total - x) * (1 + self.inst.isl_cv2) / 2
        return pw, mean, util


def disagg_point(pre: PrefillPool, dec: Instance, decode_servers: int, d: float, kv_ms: float) -> Point | None:
    """Disaggregated state with ``d`` decoding sequences per decode virtual engine; None if prefill saturates."""
    s_d = dec.decode_step(d)
    x = decode_servers * d / (dec.decodes * s_d) if d > 0 else 0.0
    pw, mean_wait, util = pre.wait(x)
    if util >= 1:
        return None
    e = dec.engine
    base = pre.latency(util) + kv_ms + e.disagg_handoff_ms + 1.5 * s_d + e.request_overhead_ms
    slope = dec.decode_step(d + 1) - s_d
    tpot_sd = 0.5 * slope * math.sqrt(max(d, 0.0)) / math.sqrt(dec.decodes)
    return Point(d, s_d, x, base, pw, mean_wait, util, tpot_sd, s_d + slope * math.sqrt(max(d, 0.0)), kv_ms)


# ---- solving for a load ----------------------------------------------------------------------------------------
def _bisect(f, lo: float, hi: float) -> float:
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        if f(mid):
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-4 * max(1.0, hi):
            break
    return lo


def solve_closed(point_at, d_max: float, clients: float, servers: int) -> tuple[Point, bool]:
    """Fixed point ``clients = servers * d + x * TTFT`` over ``d``; clients beyond admission wait outside."""
    def in_flight(pt: Point | None) -> float:
        return INF if pt is None else servers * pt.d + pt.x * pt.ttft_mean

    top = point_at(d_max)
    if top is not None and in_flight(top) <= clients:
        # every admitted slot busy: the rest queue outside the engine
        top.extra_wait = max(0.0, (clients - in_flight(top)) / top.x) if top.x > 0 else 0.0
        return top, False
    d = _bisect(lambda v: in_flight(point_at(v)) >= clients, 0.0, d_max)
    pt = point_at(d)
    while pt is None and d > 0:                          # guard the edge of the stable region
        d *= 0.99
        pt = point_at(d)
    return pt, False


def solve_open(point_at, d_max: float, rate_per_ms: float) -> tuple[Point | None, bool]:
    """The state that carries ``rate_per_ms`` (total); (highest sustainable state, True) if it cannot."""
    # throughput is not monotone in the batch (eager steps past the CUDA-graph sizes): find the first crossing
    grid = [d_max * i / _GRID for i in range(_GRID + 1)]
    best: Point | None = None
    lo = 0.0
    for d in grid[1:]:
        pt = point_at(d)
        if pt is None or pt.x >= rate_per_ms:
            break
        best, lo = pt, d
    else:
        return best, True
    d = _bisect(lambda v: (q := point_at(v)) is None or q.x >= rate_per_ms, lo, d)
    pt = point_at(d)
    if pt is None:
        return best, True
    return pt, pt.x < rate_per_ms * 0.999


# ---- the step --------------------------------------------------------------------------------------------------
def estimate(roles: tuple[RolePlan, ...], profiles: Mapping[str, Profile], engine: EngineSpec, workload: Workload,
             *, same_nvlink_domain: bool = False) -> Estimate:
    """Predict TTFT, TPOT and throughput of ``roles`` (one aggregated role, or prefill + decode) under ``workload``.

    ``profiles`` maps each role name to the Profile of one of its instances. ``workload`` must carry a load
    (``concurrency`` or ``request_rate_per_s``).
    """
    if workload.concurrency is None and workload.request_rate_per_s is None:
        raise InvalidInput("the workload has no load; give concurrency (closed loop) or request_rate_per_s (open loop)")
    names = sorted(r.role for r in roles)
    if names == ["aggregated"]:
        return _estimate_agg(roles[0], profiles["aggregated"], engine, workload)
    if names == ["decode", "prefill"]:
        by = {r.role: r for r in roles}
        return _estimate_disagg(by["prefill"], by["decode"], profiles["prefill"], profiles["decode"], engine,
                                workload, same_nvlink_domain)
    raise InvalidInput(f"roles {names} describe no serving mode; give ['aggregated'] or ['decode', 'prefill']")


def _check_fits(inst: Instance, role: RolePlan) -> None:
    mem = inst.profile.memory
    if inst.max_running < 1:
        need = mem.weights_gib + mem.activation_reserve_gib + inst.ctx * mem.kv_bytes_per_token / 2**30
        have = mem.hbm_gib * inst.engine.gpu_memory_fraction
        raise InsufficientMemory(
            f"{role.role}: {inst.profile.model.name} needs {need:.1f} GiB per GPU (weights {mem.weights_gib:.1f} GiB "
            f"+ KV of one {inst.ctx:.0f}-token request) at tp={role.tp} pp={role.pp}, but {have:.1f} GiB is usable "
            f"on {inst.profile.gpu.name}; raise tp/pp or use fp8")


def _estimate_agg(role: RolePlan, prof: Profile, engine: EngineSpec, wl: Workload) -> Estimate:
    inst = Instance(prof, engine, role, wl)
    _check_fits(inst, role)
    servers = role.replicas * inst.pp
    d_max = inst.per_virtual_max
    if wl.concurrency is not None:
        clients = wl.concurrency / servers
        seen = (clients - 1) / clients if clients > 1 else 0.0
        pt, sat = solve_closed(lambda d: agg_point(inst, d, seen), max(d_max, 1e-6), clients, 1)
    else:
        pt, sat = solve_open(lambda d: agg_point(inst, d), d_max, wl.request_rate_per_s / 1000 / servers)
    return _to_estimate("agg", pt, sat, servers, role.gpus, inst, wl)


def _estimate_disagg(pr: RolePlan, dr: RolePlan, pprof: Profile, dprof: Profile, engine: EngineSpec, wl: Workload,
                     same_domain: bool) -> Estimate:
    pinst, dinst = Instance(pprof, engine, pr, wl), Instance(dprof, engine, dr, wl)
    _check_fits(pinst, pr)
    _check_fits(dinst, dr)
    pool = PrefillPool(pinst, pr.replicas * pinst.pp)
    kv_ms = kv_transfer.kv_transfer_ms(pprof.model, pprof.precision, int(wl.mean_isl_tokens), pprof.gpu, dprof.gpu,
                                       pr.gpus_per_replica, same_domain)
    servers = dr.replicas * dinst.pp

    def at(d: float) -> Point | None:
        return disagg_point(pool, dinst, servers, d, kv_ms)

    if wl.concurrency is not None:
        pt, sat = solve_closed(at, max(dinst.per_virtual_max, 1e-6), float(wl.concurrency), servers)
    else:
        pt, sat = solve_open(at, dinst.per_virtual_max, wl.request_rate_per_s / 1000)
    return _to_estimate("disagg", pt, sat, 1, pr.gpus + dr.gpus, dinst, wl, kv_ms=kv_ms)


def _to_estimate(mode: str, pt: Point | None, saturated: bool, servers: int, gpus: int, inst: Instance,
                 wl: Workload, kv_ms: float = 0.0) -> Estimate:
    if pt is None:
        return Estimate(mode=mode, ttft_ms=INF, ttft_p50_ms=INF, ttft_p90_ms=INF, ttft_p99_ms=INF, tpot_ms=INF,
                        tpot_p50_ms=INF, tpot_p90_ms=INF, tpot_p99_ms=INF, itl_p99_ms=INF, tokens_per_s_per_gpu=0.0,
                        tokens_per_s_per_user=0.0, request_rate_per_s=0.0, concurrency=0.0, total_gpus=gpus,
                        decode_batch=0.0, max_running=inst.max_running, prefill_utilization=1.0, kv_transfer_ms=kv_ms,
                        saturated=True, notes=("prefill capacity is exceeded at any decode batch",))
    rate = pt.x * servers * 1000
    base_cv = math.sqrt(inst.isl_cv2)
    if saturated and wl.request_rate_per_s is not None:
        ttft = (INF,) * 4
        notes = (f"offered {wl.request_rate_per_s:g} req/s exceeds the {rate:.2f} req/s this configuration sustains; "
                 f"queues grow without bound",)
    else:
        ttft = (pt.ttft_mean, pt.ttft_q(0.5, base_cv), pt.ttft_q(0.9, base_cv), pt.ttft_q(0.99, base_cv))
        notes = (f"clients beyond the {inst.max_running} requests an instance admits (max_batch and KV capacity) "
                 f"wait {pt.extra_wait:,.0f} ms before reaching an engine",) if pt.extra_wait > 1e-6 else ()
    concurrency = wl.concurrency if wl.concurrency is not None else rate / 1000 * (ttft[0] + inst.decodes * pt.itl)
    return Estimate(
        mode=mode, ttft_ms=ttft[0], ttft_p50_ms=ttft[1], ttft_p90_ms=ttft[2], ttft_p99_ms=ttft[3],
        tpot_ms=pt.itl, tpot_p50_ms=pt.tpot_q(0.5), tpot_p90_ms=pt.tpot_q(0.9), tpot_p99_ms=pt.tpot_q(0.99),
        itl_p99_ms=pt.itl_hi, tokens_per_s_per_gpu=rate * inst.osl / gpus, tokens_per_s_per_user=1000 / pt.itl,
        request_rate_per_s=rate, concurrency=float(concurrency) if math.isfinite(concurrency) else 0.0,
        total_gpus=gpus, decode_batch=pt.d * inst.pp, max_running=inst.max_running,
        prefill_utilization=pt.util, kv_transfer_ms=kv_ms, queue_ms=pt.mean_wait + pt.extra_wait,
        saturated=saturated, notes=notes)


def roles_for_case(case: EstimateCase, engine: EngineSpec) -> tuple[RolePlan, ...]:
    """The role plans an EstimateCase describes (flags left out take the engine's defaults)."""
    tokens = case.max_num_batched_tokens or engine.default_max_num_batched_tokens
    batch = case.decode_batch or engine.default_max_batch
    if case.mode == "agg":
        return (_role("aggregated", case.gpu, case.tp, case.pp, case.ep, case.replicas, batch, tokens),)
    ptp = case.prefill_tp or case.tp
    dtp = case.decode_tp or case.tp
    return (_role("prefill", case.gpu, ptp, case.pp, min(case.ep, ptp), case.prefill_workers or 1, engine.default_max_batch,
                  tokens),
            _role("decode", case.gpu, dtp, case.pp, min(case.ep, dtp), case.decode_workers or 1, batch, tokens))


def _role(role: str, gpu: str, tp: int, pp: int, ep: int, replicas: int, batch: int, tokens: int) -> RolePlan:
    return RolePlan(role=role, gpu=gpu, tp=tp, pp=pp, ep=ep, replicas=replicas, gpus_per_replica=tp * pp,
                    max_batch=batch, max_num_batched_tokens=tokens)
