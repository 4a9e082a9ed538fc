"""Base layer of every rendered object: names, labels, the engine container and the pod spec of one role.

Scheduler layers (kai/volcano/kueue) and workload layers (lws/disaggregatedset/grove/deployment) decorate what is
built here; nothing in this module knows which workload API or scheduler is used.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from disagg_pipelines import __version__
from disagg_pipelines.domain.bundle import Target, TopologyLevel
from disagg_pipelines.domain.plan import Plan, RolePlan

Obj = dict[str, Any]

PART_OF = "disagg-pipelines"
LABEL_ROLE = "disagg-pipelines.io/role"
LABEL_ENTRY = "disagg-pipelines.io/entrypoint"       # "true" on the pod of an instance that serves HTTP
ANN_PLAN_HASH = "disagg-pipelines.io/plan-hash"
ANN_TOOL = "disagg-pipelines.io/tool-version"
# llm-d role label read by its P/D scheduler filters (roleLabel "llm-d.ai/role", values prefill | decode | both;
# llm-d/llm-d-inference-scheduler pkg/plugins/filter)
LLMD_ROLE = "llm-d.ai/role"
HTTP_PORT = 8000                                      # vLLM serve and trtllm-serve default; set explicitly for SGLang
SHM_GIB = 16                                          # /dev/shm for NCCL and engine IPC
CPU_PER_GPU = 8
MEMORY_GIB_PER_GPU = 96                               # host RAM per GPU: room to stage one weight shard per GPU


def plan_hash(plan: Plan) -> str:
    """First 10 hex digits of the SHA-256 of the plan's canonical JSON (stable across runs and machines)."""
    canonical = json.dumps(plan.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def base_name(plan: Plan, digest: str) -> str:
    """A DNS-1035 name from the model's short name and the plan hash, short enough for role and pod suffixes."""
    short = plan.model.name.rsplit("/", 1)[-1].lower()
    short = re.sub(r"[^a-z0-9]+", "-", short).strip("-")[:24].rstrip("-") or "model"
    if not short[0].isalpha():
        short = "m-" + short
    return f"{short}-{digest[:6]}"


@dataclass(frozen=True)
class Ctx:
    """Everything a layer needs: the plan, the target, the derived names and the topology in force."""

    plan: Plan
    target: Target
    digest: str
    name: str
    levels: tuple[TopologyLevel, ...]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return self.target.namespace

    def role_name(self, role: RolePlan | str) -> str:
        return f"{self.name}-{role if isinstance(role, str) else role.role}"

    @property
    def service_account(self) -> str:
        return self.name


def role_order(plan: Plan) -> list[RolePlan]:
    """Roles in a fixed order: prefill, decode, aggregated."""
    rank = {"prefill": 0, "decode": 1, "aggregated": 2}
    return sorted(plan.roles, key=lambda r: rank[r.role])


def labels(ctx: Ctx, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": ctx.name.rsplit("-", 1)[0],
        "app.kubernetes.io/instance": ctx.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": PART_OF,
    }


def selector(ctx: Ctx, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/instance": ctx.name, "app.kubernetes.io/component": component}


def annotations(ctx: Ctx) -> dict[str, str]:
    return {ANN_PLAN_HASH: ctx.digest, ANN_TOOL: __version__}


def meta(ctx: Ctx, name: str, component: str, namespaced: bool = True) -> Obj:
    m: Obj = {"name": name, "labels": labels(ctx, component), "annotations": annotations(ctx)}
    if namespaced:
        m["namespace"] = ctx.namespace
    return m


def pod_labels(ctx: Ctx, role: RolePlan, entrypoint: bool) -> dict[str, str]:
    out = labels(ctx, role.role)
    out[LABEL_ROLE] = role.role
    if entrypoint:
        out[LABEL_ENTRY] = "true"
        out[LLMD_ROLE] = "both" if role.role == "aggregated" else role.role
    return out


def gpus_per_pod(role: RolePlan) -> int:
    return role.gpus_per_node


def resources(ctx: Ctx, role: RolePlan) -> Obj:
    gpu = ctx.plan.gpu_for(role)
    n = gpus_per_pod(role)
    amounts = {"cpu": str(CPU_PER_GPU * n), "memory": f"{MEMORY_GIB_PER_GPU * n}Gi", gpu.resource_name: str(n)}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def hf_token_env(ctx: Ctx) -> list[Obj]:
    """HF_TOKEN from a Secret (never a literal value)."""
    if ctx.target.hf_token_secret is None:
        return []
    return [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": ctx.target.hf_token_secret, "key": "token"}}}]


def http_probes(path: str = "/health") -> Obj:
    # GET /health answers 200 once the engine serves: vLLM (vllm/entrypoints/openai/api_server.py), SGLang
    # (python/sglang/srt/entrypoints/http_server.py), trtllm-serve and its disaggregated server (tensorrt_llm/serve),
    # vllm-router and sglang-router
    """Startup allows 30 min for weight loading; readiness gates traffic; liveness restarts a hung engine."""
    get = {"path": path, "port": HTTP_PORT, "scheme": "HTTP"}
    return {
        "startupProbe": {"httpGet": dict(get), "periodSeconds": 10, "failureThreshold": 180, "timeoutSeconds": 5},
        "readinessProbe": {"httpGet": dict(get), "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 5},
        "livenessProbe": {"httpGet": dict(get), "periodSeconds": 30, "failureThreshold": 5, "timeoutSeconds": 10},
    }


def container(ctx: Ctx, role: RolePlan, image: str, command: list[str], env: list[Obj], entrypoint: bool,
              extra_mounts: list[Obj] = ()) -> Obj:
    c: Obj = {
        "name": "engine",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": hf_token_env(ctx) + env,
        "resources": resources(ctx, role),
        "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}, *extra_mounts],
    }
    if entrypoint:
        c["ports"] = [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}]
        c.update(http_probes())
    return c


def pod_spec(ctx: Ctx, role: RolePlan, containers: list[Obj], extra_volumes: list[Obj] = ()) -> Obj:
    gpu = ctx.plan.gpu_for(role)
    return {
        "serviceAccountName": ctx.service_account,
        "terminationGracePeriodSeconds": 60,
        "containers": containers,
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{SHM_GIB}Gi"}}, *extra_volumes],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": gpu.product_label_key, "operator": "In",
                                   "values": list(gpu.product_labels)}]}]}}},
        "tolerations": [{"key": gpu.resource_name, "operator": "Exists", "effect": "NoSchedule"}],
    }


