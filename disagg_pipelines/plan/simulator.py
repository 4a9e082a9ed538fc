"""The simulate step: (role plans, profiles, engine, workload, SLO, seed) -> SimulationResult, event by event.

A deterministic discrete-event simulation of ``requests`` requests through a serving plan:

* Arrivals: open loop (Poisson, bursty gamma gaps, constant) at ``workload.request_rate_per_s``, or closed loop
  with ``workload.concurrency`` clients, each sending its next request when the previous one completes (no think
  time beyond a small client turnaround, ``CLIENT_GAP_MS`` on average, exponential and seeded: the benchmark
  client's response handling and HTTP send, which also keeps clients from staying in exact lock-step). Latency
  statistics of a closed loop leave out the first ``clients`` requests (the cold-start wave that every client sends
  at t=0), as benchmark clients do with a warm-up phase (aiperf ``--warmup-request-count``,
  https://docs.nvidia.com/aiperf/tutorials/load-patterns-scheduling/warmup-phase-configuration). Lengths come
  from ``workload.isl``/``osl`` plus the ``long_context`` share (``arrivals``). The engine's
  ``request_overhead_ms`` (HTTP, tokenisation, streaming) delays each request's arrival at an engine, so it counts in
  TTFT and end-to-end latency.
* Aggregated: each replica is a ``engine_sim.Engine`` (continuous batching, chunked prefill, KV capacity,
  preemption by recompute). The step that completes a prompt emits the first token (TTFT).
* Disaggregated: prefill replicas run the prompts (a request leaves when its prefill completes), then its KV moves to
  a decode replica in ``kv_transfer.kv_transfer_ms`` plus the engine's ``disagg_handoff_ms`` (transfers do not
  contend for links). The decode replica admits it with its KV in place and emits the first token in its first step
  there: the token the prefill worker computed reaches the client through the decode worker's stream, so TTFT =
  queueing + prefill + transfer + hand-off + waiting for a decode slot + one decode step.
* Routing: each request goes to the replica of its pool with the fewest requests assigned (lowest index on ties).
* Pipeline parallelism: a ``pp``-stage replica runs as ``pp`` virtual engines (micro-batches in flight), each with
  ``1/pp`` of its admission limit and KV (see ``engine_sim``); routing treats them as replicas.
* KV capacity per replica is ``serving.kv_capacity_tokens`` (the engine's memory share of HBM after weights and
  activations, divided by the KV bytes a token adds on each GPU: each GPU holds its shard of every token).

Same inputs and seed give the same result; all times are simulated, nothing reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from heapq import heappop, heappush
from operator import attrgetter

from disagg_pipelines.domain.engine import EngineSpec
from disagg_pipelines.domain.errors import InsufficientMemory, InvalidInput, InvalidPlan
from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.domain.profile import Profile
from disagg_pipelines.domain.simulation import LatencyStats, SimulationResult
from disagg_pipelines.domain.workload import Slo, Workload
from disagg_pipelines.plan import arrivals, kv_transfer
from disagg_pipelines.plan import serving
from disagg_pipelines.plan.engine_sim import Engine

_STEP, _TRANSFER, _ARRIVE = 0, 1, 2
CLIENT_GAP_MS = 2.0          # mean closed-loop client turnaround (not part of TTFT: it comes before the send)
_LOAD = attrgetter("load")


def simulate(roles: tuple[RolePlan, ...], profiles: Mapping[str, Profile], engine: EngineSpec, workload: Workload,
             slo: Slo, *, requests: int, seed: int, same_nvlink_domain: bool = False) -> SimulationResult:
    """Simulate ``requests`` requests of ``workload`` through ``roles`` (one aggregated role, or prefill + decode)."""
    if requests < 1:
        raise InvalidInput(f"requests={requests} must be at least 1")
    names = sorted(r.role for r in roles)
    if names not in (["aggregated"], ["decode", "prefill"]):
        raise InvalidPlan(f"roles {names} describe no serving mode; give ['aggregated'] or ['decode', 'prefill']")
    missing = [n for n in names if n not in profiles]
    if missing:
        raise InvalidInput(f"no profile for role(s) {missing}; profiles given for {sorted(profiles)}")
    arrival = workload.arrival_kind
    if arrival != "closed" and workload.request_rate_per_s is None:
        raise InvalidInput(f"arrival={arrival!r} needs workload.request_rate_per_s, or give concurrency (closed loop)")
    isl, osl = arrivals.sample_lengths(workload, requests, seed)
    sim = _Sim({r.role: r for r in roles}, profiles, engine, workload, isl, osl, same_nvlink_domain)
    if arrival == "closed":
        clients = min(workload.concurrency or 1, requests)
        sim.gap_ms = arrivals.client_gaps_ms(requests, seed, CLIENT_GAP_MS)
        sim.warmup = clients if requests >= 2 * clients else 0
        sim.run_closed(clients)
    else:
        sim.run_open(arrivals.arrival_times_ms(arrival, workload.request_rate_per_s, requests, seed,
                                               workload.burstiness))
    return _result(sim, "agg" if names == ["aggregated"] else "disagg", arrival, seed, slo)


class _Sim:
    """Request state in flat lists (indexed by request), the engines, the event heap and the routing."""

    def __init__(self, roles: dict[str, RolePlan], profiles: Mapping[str, Profile], engine: EngineSpec,
                 workload: Workload, isl: list[int], osl: list[int], same_nvlink_domain: bool) -> None:
        n = len(isl)
        self.isl, self.osl, self.n = isl, osl, n
        self.target = list(isl)
        self.done = [0] * n
        self.out_left = [1] * n if "prefill" in roles else list(osl)   # a prefill worker emits one token
        self.epoch = [0] * n
        self.state = [0] * n
        self.where: list[Engine | None] = [None] * n
        self.s0 = [0] * n
        self.base = [0] * n
        self.ready = [False] * n
        self.admitted = [0] * n
        self.serial = 0
        hit = workload.prefix_cache_hit_rate
        self.cached = [int(x * hit) for x in isl] if hit else [0] * n
        self.arrive_ms = [0.0] * n
        self.admit_ms = [-1.0] * n
        self.first_ms = [-1.0] * n
        self.finish_ms = [0.0] * n
        self.xfer_ms = [0.0] * n
        self.request_ms = engine.request_overhead_ms
        self.gap_ms: list[float] = [0.0] * n
        self.warmup = 0                                         # leading requests left out of latency statistics
        self.heap: list[tuple] = []
        self.seq = 0
        self.next_rid = 0
        self.closed = False
        self.engines: dict[str, list[Engine]] = {}
        for name, plan in roles.items():
            prof = profiles[name]
            cap = int(serving.kv_capacity_tokens(prof, engine) / prof.pp)      # per virtual engine
            _check_fits(name, cap, isl, osl)
            pool = [Engine(self, name, i, prof, engine, plan, cap) for i in range(plan.replicas * prof.pp)]
            for e in pool:
                e.first_cb = self._noop if name == "prefill" else self._first
                e.done_cb = self._prefilled if name == "prefill" else self._finished
            self.engines[name] = pool
        self.entry = self.engines.get("aggregated") or self.engines["prefill"]
        self.total_gpus = sum(r.gpus for r in roles.values())
        if "prefill" in roles:
            pp, dp = profiles["prefill"], profiles["decode"]
            self.handoff_ms = engine.disagg_handoff_ms
            self._xfer = lambda tokens: kv_transfer.kv_transfer_ms(pp.model, pp.precision, tokens, pp.gpu, dp.gpu,
                                                                   pp.gpus, same_nvlink_domain)
            self._xfer_cache: dict[int, float] = {}

    # ---- callbacks from engines --------------------------------------------------------------------------
    def push_step(self, t: float, eng: Engine) -> None:
        self.seq += 1
        heappush(self.heap, (t, self.seq, _STEP, eng, eng.version))

    def _noop(self, r: int, t: float) -> None:
        pass

    def _first(self, r: int, t: float) -> None:
        if self.first_ms[r] < 0:
            self.first_ms[r] = t

    def _finished(self, r: int, t: float) -> None:
        self.finish_ms[r] = t
        if self.closed and self.next_rid < self.n:
            self._issue(self.next_rid, t)
            self.next_rid += 1

    def _prefilled(self, r: int, t: float) -> None:
        tokens = self.isl[r]
        ms = self._xfer_cache.get(tokens)
        if ms is None:
            ms = self._xfer_cache[tokens] = self._xfer(tokens)
        self.xfer_ms[r] = ms
        self.seq += 1
        heappush(self.heap, (t + ms + self.handoff_ms, self.seq, _TRANSFER, None, r))

    # ---- the event loop ------------------------------------------------------------------------------------
    def _issue(self, r: int, t: float) -> None:
        t += self.gap_ms[r]
        self.arrive_ms[r] = t
        self.seq += 1
        heappush(self.heap, (t + self.request_ms, self.seq, _ARRIVE, None, r))

    def run_closed(self, clients: int) -> None:
        self.closed = True
        for r in range(clients):
            self._issue(r, 0.0)
        self.next_rid = clients
        self._loop([])

    def run_open(self, times_ms: list[float]) -> None:
        self.arrive_ms = times_ms
        self._loop(times_ms)

    def _loop(self, times_ms: list[float]) -> None:
        heap, entry, oh = self.heap, self.entry, self.request_ms
        i, n_open = 0, len(times_ms)
        while True:
            if i < n_open and (not heap or times_ms[i] + oh <= heap[0][0]):
                min(entry, key=_LOAD).arrive(i, times_ms[i] + oh)
                i += 1
                continue
            if not heap:
                return
            t, _, kind, eng, data = heappop(heap)
            if kind == _STEP:
                if eng.version == data:
                    eng.end(t)
            elif kind == _ARRIVE:
                min(entry, key=_LOAD).arrive(data, t)
            else:                                                  # KV landed: hand over to a decode replica
                self.done[data] = self.target[data] = self.isl[data]
                self.out_left[data] = self.osl[data]
                self.ready[data] = True
                min(self.engines["decode"], key=_LOAD).arrive(data, t)


def _check_fits(role: str, cap: int, isl: list[int], osl: list[int]) -> None:
    if role == "prefill":
        need, what = max(isl), "its prompt"
    else:
        need, what = max(a + b for a, b in zip(isl, osl)), "prompt plus output"
    if need > cap:
        raise InsufficientMemory(
            f"{role}: the longest request needs {need:,} KV tokens ({what}) but one replica holds {cap:,}; "
            f"raise tp/pp of the {role} role, use an fp8 KV cache, or shorten the longest request")


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _stats(values: list[float]) -> LatencyStats:
    v = sorted(values)
    mean = sum(v) / len(v) if v else 0.0
    return LatencyStats(mean=mean, p50=_percentile(v, 50), p90=_percentile(v, 90), p99=_percentile(v, 99))


def _result(sim: _Sim, mode: str, arrival: str, seed: int, slo: Slo) -> SimulationResult:
    arr, first, fin, osl, oh = sim.arrive_ms, sim.first_ms, sim.finish_ms, sim.osl, sim.request_ms
    n = sim.n
    w = range(sim.warmup, n)                                   # steady-state requests: latency statistics
    ttft = [first[r] - arr[r] for r in w]
    e2e_all = [fin[r] - arr[r] for r in range(n)]
    e2e = e2e_all[sim.warmup:]
    itl = [(fin[r] - first[r]) / (osl[r] - 1) if osl[r] > 1 else -1.0 for r in w]
    itl_known = [x for x in itl if x >= 0]
    gaps = sum(o - 1 for o in osl)
    duration_ms = max(fin) - min(arr)
    duration_s = max(duration_ms / 1000.0, 1e-9)
    ok = [ttft[i] <= slo.ttft_ms and itl[i] <= slo.itl_ms for i in range(len(ttft))]
    share = sum(ok) / len(ok)                                 # SLO attainment of the steady state
    out_tokens = sum(osl)
    good_tokens = share * out_tokens
    itl_stats = _stats(itl_known)
    mean_batch = {}
    preemptions = 0
    for role, pool in sim.engines.items():
        steps = sum(e.steps_run for e in pool)
        mean_batch[role] = sum(e.batch_sum for e in pool) / steps if steps else 0.0
        preemptions += sum(e.preemptions for e in pool)
    return SimulationResult(
        mode=mode, arrival=arrival, seed=seed, requests=n, input_tokens=sum(sim.isl), output_tokens=out_tokens,
        total_gpus=sim.total_gpus, duration_s=duration_s, ttft_ms=_stats(ttft), itl_ms=itl_stats, e2e_ms=_stats(e2e),
        itl_token_mean_ms=sum(fin[r] - first[r] for r in range(n)) / gaps if gaps else 0.0,
        percentile=slo.percentile, ttft_at_percentile_ms=_percentile(sorted(ttft), slo.percentile),
        itl_at_percentile_ms=_percentile(sorted(itl_known), slo.percentile),
        request_rate_per_s=n / duration_s, mean_concurrency=sum(e2e_all) / duration_ms if duration_ms > 0 else 0.0,
        tokens_per_s=out_tokens / duration_s, tokens_per_s_per_gpu=out_tokens / duration_s / max(sim.total_gpus, 1),
        tokens_per_s_per_user=1000.0 / itl_stats.mean if itl_stats.mean > 0 else 0.0,
        slo_attainment=share, goodput_requests_per_s=share * n / duration_s,
        goodput_tokens_per_s=good_tokens / duration_s, preemptions=preemptions, mean_batch=mean_batch,
        kv_transfer_ms_mean=sum(sim.xfer_ms) / n,
        queue_wait_ms_mean=sum(sim.admit_ms[r] - arr[r] - oh for r in range(n)) / n,
    )
