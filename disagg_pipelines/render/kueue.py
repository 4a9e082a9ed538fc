"""Kueue layer: queue-name label, topology-aware scheduling annotations on leader and worker templates, and the
Topology, ResourceFlavor and LocalQueue objects that make them effective (the ClusterQueue belongs to the admin).

Follows Kueue v0.14+ (docs: Topology Aware Scheduling, LeaderWorkerSet integration; API kueue.x-k8s.io/v1beta2).
"""

from __future__ import annotations

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import topology
from disagg_pipelines.render._pod import Ctx, Obj, PodLayer, meta

# Label and TAS annotations: kubernetes-sigs/kueue apis/kueue/v1beta2 constants (PodSetGroupName =
# "kueue.x-k8s.io/podset-group-name": "a unit of flavor assignment and topology domain fitting"); for LWS the same
# required-topology and group-name annotations go on leaderTemplate and workerTemplate so one instance's leader and
# workers share a domain (kueue.sigs.k8s.io/docs/tasks/run/leaderworkerset, "Configure Topology Aware Scheduling").
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
ANN_REQUIRED = "kueue.x-k8s.io/podset-required-topology"
ANN_PREFERRED = "kueue.x-k8s.io/podset-preferred-topology"
ANN_GROUP = "kueue.x-k8s.io/podset-group-name"


def layer(ctx: Ctx, role: RolePlan) -> PodLayer:
    level = topology.required_level(ctx.levels, role, ctx.plan.gpu_for(role))
    ann = {ANN_REQUIRED: level.node_label}
    if role.nodes_per_replica > 1:
        ann[ANN_GROUP] = f"{role.role}-instance"      # leader and workers of one instance share the domain
    return PodLayer(None, {}, ann, {QUEUE_LABEL: ctx.target.queue}, {})


def objects(ctx: Ctx) -> list[Obj]:
    topo = topology.topology_name(ctx.levels)
    gpus = {ctx.plan.gpu_for(r).name: ctx.plan.gpu_for(r) for r in ctx.plan.roles}
    out: list[Obj] = [{"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Topology",
                       "metadata": meta(ctx, topo, "topology", namespaced=False),
                       "spec": {"levels": [{"nodeLabel": lv.node_label} for lv in ctx.levels]}}]
    for name, gpu in sorted(gpus.items()):
        out.append({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
                    "metadata": meta(ctx, f"{name}-{topo[-6:]}", "topology", namespaced=False),
                    "spec": {"nodeLabels": {gpu.product_label_key: gpu.product_labels[0]}, "topologyName": topo,
                             "tolerations": [{"key": gpu.resource_name, "operator": "Exists",
                                              "effect": "NoSchedule"}]}})
    out.append({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
                "metadata": meta(ctx, ctx.target.queue, "queue"),
                "spec": {"clusterQueue": ctx.target.queue, "stopPolicy": "None"}})
    return out
