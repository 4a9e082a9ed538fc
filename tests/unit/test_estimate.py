"""The analytic serving model: queueing growth, chunked-prefill interference, closed-loop fixed point, memory."""

from __future__ import annotations

import math

import pytest

from disagg_pipelines import catalog
from disagg_pipelines import profile as profile_step
from disagg_pipelines.domain import (
    CostTable,
    LengthDist,
    MemoryBudget,
    Precision,
    Profile,
    RolePlan,
    Workload,
)
from disagg_pipelines.domain.errors import InsufficientMemory, InvalidInput
from disagg_pipelines.domain.estimate import EstimateCase
from disagg_pipelines.plan import serving as est

GPU = "h100-sxm"


def _profile(weights_gib: float = 15.0, kv_tokens: int = 400_000) -> Profile:
    """A hand-built Llama-3.1-8B-like profile: ~5 ms memory-bound steps, ~10.7 us per token when compute-bound."""
    return Profile(
        model=catalog.load_model("meta-llama/Llama-3.1-8B"), gpu=catalog.load_gpu(GPU), precision=Precision(),
        token_ms=CostTable(x=(1, 64, 256, 512, 1024, 4096, 8192), ms=(5.0, 5.1, 5.6, 6.5, 11, 44, 88)),
        prefill_attn_ms=CostTable(x=(1024, 4096, 16384), ms=(0.45, 7.0, 112.0)),
        decode_attn_ms=CostTable(x=(1000, 1_000_000), ms=(0.044, 44.0)),
        step_overhead_ms=0.3,
        memory=MemoryBudget(hbm_gib=79.6, weights_gib=weights_gib, activation_reserve_gib=9.0,
                            kv_bytes_per_token=131072, kv_tokens_capacity=kv_tokens))


ENGINE = catalog.load_engine("vllm")
PROF = _profile()


def _agg(replicas: int = 1, max_batch: int = 1024) -> tuple[RolePlan, ...]:
    return (RolePlan(role="aggregated", gpu=GPU, tp=1, replicas=replicas, gpus_per_replica=1, max_batch=max_batch,
                     max_num_batched_tokens=8192),)


def _disagg(prefill: int, decode: int) -> tuple[RolePlan, ...]:
    return (RolePlan(role="prefill", gpu=GPU, tp=1, replicas=prefill, gpus_per_replica=1, max_batch=4,
                     max_num_batched_tokens=8192),
            RolePlan(role="decode", gpu=GPU, tp=1, replicas=decode, gpus_per_replica=1, max_batch=1024,
                     max_num_batched_tokens=8192))


def _wl(isl: int = 2000, osl: int = 256, **load) -> Workload:
    return Workload(isl=LengthDist.fixed(isl), osl=LengthDist.fixed(osl), **load)


def _run(roles, wl, engine=ENGINE):
    profiles = {r.role: PROF for r in roles}
    return est.estimate(roles, profiles, engine, wl)


@pytest.mark.parametrize("roles", [_agg(), _disagg(1, 1)], ids=["agg", "disagg"])
def test_ttft_grows_with_closed_loop_concurrency(roles):
    ttft = [_run(roles, _wl(concurrency=c)).ttft_ms for c in (1, 8, 32, 64, 128, 256)]
    assert all(b > a for a, b in zip(ttft, ttft[1:])), ttft
    assert ttft[-1] > 3 * ttft[0]                        # queueing, not a constant prefill time


def test_disaggregated_ttft_grows_with_open_loop_rate_and_saturates():
    res = [_run(_disagg(1, 2), _wl(request_rate_per_s=r)) for r in (1, 5, 10, 15)]
    ttft = [r.ttft_p90_ms for r in res]
    assert all(b > a for a, b in zip(ttft, ttft[1:])), ttft
    assert [r.queue_ms > 0 for r in res] == [True] * 4
    over = _run(_disagg(1, 2), _wl(request_rate_per_s=200))
    assert over.saturated and math.isinf(over.ttft_ms)
    assert 0 < over.request_rate_per_s < 200             # the most the configuration sustains


def test_more_prefill_workers_shorten_the_queue():
    one = _run(_disagg(1, 2), _wl(concurrency=128))
    four = _run(_disagg(4, 2), _wl(concurrency=128))
    assert four.queue_ms < one.queue_ms
    assert four.ttft_ms < one.ttft_ms


def test_prefill_chunks_stretch_aggregated_itl():
    short = _run(_agg(), _wl(isl=200, concurrency=32))
    long = _run(_agg(), _wl(isl=6000, concurrency=32))
    assert long.tpot_ms > 1.3 * short.tpot_ms
    assert long.prefill_utilization > short.prefill_utilization
    # disaggregated decode does not see the prompts: same context, no chunks in its steps
    dis_long = _run(_disagg(4, 1), _wl(isl=6000, concurrency=32))
    assert long.tpot_ms > 1.3 * dis_long.tpot_ms


