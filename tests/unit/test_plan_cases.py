"""The issue's four planning cases produce plans that meet their SLO within their GPU budget (speed: benchmarks/)."""

from __future__ import annotations

import pytest

from disagg_pipelines import catalog
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.workload import LengthDist, Slo, Workload
from disagg_pipelines.plan import plan, simulate

CASES = (  # model, gpu, budget, isl, osl, ttft_ms, itl_ms, engine
    ("Qwen/Qwen3-32B", "h200-sxm", 32, 4000, 500, 300, 10, "trtllm"),
    ("meta-llama/Llama-3.1-70B", "h100-sxm", 16, 4000, 500, 1000, 30, "vllm"),
    ("meta-llama/Llama-3.1-8B", "h100-sxm", 8, 2000, 256, 500, 20, "trtllm"),
    ("deepseek-ai/DeepSeek-V3", "h200-sxm", 64, 4000, 1000, 2000, 50, "trtllm"),
)


@pytest.mark.parametrize("precision", ["fp8", "bf16"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0].split("/")[1])
def test_case_plans_within_budget_and_slo(case, precision) -> None:
    model, gpu, budget, isl, osl, ttft, itl, engine = case
    p = plan(catalog.load_model(model), catalog.load_gpu(gpu), Precision.parse(precision), catalog.load_engine(engine),
             Workload(isl=LengthDist.fixed(isl), osl=LengthDist.fixed(osl)), Slo(ttft_ms=ttft, itl_ms=itl),
             gpus=budget, simulator=simulate)
    assert p.total_gpus + p.leftover_gpus == budget
    assert p.total_gpus <= budget
    if p.predicted.source == "simulation":          # accepted by the simulator within its sampling slack (3 points)
        assert p.predicted.slo_attainment >= 0.87
    else:
        assert p.predicted.ttft_ms <= ttft and p.predicted.itl_ms <= itl
    assert p.explanation and any(line.startswith("mode ") for line in p.explanation)
    for role in p.roles:
        gpu_spec = catalog.load_gpu(role.gpu)
        assert role.tp <= gpu_spec.nvlink_domain_gpus                       # TP stays on the scale-up fabric
        assert role.gpus_per_replica <= gpu_spec.gpus_per_node or role.gpus_per_node == gpu_spec.gpus_per_node
