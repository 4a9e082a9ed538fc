"""The planner: budget use, rate sizing, mode choice and explanation, simulator check, infeasible and bad input."""

from __future__ import annotations

import pytest

from disagg_pipelines import catalog
from disagg_pipelines.domain import LengthDist, Precision, Slo, Workload
from disagg_pipelines.domain.errors import (
    InsufficientMemory,
    InvalidInput,
    NoFeasiblePlan,
)
from disagg_pipelines.plan import plan, simulate

L8 = catalog.load_model("meta-llama/Llama-3.1-8B")
L70 = catalog.load_model("meta-llama/Llama-3.1-70B")
H100 = catalog.load_gpu("h100-sxm")
FP8 = Precision.parse("fp8")
TRT = catalog.load_engine("trtllm")
VLLM = catalog.load_engine("vllm")


def _wl(isl: int = 2000, osl: int = 256) -> Workload:
    return Workload(isl=LengthDist.fixed(isl), osl=LengthDist.fixed(osl))


@pytest.fixture(scope="module")
def plan_8b():
    return plan(L8, H100, FP8, TRT, _wl(), Slo(ttft_ms=500, itl_ms=20), gpus=8)


def test_budget_plan_meets_slo_within_budget(plan_8b):
    p = plan_8b
    assert p.total_gpus <= 8 and p.leftover_gpus == 8 - p.total_gpus
    assert p.predicted.ttft_ms <= 500 and p.predicted.itl_ms <= 20
    assert p.predicted.tokens_per_s_per_gpu > 1000
    for r in p.roles:
        assert r.max_batch >= 1 and r.max_num_batched_tokens == TRT.default_max_num_batched_tokens
        assert r.tp * r.pp == r.gpus_per_replica
    # the chosen layout is at least as good as every SLO-meeting alternative on served load
    for c in p.alternatives:
        if c.meets_slo:
            assert c.predicted.request_rate_per_s <= p.predicted.request_rate_per_s * 1.01


def test_plan_explains_mode_ratio_and_parallelism(plan_8b):
    text = "\n".join(plan_8b.explanation)
    assert f"mode {plan_8b.mode}" in text
    assert "parallelism" in text
    assert ("ratio" in text) if plan_8b.mode == "disagg" else ("aggregated instances" in text)
    assert plan_8b.assumptions["sizing"] == "maximise goodput within 8 GPUs"


def test_pareto_frontier_is_not_dominated(plan_8b):
    pts = plan_8b.pareto
    assert len(pts) >= 3
    for a in pts:
        assert not any(b.tokens_per_s_per_gpu > a.tokens_per_s_per_gpu and
                       b.tokens_per_s_per_user > a.tokens_per_s_per_user for b in pts)


def test_rate_sizing_uses_fewest_gpus_and_grows_with_rate():
    slo = Slo(ttft_ms=1000, itl_ms=30)
    small = plan(L70, H100, FP8, VLLM, _wl(4000, 500), slo, rate_per_s=2)
    big = plan(L70, H100, FP8, VLLM, _wl(4000, 500), slo, rate_per_s=20)
    assert small.total_gpus < big.total_gpus
    assert big.predicted.request_rate_per_s == pytest.approx(20, rel=0.02)
    assert big.predicted.ttft_ms <= 1000 and big.predicted.itl_ms <= 30
    assert all(c.total_gpus >= big.total_gpus for c in big.alternatives if c.meets_slo)


def test_forced_modes():
    slo = Slo(ttft_ms=500, itl_ms=20)
    agg = plan(L8, H100, FP8, TRT, _wl(), slo, gpus=8, mode="agg")
    dis = plan(L8, H100, FP8, TRT, _wl(), slo, gpus=8, mode="disagg")
    assert agg.mode == "agg" and [r.role for r in agg.roles] == ["aggregated"]
    assert dis.mode == "disagg" and sorted(r.role for r in dis.roles) == ["decode", "prefill"]