@pytest.mark.parametrize("c", [1, 16, 64])
def test_closed_loop_fixed_point_obeys_littles_law(c):
    e = _run(_agg(), _wl(concurrency=c))
    in_flight = e.request_rate_per_s / 1000 * (e.ttft_ms + 255 * e.tpot_ms)
    assert in_flight == pytest.approx(c, rel=0.03)


def test_clients_beyond_max_batch_wait_outside():
    capped = _run(_agg(max_batch=8), _wl(concurrency=64))
    free = _run(_agg(), _wl(concurrency=64))
    assert capped.decode_batch <= 8
    assert capped.ttft_ms > 5 * free.ttft_ms
    assert capped.tpot_ms < free.tpot_ms


def test_replicas_split_the_load():
    one = _run(_agg(1), _wl(concurrency=64))
    two = _run(_agg(2), _wl(concurrency=128))
    assert two.tpot_ms == pytest.approx(one.tpot_ms, rel=1e-6)
    assert two.tokens_per_s_per_gpu == pytest.approx(one.tokens_per_s_per_gpu, rel=1e-6)


def test_tail_percentiles_are_ordered():
    e = _run(_disagg(2, 1), _wl(concurrency=96))
    assert e.ttft_p50_ms <= e.ttft_p90_ms <= e.ttft_p99_ms
    assert e.tpot_p50_ms <= e.tpot_p90_ms <= e.tpot_p99_ms
    assert e.ttft_at(95) == pytest.approx((e.ttft_p90_ms + e.ttft_p99_ms * 5 / 9 - e.ttft_p90_ms * 5 / 9), rel=1e-6)


def test_model_that_does_not_fit_names_memory():
    tight = _profile(weights_gib=60.0, kv_tokens=1000)
    with pytest.raises(InsufficientMemory, match=r"needs \d+\.\d GiB per GPU .* GiB is usable"):
        est.estimate(_agg(), {"aggregated": tight}, ENGINE, _wl(concurrency=1))


def test_workload_without_load_is_rejected():
    with pytest.raises(InvalidInput, match="no load"):
        _run(_agg(), _wl())


def test_erlang_c_known_values():
    assert est.erlang_c(1, 0.5) == pytest.approx(0.5)
    assert est.erlang_c(2, 1.0) == pytest.approx(1 / 3)      # M/M/2 at rho 0.5
    assert est.erlang_c(4, 0.0) == 0.0


def test_roles_for_case_defaults_and_disagg():
    case = EstimateCase(model="m", gpu=GPU, isl=10, osl=10, concurrency=1, mode="disagg", tp=2,
                        prefill_workers=3, decode_tp=4, decode_batch=64)
    pre, dec = est.roles_for_case(case, ENGINE)
    assert (pre.role, pre.tp, pre.replicas) == ("prefill", 2, 3)
    assert (dec.role, dec.tp, dec.replicas, dec.max_batch) == ("decode", 4, 1, 64)
    assert dec.max_num_batched_tokens == ENGINE.default_max_num_batched_tokens


# ---- cited public figures --------------------------------------------------------------------------------------
# TensorRT-LLM "Performance Overview" (perf-overview.md, v1.0 docs, https://nvidia.github.io/TensorRT-LLM/
# performance/perf-overview.html), table "Llama 3.1 8B", column H100 TP1 (FP8): total output tokens/s with
# trtllm-bench at an unbounded request rate (every request queued at once), PyTorch backend, CUDA graphs padded up
# to batch 8192, max_batch_size 2048 / max_num_tokens 8192 defaults.
TRTLLM_LLAMA8B_FP8_H100 = {(128, 2048): 22_714, (1000, 1000): 15_220, (2048, 128): 3_450, (5000, 500): 3_459,
                           (500, 2000): 17_660}


@pytest.mark.parametrize("isl,osl", sorted(TRTLLM_LLAMA8B_FP8_H100))
def test_matches_published_trtllm_max_throughput(isl, osl):
    model, gpu = catalog.load_model("meta-llama/Llama-3.1-8B"), catalog.load_gpu(GPU)
    prof = profile_step.profile(model, gpu, Precision.parse("fp8"), tp=1)
    engine = catalog.load_engine("trtllm").model_copy(update={"cuda_graph_max_batch": 8192})
    roles = (RolePlan(role="aggregated", gpu=GPU, tp=1, replicas=1, gpus_per_replica=1, max_batch=2048,
                      max_num_batched_tokens=8192),)
    e = est.estimate(roles, {"aggregated": prof}, engine, _wl(isl=isl, osl=osl, concurrency=3000))
    published = TRTLLM_LLAMA8B_FP8_H100[(isl, osl)]
    assert e.tokens_per_s_per_gpu == pytest.approx(published, rel=0.15)
