"""The simulator and the analytic estimate agree where both apply: pipeline parallelism and closed loops."""

from __future__ import annotations

import pytest

from disagg_pipelines import catalog, profile
from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.workload import LengthDist, Slo, Workload
from disagg_pipelines.plan import serving as estimate
from disagg_pipelines.plan import simulate

SLO = Slo(ttft_ms=1e5, itl_ms=1e4)


def _roles(mode: str, tp: int, pp: int, batch: int, tokens: int) -> tuple[RolePlan, ...]:
    def role(name: str) -> RolePlan:
        return RolePlan(role=name, gpu="h100-sxm", tp=tp, pp=pp, replicas=1, gpus_per_replica=tp * pp,
                        max_batch=batch, max_num_batched_tokens=tokens)
    return (role("aggregated"),) if mode == "agg" else (role("prefill"), role("decode"))


def _both(model: str, mode: str, tp: int, pp: int, concurrency: int, requests: int):
    eng = catalog.load_engine("vllm")
    prof = profile.profile(catalog.load_model(model), catalog.load_gpu("h100-sxm"), Precision(), tp=tp, pp=pp)
    roles = _roles(mode, tp, pp, eng.default_max_batch, eng.default_max_num_batched_tokens)
    profs = {r.role: prof for r in roles}
    wl = Workload(isl=LengthDist.fixed(2000), osl=LengthDist.fixed(256), concurrency=concurrency)
    return (estimate.estimate(roles, profs, eng, wl),
            simulate(roles, profs, eng, wl, SLO, requests=requests, seed=3), prof)


@pytest.mark.parametrize(("mode", "concurrency"), [("agg", 2), ("disagg", 4)])
def test_pipeline_parallel_instance_agrees_and_a_token_spans_all_stages(mode: str, concurrency: int) -> None:
    est, sim, prof = _both("meta-llama/Llama-3.1-70B", mode, 4, 2, concurrency, 200)
    assert sim.itl_ms.mean == pytest.approx(est.tpot_ms, rel=0.10)
    assert sim.ttft_ms.mean == pytest.approx(est.ttft_ms, rel=0.20)
    # a decode step of one micro-batch passes both stages: about twice the stage's own step
    stage = prof.decode_ms(concurrency, 2128)
    assert 1.8 * stage < sim.itl_ms.mean < 2.6 * stage


def test_pipeline_parallel_throughput_is_that_of_both_stages() -> None:
    """Twice the clients on pp=2 keep the ITL of pp=2 at half the clients' load per micro-batch (two in flight)."""
    _, one, _ = _both("meta-llama/Llama-3.1-70B", "disagg", 4, 2, 4, 200)
    _, two, _ = _both("meta-llama/Llama-3.1-70B", "disagg", 4, 2, 8, 200)
    assert two.tokens_per_s == pytest.approx(2 * one.tokens_per_s, rel=0.1)


@pytest.mark.parametrize("concurrency", [1, 8, 64])
def test_closed_loop_itl_agrees_for_agg_and_disagg(concurrency: int) -> None:
    for mode in ("agg", "disagg"):
        est, sim, _ = _both("meta-llama/Llama-3.1-8B", mode, 1, 1, concurrency, 20 * concurrency + 40)
        assert sim.itl_ms.mean == pytest.approx(est.tpot_ms, rel=0.10), mode


@pytest.mark.parametrize("mode", ["agg", "disagg"])
def test_closed_loop_ttft_agrees_at_one_client(mode: str) -> None:
    est, sim, _ = _both("meta-llama/Llama-3.1-8B", mode, 1, 1, 1, 40)
    assert sim.ttft_ms.mean == pytest.approx(est.ttft_ms, rel=0.20)