def test_tight_itl_prefers_disaggregation():
    # prefill chunks in aggregated steps push ITL above a tight target at any useful load; decode-only pools do not
    p = plan(L8, H100, FP8, TRT, _wl(8000, 256), Slo(ttft_ms=2000, itl_ms=8), gpus=16)
    assert p.mode == "disagg"


def test_short_prompts_stay_aggregated():
    # prefill is a small share of the work: splitting GPUs into pools and moving KV does not pay
    p = plan(L8, H100, FP8, VLLM, _wl(200, 1000), Slo(ttft_ms=500, itl_ms=30), gpus=8)
    assert p.mode == "agg"
    assert any("mode agg" in line for line in p.explanation)


def _rejecting(first_n: int, calls: list):
    """The real simulator, with the SLO attainment of its first ``first_n`` results forced down to 20 %."""
    def sim(roles, profiles, engine, workload, slo, *, requests, seed):
        res = simulate(roles, profiles, engine, workload, slo, requests=requests, seed=seed)
        calls.append(workload.request_rate_per_s)
        return res.model_copy(update={"slo_attainment": 0.2}) if len(calls) <= first_n else res
    return sim


def test_simulator_check_rejects_and_falls_back():
    calls = []
    p = plan(L8, H100, FP8, TRT, _wl(), Slo(ttft_ms=500, itl_ms=20), gpus=8, simulator=_rejecting(1, calls),
             sim_requests=50)
    assert len(calls) == 2
    text = "\n".join(p.explanation)
    assert "-> rejected" in text and "-> accepted" in text
    assert p.predicted.source == "simulation"
    assert p.predicted.slo_attainment >= 0.87
    assert p.assumptions["simulator_check"] == "done"


def test_no_candidate_passing_backs_off_the_load():
    calls = []
    p = plan(L8, H100, FP8, TRT, _wl(), Slo(ttft_ms=500, itl_ms=20), gpus=8, simulator=_rejecting(3, calls),
             sim_requests=50)
    assert len(calls) == 4                          # three candidates rejected, then the best at 85 % load
    assert "at 85% of the analytic load" in "\n".join(p.explanation)
    assert p.predicted.source == "simulation"
    analytic = plan(L8, H100, FP8, TRT, _wl(), Slo(ttft_ms=500, itl_ms=20), gpus=8, simulator=None)
    assert p.roles == analytic.roles
    assert p.predicted.request_rate_per_s == pytest.approx(0.85 * analytic.predicted.request_rate_per_s, rel=1e-6)


def test_impossible_slo_names_best_numbers():
    with pytest.raises(NoFeasiblePlan, match=r"best p90 TTFT [\d,]+ ms with tp\d+ \(target 5 ms\).*relax --ttft-ms"):
        plan(L70, H100, FP8, VLLM, _wl(4000, 500), Slo(ttft_ms=5, itl_ms=30), gpus=16)


def test_small_budget_says_how_many_gpus_are_needed():
    with pytest.raises(NoFeasiblePlan, match=r"raise --gpus above 2 \(the smallest layout that meets the SLO needs \d+"):
        plan(L70, H100, FP8, VLLM, _wl(4000, 500), Slo(ttft_ms=200, itl_ms=15), gpus=2)


def test_model_that_fits_no_instance():
    l405 = catalog.load_model("meta-llama/Llama-3.1-405B")
    with pytest.raises(InsufficientMemory, match=r"fits no instance within the budget of 4 GPUs: weights alone need \d+ GiB"):
        plan(l405, H100, Precision(), VLLM, _wl(), Slo(ttft_ms=2000, itl_ms=50), gpus=4)


def test_budget_xor_rate():
    with pytest.raises(InvalidInput, match="exactly one of gpus"):
        plan(L8, H100, FP8, TRT, _wl(), Slo(ttft_ms=500, itl_ms=20), gpus=8, rate_per_s=3)
    with pytest.raises(InvalidInput, match="exactly one of gpus"):
        plan(L8, H100, FP8, TRT, _wl(), Slo(ttft_ms=500, itl_ms=20))
