"""One simulated engine replica: continuous batching, chunked prefill under a token budget, KV capacity, preemption.

The scheduler follows vLLM's decode-first policy. Each step gives one token to every decoding sequence, then fills
the rest of ``max_num_batched_tokens`` with prefill chunks: first the sequences already admitted, then new ones
from the waiting queue (FIFO) while fewer than ``max_batch`` sequences run and their KV fits. When decoding
sequences need KV that is not free, the newest running sequence is preempted: it loses its KV, goes back to the
front of the queue and later recomputes its prompt plus the tokens it had generated.

The step that finishes a sequence's prefill emits one token. A sequence that arrives with its KV already in place
(the decode pool of disaggregated serving) joins as a decoder and emits a token in its first step.

Pipeline parallelism: the simulation runs a ``pp``-stage replica as ``pp`` virtual engines (the micro-batches in
flight), each with ``max_batch // pp`` sequences and ``1/pp`` of the replica's KV; one step of a virtual engine takes
``pp`` x the stage time of the profile plus the stage-to-stage sends (``serving.pp_send_ms``), so a token's latency
spans all stages while the stages work on different micro-batches at once.

Speed: per-request state lives in flat lists owned by the simulation; a decoder costs nothing per step. Decoders
sit in a heap keyed by the step index of their last token, and KV is tracked as ``dec_off + n_dec * step``. When a
step would hold only decoders and nothing can be admitted, the composition cannot change before the next sequence
finishes, a new request arrives or KV runs out, so all those steps run as one segment whose duration is summed in
closed form over the piecewise-linear cost tables ("step skipping"). An arrival cuts a segment at the step boundary
after it.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from heapq import heappop, heappush
from typing import TYPE_CHECKING

from disagg_pipelines.domain.profile import CostTable
from disagg_pipelines.plan.serving import pp_send_ms

if TYPE_CHECKING:
    from disagg_pipelines.domain.engine import EngineSpec
    from disagg_pipelines.domain.plan import RolePlan
    from disagg_pipelines.domain.profile import Profile

WAITING, PREFILLING, DECODING, GONE = 0, 1, 2, 3
_NONE: list = []                                              # shared empty list, never mutated


class Piecewise:
    """A CostTable as linear pieces ``a + b * x`` between knots; evaluates points and sums over progressions."""

    __slots__ = ("knots", "a", "b", "last")

    def __init__(self, table: CostTable, scale: float = 1.0, add_per_x: float = 0.0) -> None:
        """``scale * table + add_per_x * x`` (``pp`` stages in sequence and the per-token part of their sends)."""
        xs, ys = table.x, tuple(y * scale for y in table.ms)
        knots, a, b = [0.0], [0.0], [ys[0] / xs[0]]          # (0, x0]: proportional, as CostTable.at
        for i in range(len(xs) - 1):
            slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
            knots.append(xs[i])
            a.append(ys[i] - slope * xs[i])
            b.append(slope)
        knots.append(xs[-1])                                  # beyond the last point: the last slope continues
        if len(xs) == 1:
            a.append(0.0)
            b.append(ys[0] / xs[0])
        else:
            a.append(a[-1])
            b.append(b[-1])
        self.knots, self.a, self.b, self.last = knots, a, [v + add_per_x for v in b], len(knots) - 1

    def at(self, x: float) -> float:
        if x <= 0:
            return 0.0
        p = bisect.bisect_left(self.knots, x) - 1
        return self.a[p] + self.b[p] * x

    def progression_sum(self, start: float, step: float, count: int) -> float:
        """Sum of f(start + i * step) for i = 1..count (start >= 0, step > 0), exact for piecewise-linear f."""
        knots, a, b, last = self.knots, self.a, self.b, self.last
        p = bisect.bisect_left(knots, start + step) - 1
        if p >= last or start + count * step <= knots[p + 1]:     # all on one piece (the usual case)
            return a[p] * count + b[p] * (start * count + step * count * (count + 1) / 2)
        total, i = 0.0, 1
        while i <= count:
            end = count if p >= last else min(count, math.floor((knots[p + 1] - start) / step))
            if end >= i:
                cnt = end - i + 1
                total += a[p] * cnt + b[p] * (start * cnt + step * (i + end) * cnt / 2)
                i = end + 1
            p += 1
        return total


class Engine:
    """One replica of a role. ``sim`` owns the request state and receives first-token and done callbacks."""

    def __init__(self, sim, role: str, index: int, profile: Profile, engine: EngineSpec, plan: RolePlan,
                 kv_capacity: int) -> None:
        self.sim, self.role, self.index = sim, role, index
        pp = profile.pp                                       # a virtual engine's step passes all pp stages
        send_fixed, send_per_token = pp_send_ms(profile)
        self.tok = Piecewise(profile.token_ms, pp, send_per_token)
        self.pre = Piecewise(profile.prefill_attn_ms, pp)
        self.att = Piecewise(profile.decode_attn_ms, pp)
        self.sample = Piecewise(profile.sample_ms, pp) if profile.sample_ms is not None else None
        self.attn_per_seq = pp * profile.decode_attn_ms_per_seq
        self.fixed_ms = pp * (profile.step_overhead_ms + engine.scheduler_overhead_ms) + send_fixed
        self.mixed = engine.mixed_batching
        self.eager_ms = pp * engine.eager_step_overhead_ms
        self.graph_max = engine.cuda_graph_max_batch
        self.budget = plan.max_num_batched_tokens
        self.max_batch = max(1, plan.max_batch // pp)
        self.cap = kv_capacity
        self.waiting: deque[int] = deque()
        self.prefilling: list[int] = []
        self.heap: list[tuple[int, int, int]] = []            # (finish step, epoch, request)
        self.order: list[tuple[int, int]] = []                # (admission serial, request): newest last
        self.n_dec = 0
        self.dec_off = 0                                      # sum over decoders of (kv base - join step)
        self.kv_pref = 0                                      # KV held by sequences still prefilling
        self.step = 0                                         # steps completed
        self.busy = False
        self.version = 0
        self.load = 0                                         # requests assigned and not yet gone
        self.sched: list[int] = []                            # prefilling sequences with a chunk in this step
        self.new_dec: list[int] = []                          # sequences admitted as decoders in this step
        self.seg_t0 = self.seg_c = self.seg_ms = 0.0
        self.seg_k = self.seg_n = self.seg_a = 0
        self.dec_c: dict[int, float] = {}                       # decoders -> per-step cost besides attention
        self.steps_run = 0
        self.batch_sum = 0
        self.preemptions = 0
        self.first_cb = self.done_cb = None                  # (request, time) callbacks, set by the simulation

    # ---- arrivals ------------------------------------------------------------------------------------------
    def arrive(self, r: int, t: float) -> None:
        sim = self.sim
        sim.state[r] = WAITING
        sim.where[r] = self
        self.waiting.append(r)
        self.load += 1
        if not self.busy:
            self.start(t)
        elif self.seg_k > 1 and len(self.prefilling) + self.n_dec < self.max_batch and \
                (self.n_dec < self.budget or not self.mixed):          # it could join the next step
            self._cut(t)

    def _seg_ms(self, j: int) -> float:
        return j * self.seg_c + self.att.progression_sum(self.seg_a, self.seg_n, j)

    def _cut(self, t: float) -> None:
        """End the running decode-only segment at the first step boundary after ``t``."""
        elapsed, k, n = t - self.seg_t0, self.seg_k, self.seg_n
        # steps only lengthen as KV grows: the first j steps take at most j x the mean step, at least j x the first
        lo = min(k, int(elapsed * k / self.seg_ms))
        hi = min(k, int(elapsed / (self.seg_c + self.att.at(self.seg_a + n))) + 1)
        while lo < hi:                                        # largest j with seg_ms(j) <= elapsed
            mid = (lo + hi + 1) // 2
            if self._seg_ms(mid) <= elapsed:
                lo = mid
            else:
                hi = mid - 1
        cut = lo + 1
        if cut < k:
            self.steps_run -= k - cut
            self.batch_sum -= n * (k - cut)
            self.seg_k = cut
            self.seg_ms = self._seg_ms(cut)
            self.version += 1
            self.sim.push_step(self.seg_t0 + self.seg_ms, self)

    # ---- one step ----------------------------------------------------------------------------------------
    def start(self, t: float) -> None:
        """Compose the next step at time ``t`` and schedule its end, or go idle."""
        cap = self.cap
        while True:
            if not self.mixed and (self.prefilling or self.waiting):     # prefill-only steps take priority
                chunks, sched, new_dec = self._fill(t, 0)
                if chunks:
                    self._launch(t, False, chunks, sched, new_dec)
                    return
            while self.n_dec and self.kv_pref + self.dec_off + self.n_dec * (self.step + 1) > cap:
                self._preempt_newest()
            chunks, sched, new_dec = self._fill(t, self.n_dec)
            if self.n_dec or chunks:
                self._launch(t, True, chunks, sched, new_dec)
                return
            if self.prefilling:                                    # stuck on KV with nothing decoding
                self._preempt_newest()
                continue
            self.busy = False
            return

    def _fill(self, t: float, n: int) -> tuple[list[tuple[int, int]], list[int], list[int]]:
        """Prefill chunks for a step that also carries ``n`` decode tokens: running prefills first, then admissions."""
        if not self.prefilling and not self.waiting:
            return _NONE, _NONE, _NONE
        sim = self.sim
        target, done, state = sim.target, sim.done, sim.state
        budget = self.budget - n
        free = self.cap - (self.kv_pref + self.dec_off + self.n_dec * self.step + n)
        chunks: list[tuple[int, int]] = []
        sched: list[int] = []
        for r in self.prefilling:
            if budget <= 0 or free <= 0:
                break
            d = done[r]
            c = target[r] - d
            if c > budget:
                c = budget
            if c > free:
                c = free
            chunks.append((d, c))
            sched.append(r)
            done[r] = d + c
            budget -= c
            free -= c
            self.kv_pref += c
        running = len(self.prefilling) + self.n_dec
        new_dec: list[int] = []
        waiting = self.waiting
        while waiting and running < self.max_batch and budget > 0:
            r = waiting[0]
            if sim.ready[r]:                                       # KV already here: decode from this step
                need = target[r] + 1
                if need > free or (n == 0 and not self.mixed):
                    break
                waiting.popleft()
                s0 = self.step
                sim.s0[r], sim.base[r] = s0, target[r]
                heappush(self.heap, (s0 + sim.out_left[r], sim.epoch[r], r))
                self.n_dec += 1
                self.dec_off += target[r] - s0
                state[r] = DECODING
                new_dec.append(r)
                budget -= 1
            else:
                cached = sim.cached[r] if sim.cached[r] < target[r] else 0
                c = target[r] - cached
                if c > budget:
                    c = budget
                need = cached + c
                if need > free:
                    break
                waiting.popleft()
                self.prefilling.append(r)
                chunks.append((cached, c))
                sched.append(r)
                done[r] = need
                self.kv_pref += need
                state[r] = PREFILLING
                budget -= c
            free -= need
            running += 1
            sim.serial += 1
            sim.admitted[r] = sim.serial
            self.order.append((sim.serial, r))
            if sim.admit_ms[r] < 0:
                sim.admit_ms[r] = t
        return chunks, sched, new_dec

    def _per_step_ms(self, n: int, sampled: int) -> float:
        ms = self.fixed_ms + n * self.attn_per_seq + (self.sample.at(sampled) if self.sample else 0.0)
        return ms + (self.eager_ms if n > self.graph_max else 0.0)

    def _launch(self, t: float, decode: bool, chunks: list[tuple[int, int]], sched: list[int],
                new_dec: list[int]) -> None:
        self.busy = True
        self.sched, self.new_dec = sched, new_dec
        n = self.n_dec if decode else 0                            # includes sequences admitted as decoders
        self.seg_n = n
        self.version += 1
        if not chunks:                                             # decode only: run until the next change
            heap, epoch = self.heap, self.sim.epoch
            while heap[0][1] != epoch[heap[0][2]]:
                heappop(heap)
            k = min(heap[0][0] - self.step, (self.cap - self.kv_pref - self.dec_off - n * self.step) // n)
            self.seg_t0, self.seg_k = t, k
            self.seg_a = self.dec_off + n * self.step
            c = self.dec_c.get(n)
            if c is None:
                c = self.dec_c[n] = self.tok.at(n) + self._per_step_ms(n, n)
            self.seg_c = c
            self.steps_run += k
            self.batch_sum += n * k
            self.seg_ms = self._seg_ms(k)
            self.sim.push_step(t + self.seg_ms, self)
            if new_dec:                                            # no cut comes before the first step's end
                first = t + self.seg_c + self.att.at(self.seg_a + n)
                for r in new_dec:
                    self.first_cb(r, first)
                self.new_dec = _NONE
            return
        pre = self.pre
        ms = self.tok.at(n + sum(c for _, c in chunks)) + self._per_step_ms(n, n + len(chunks))
        for p, c in chunks:
            ms += pre.at(p + c) - pre.at(p)
        if n:
            ms += self.att.at(self.dec_off + n * (self.step + 1))
        self.seg_k = 1
        self.steps_run += 1
        self.batch_sum += n + len(chunks)
        self.sim.push_step(t + ms, self)

    def end(self, t: float) -> None:
        """The scheduled step (or segment) ended at ``t``: emit tokens, retire finished sequences, go on."""
        sim = self.sim
        target, done, out_left, state = sim.target, sim.done, sim.out_left, sim.state
        if self.seg_n:                                             # steps without decoders leave decode KV as it was
            self.step += self.seg_k
        s = self.step
        for r in self.sched:
            if done[r] == target[r]:
                self.prefilling.remove(r)
                self.kv_pref -= done[r]
                out_left[r] -= 1
                self.first_cb(r, t)
                if out_left[r] == 0:
                    self._leave(r)
                    self.done_cb(r, t)
                else:
                    sim.s0[r], sim.base[r] = s, target[r]
                    heappush(self.heap, (s + out_left[r], sim.epoch[r], r))
                    self.n_dec += 1
                    self.dec_off += target[r] - s
                    state[r] = DECODING
        for r in self.new_dec:
            self.first_cb(r, t)
        self.sched = self.new_dec = _NONE
        heap, epoch, s0, base = self.heap, sim.epoch, sim.s0, sim.base
        while heap and heap[0][0] <= s:
            _, ep, r = heappop(heap)
            if ep != epoch[r]:
                continue
            self.n_dec -= 1
            self.dec_off -= base[r] - s0[r]
            out_left[r] = 0
            self._leave(r)
            self.done_cb(r, t)
        self.start(t)

    # ---- bookkeeping ---------------------------------------------------------------------------------------
    def _leave(self, r: int) -> None:
        self.sim.state[r] = GONE
        self.load -= 1

    def _preempt_newest(self) -> None:
        sim = self.sim
        state, order = sim.state, self.order
        while order:
            serial, r = order.pop()
            if sim.where[r] is self and sim.admitted[r] == serial and state[r] in (PREFILLING, DECODING):
                break
        else:
            raise RuntimeError("preemption found no running sequence")   # an invariant, not user input
        if state[r] == PREFILLING:
            self.prefilling.remove(r)
            self.kv_pref -= sim.done[r]
        else:
            gen = self.step - sim.s0[r]
            self.n_dec -= 1
            self.dec_off -= sim.base[r] - sim.s0[r]
            sim.epoch[r] += 1
            sim.out_left[r] -= gen
            sim.target[r] = sim.base[r] + gen                     # recompute the prompt and what was generated
        sim.done[r] = 0
        sim.ready[r] = False
        state[r] = WAITING
        self.waiting.appendleft(r)
        self.preemptions += 1