def template(pod_meta_labels: dict[str, str], pod_meta_annotations: dict[str, str], spec: Obj) -> Obj:
    return {"metadata": {"labels": pod_meta_labels, "annotations": pod_meta_annotations}, "spec": spec}


# ---- shared objects -------------------------------------------------------------------------------------------
def service_account(ctx: Ctx) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ctx, ctx.service_account, "serving"),
            "automountServiceAccountToken": False}


def plan_config_map(ctx: Ctx) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(ctx, f"{ctx.name}-plan", "plan"),
            "data": {"plan.json": ctx.plan.model_dump_json(indent=2)}}


def role_service(ctx: Ctx, role: RolePlan) -> Obj:
    """ClusterIP Service in front of the entrypoint pods of one role."""
    sel = {**selector(ctx, role.role), LABEL_ENTRY: "true"}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(ctx, ctx.role_name(role), role.role),
            "spec": {"type": "ClusterIP", "selector": sel,
                     "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}]}}


def pdb(ctx: Ctx, role: RolePlan) -> Obj:
    """At most one pod of a role down at a time from voluntary disruptions (a drain takes out one instance)."""
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(ctx, ctx.role_name(role),
                                                                                       role.role),
            "spec": {"maxUnavailable": role.nodes_per_replica, "selector": {"matchLabels": selector(ctx, role.role)}}}


def requested_gpus(objects: list[Obj] | tuple[Obj, ...], resource: str = "nvidia.com/gpu") -> int:
    """GPUs the workloads request at their rendered replica counts (the same walk the tests do independently)."""
    total = 0
    for obj in objects:
        kind = obj.get("kind")
        if kind == "LeaderWorkerSet":
            total += _lws_gpus(obj["spec"], resource)
        elif kind == "DisaggregatedSet":
            slices = obj["spec"].get("slices", 1)
            total += slices * sum(_lws_gpus(r["spec"], resource) for r in obj["spec"]["roles"])
        elif kind == "Deployment":
            total += obj["spec"]["replicas"] * _pod_gpus(obj["spec"]["template"]["spec"], resource)
        elif kind == "PodCliqueSet":
            tpl = obj["spec"]["template"]
            groups = {g["name"]: g for g in tpl.get("podCliqueScalingGroups", [])}
            in_group = {c: g for g in groups.values() for c in g["cliqueNames"]}
            per_set = 0
            for clq in tpl["cliques"]:
                mult = in_group[clq["name"]]["replicas"] if clq["name"] in in_group else 1
                per_set += mult * clq["spec"]["replicas"] * _pod_gpus(clq["spec"]["podSpec"], resource)
            total += obj["spec"]["replicas"] * per_set
        elif kind == "DynamoGraphDeployment":           # replicas x multinode.nodeCount x GPUs of the main pod
            for comp in obj["spec"]["components"]:
                nodes = comp.get("multinode", {}).get("nodeCount", 1)
                total += comp.get("replicas", 1) * nodes * _pod_gpus(comp["podTemplate"]["spec"], resource)
    return total


def _lws_gpus(spec: Obj, resource: str) -> int:
    t = spec["leaderWorkerTemplate"]
    size = t["size"]
    leader = _pod_gpus((t.get("leaderTemplate") or t["workerTemplate"])["spec"], resource)
    worker = _pod_gpus(t["workerTemplate"]["spec"], resource)
    return spec["replicas"] * (leader + (size - 1) * worker)


def _pod_gpus(spec: Obj, resource: str) -> int:
    return sum(int(c.get("resources", {}).get("limits", {}).get(resource, 0)) for c in spec["containers"])


@dataclass
class PodLayer:
    """What a scheduler layer adds to pod templates and to the workload object that owns them."""

    scheduler_name: str | None = None
    pod_labels: dict[str, str] = field(default_factory=dict)
    pod_annotations: dict[str, str] = field(default_factory=dict)
    owner_labels: dict[str, str] = field(default_factory=dict)
    owner_annotations: dict[str, str] = field(default_factory=dict)

    def mark_owner(self, metadata: Obj) -> Obj:
        """Add this layer's owner labels and annotations to a workload object's ``metadata`` (in place)."""
        metadata["labels"].update(self.owner_labels)
        metadata["annotations"].update(self.owner_annotations)
        return metadata


def role_template(ctx: Ctx, role: RolePlan, cmd: Any, image: str, layer: PodLayer,
                  extra_volumes: list[Obj] = ()) -> Obj:
    """Pod template of one pod of ``role``: the engine container from ``cmd`` plus the scheduler layer."""
    c = container(ctx, role, image, cmd.command, cmd.env, cmd.entrypoint, cmd.mounts)
    spec = pod_spec(ctx, role, [c], extra_volumes)
    if layer.scheduler_name:
        spec["schedulerName"] = layer.scheduler_name
    return template({**pod_labels(ctx, role, cmd.entrypoint), **layer.pod_labels},
                    {**annotations(ctx), **layer.pod_annotations}, spec)
