"""The main job as one pure step: RunRequest (+ loaded specs) -> Plan -> DeploymentBundle -> RunRecord."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from disagg_pipelines import plan as plan_step
from disagg_pipelines import render
from disagg_pipelines.domain.bundle import DeploymentBundle
from disagg_pipelines.domain.engine import EngineSpec
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.plan import Plan
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.request import RunRequest
from disagg_pipelines.domain.run import RunRecord
from disagg_pipelines.domain.strict import Strict


class RunResult(Strict):
    """The plan, the rendered bundle and the record to track."""

    plan: Plan
    bundle: DeploymentBundle
    record: RunRecord


def run(request: RunRequest, model: ModelSpec, gpu: GpuSpec, engine: EngineSpec, *,
        simulator: Callable[..., Any] | None = None) -> RunResult:
    """Plan ``request`` and render the plan for ``request.target``."""
    chosen = plan_step.plan(model, gpu, Precision.parse(request.precision), engine, request.workload, request.slo,
                            gpus=request.gpus, rate_per_s=request.request_rate_per_s, mode=request.mode,
                            simulator=simulator)
    bundle = render.render(chosen, request.target)
    return RunResult(plan=chosen, bundle=bundle, record=record_for(request, chosen, bundle))


def record_for(request: RunRequest, chosen: Plan, bundle: DeploymentBundle) -> RunRecord:
    """Flat parameters and metrics of a run, named as they appear in MLflow."""
    params = {
        "model": chosen.model.name, "gpu": chosen.gpu.name, "engine": chosen.engine,
        "precision": chosen.precision.label, "mode": chosen.mode, "requested_mode": request.mode,
        "isl_tokens": str(request.workload.isl.mean_tokens), "osl_tokens": str(request.workload.osl.mean_tokens),
        "ttft_ms_target": f"{request.slo.ttft_ms:g}", "itl_ms_target": f"{request.slo.itl_ms:g}",
        "slo_percentile": f"{request.slo.percentile:g}",
        "gpu_budget": str(request.gpus) if request.gpus else "",
        "request_rate_per_s_target": f"{request.request_rate_per_s:g}" if request.request_rate_per_s else "",
        "workload_api": request.target.workload, "scheduler": request.target.scheduler,
        "plan_hash": bundle.plan_hash,
    }
    for role in chosen.roles:
        params[f"{role.role}.tp"] = str(role.tp)
        params[f"{role.role}.pp"] = str(role.pp)
        params[f"{role.role}.ep"] = str(role.ep)
        params[f"{role.role}.replicas"] = str(role.replicas)
        params[f"{role.role}.max_batch"] = str(role.max_batch)
    p = chosen.predicted
    metrics = {
        "predicted_ttft_ms": p.ttft_ms, "predicted_itl_ms": p.itl_ms, "predicted_ttft_mean_ms": p.ttft_mean_ms,
        "predicted_itl_mean_ms": p.itl_mean_ms, "predicted_tokens_per_s_per_gpu": p.tokens_per_s_per_gpu,
        "predicted_tokens_per_s_per_user": p.tokens_per_s_per_user,
        "predicted_request_rate_per_s": p.request_rate_per_s, "predicted_slo_attainment": p.slo_attainment,
        "total_gpus": float(chosen.total_gpus), "leftover_gpus": float(chosen.leftover_gpus),
        "rendered_objects": float(len(bundle.objects)),
    }
    tags = {"disagg.tool_version": bundle.tool_version, "disagg.plan_hash": bundle.plan_hash,
            "disagg.prediction_source": p.source}
    return RunRecord(name=bundle.name, params=params, metrics=metrics, tags=tags)
