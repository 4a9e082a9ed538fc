"""Independent scaling: one HorizontalPodAutoscaler per role on its scale subresource (LeaderWorkerSet or
Deployment), or Grove's own scale config (Grove creates the HPA for the PodClique / PodCliqueScalingGroup).

Targets come from the plan's per-replica load at its operating point: prefill scales on prompt tokens per second
per instance, decode (and aggregated) on running requests per instance. The metrics are per-pod custom metrics
served by a Prometheus adapter; the names below are the adapter rules to define (see examples/*/README.md).
Replicas range from half the plan (at least 1) to twice the plan plus what the plan's leftover GPUs can hold.
"""

from __future__ import annotations

import math

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render._pod import Ctx, Obj, meta

METRICS = {  # engine -> (prompt tokens/s per pod, running requests per pod), from each engine's /metrics
    "vllm": ("vllm_prompt_tokens_per_second", "vllm_num_requests_running"),       # vllm:prompt_tokens_total, vllm:num_requests_running
    "sglang": ("sglang_prompt_tokens_per_second", "sglang_num_running_reqs"),     # sglang:prompt_tokens_total, sglang:num_running_reqs
    "trtllm": ("trtllm_prompt_tokens_per_second", "trtllm_num_requests_running"),
}


def bounds(ctx: Ctx, role: RolePlan) -> tuple[int, int]:
    """Scale between half the planned replicas and, within a GPU budget, what the leftover GPUs add (else 2x)."""
    if ctx.plan.gpu_budget is not None:
        hi = role.replicas + ctx.plan.leftover_gpus // role.gpus_per_replica
    else:
        hi = 2 * role.replicas
    return max(1, math.ceil(role.replicas / 2)), hi


def target_per_replica(ctx: Ctx, role: RolePlan) -> tuple[str, float]:
    """(metric name, per-instance target) at the plan's operating load."""
    prompt_metric, running_metric = METRICS[ctx.target.engine]
    p = ctx.plan
    if role.role == "prefill":
        tokens = p.predicted.request_rate_per_s * p.workload.mean_isl_tokens * (1 - p.workload.prefix_cache_hit_rate)
        return prompt_metric, tokens / role.replicas
    running = min(p.predicted.concurrency / role.replicas, float(role.max_batch))
    return running_metric, running


def _quantity(x: float) -> str:
    milli = max(1, round(x * 1000))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def metrics(ctx: Ctx, role: RolePlan) -> list[Obj]:
    name, value = target_per_replica(ctx, role)
    return [{"type": "Pods", "pods": {"metric": {"name": name},
                                      "target": {"type": "AverageValue", "averageValue": _quantity(value)}}}]


def grove_config(ctx: Ctx, role: RolePlan) -> Obj:
    lo, hi = bounds(ctx, role)
    return {"minReplicas": lo, "maxReplicas": hi, "metrics": metrics(ctx, role)}


def hpa(ctx: Ctx, role: RolePlan, api_version: str, kind: str) -> Obj:
    lo, hi = bounds(ctx, role)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta(ctx, ctx.role_name(role), role.role),
            "spec": {"scaleTargetRef": {"apiVersion": api_version, "kind": kind, "name": ctx.role_name(role)},
                     "minReplicas": lo, "maxReplicas": hi, "metrics": metrics(ctx, role),
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600,
                                                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
                                  "scaleUp": {"stabilizationWindowSeconds": 60,
                                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]}}}}
