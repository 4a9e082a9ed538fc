"""LeaderWorkerSet workload: one LWS per role; size = pods per instance, leader/worker templates, startup and
restart policies that treat an instance as one unit, exclusive placement when a topology level holds an instance.

Follows LWS v0.10 (leaderworkerset.x-k8s.io/v1; docs: lws.sigs.k8s.io/docs/concepts, exclusive placement).
"""

from __future__ import annotations

from collections.abc import Callable

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import engines, topology
from disagg_pipelines.render._pod import Ctx, Obj, PodLayer, meta, role_template

# 1:1 exclusive placement of a group per topology domain (lws.sigs.k8s.io/docs/reference/labels-annotations-and-
# environment-variables; kubernetes-sigs/lws pkg/webhooks/pod_webhook.go). LWS injects LWS_LEADER_ADDRESS,
# LWS_GROUP_SIZE and LWS_WORKER_INDEX into every pod (same reference page); subdomainPolicy Shared is the default.
ANN_EXCLUSIVE = "leaderworkerset.sigs.k8s.io/exclusive-topology"
LayerFn = Callable[[RolePlan], PodLayer]


def dist(ctx: Ctx, role: RolePlan) -> engines.Dist | None:
    """LWS injects LWS_LEADER_ADDRESS (<lws>-<group>.<lws>.<ns>) and LWS_WORKER_INDEX; worker i is <lws>-<group>-i."""
    if role.nodes_per_replica == 1:
        return None
    workers = tuple(f"$(echo $LWS_LEADER_ADDRESS | sed 's/^\\([^.]*\\)\\./\\1-{i}./')"
                    for i in range(1, role.nodes_per_replica))
    return engines.Dist(role.nodes_per_replica, "$LWS_LEADER_ADDRESS", "$LWS_WORKER_INDEX", workers)


def volumes(ctx: Ctx, role: RolePlan) -> list[Obj]:
    out: list[Obj] = []
    if ctx.target.engine == "trtllm":
        out.append({"name": "engine-config", "configMap": {"name": f"{ctx.name}-engine"}})
        if role.nodes_per_replica > 1:
            out.append({"name": "mpi-ssh", "secret": {"secretName": engines.mpi_ssh_secret(ctx), "defaultMode": 256}})
    return out


def lws_spec(ctx: Ctx, role: RolePlan, layer: PodLayer) -> Obj:
    d = dist(ctx, role)
    image = engines.image(ctx)
    vols = volumes(ctx, role)
    worker = role_template(ctx, role, engines.command(ctx, role, d, leader=d is None), image, layer, vols)
    tpl: Obj = {"size": role.nodes_per_replica, "restartPolicy": "RecreateGroupOnPodRestart"}
    if d is not None:
        tpl["leaderTemplate"] = role_template(ctx, role, engines.command(ctx, role, d, leader=True), image, layer,
                                              vols)
    tpl["workerTemplate"] = worker
    return {
        "replicas": role.replicas,
        "startupPolicy": "LeaderCreated",          # workers need the leader's address, not its readiness
        "rolloutStrategy": {"type": "RollingUpdate",
                            "rollingUpdateConfiguration": {"maxSurge": 0, "maxUnavailable": 1, "partition": 0}},
        "networkConfig": {"subdomainPolicy": "Shared"},
        "leaderWorkerTemplate": tpl,
    }


def exclusive_level(ctx: Ctx, role: RolePlan) -> str | None:
    """Node label to make exclusive per instance: a multi-node instance's domain, unless that is the default zone."""
    if role.nodes_per_replica == 1:
        return None
    level = topology.required_level(ctx.levels, role, ctx.plan.gpu_for(role))
    if not ctx.target.topology and level.node_label == topology.ZONE:
        return None
    return level.node_label


def render(ctx: Ctx, roles: list[RolePlan], layer_for: LayerFn) -> list[Obj]:
    out = []
    for role in roles:
        layer = layer_for(role)
        m = meta(ctx, ctx.role_name(role), role.role)
        layer.mark_owner(m)
        level = exclusive_level(ctx, role)
        if level:
            m["annotations"][ANN_EXCLUSIVE] = level
        out.append({"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "metadata": m,
                    "spec": lws_spec(ctx, role, layer)})
    return out
