"""KAI scheduler layer: schedulerName, queue label, topology annotations, a Topology object, and a PodGroup with
subgroups for workloads KAI's pod grouper does not group itself (DisaggregatedSet).

Follows KAI Scheduler v0.17 (docs/topology/README.md, docs/pod-grouper): the pod grouper builds one PodGroup per
LeaderWorkerSet group and per Grove PodGang; topology constraints are read from the top owner's annotations.
"""

from __future__ import annotations

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import topology
from disagg_pipelines.render._pod import Ctx, Obj, PodLayer, meta

# Sources (kai-scheduler/KAI-Scheduler, v0.17): schedulerName and queue label as in docs/quickstart (the older
# `runai/queue` label is the pre-v0.6 spelling); topology annotations on the top owner, read by the pod grouper
# (docs/topology/README.md, pkg/podgrouper/podgrouper/plugins/defaultgrouper/default_grouper.go); LeaderWorkerSet
# has its own grouper (pkg/podgrouper/podgrouper/plugins/leaderworkerset/lws_grouper.go); a hand-made PodGroup is
# joined by the `pod-group-name` annotation and leaf subgroups by the `kai.scheduler/subgroup-name` label
# (docs/developer/designs/subgroups, PodGroup scheduling.run.ai/v2alpha2).
SCHEDULER = "kai-scheduler"
QUEUE_LABEL = "kai.scheduler/queue"
ANN_TOPOLOGY = "kai.scheduler/topology"
ANN_REQUIRED = "kai.scheduler/topology-required-placement"
ANN_PREFERRED = "kai.scheduler/topology-preferred-placement"
ANN_POD_GROUP = "pod-group-name"
SUBGROUP_LABEL = "kai.scheduler/subgroup-name"


def layer(ctx: Ctx, role: RolePlan, own_pod_group: bool = False) -> PodLayer:
    queue = {QUEUE_LABEL: ctx.target.queue}
    level = topology.required_level(ctx.levels, role, ctx.plan.gpu_for(role))
    owner_ann = {ANN_TOPOLOGY: topology.topology_name(ctx.levels), ANN_REQUIRED: level.node_label}
    out = PodLayer(SCHEDULER, dict(queue), {}, dict(queue), owner_ann)
    if own_pod_group:
        out.pod_annotations[ANN_POD_GROUP] = pod_group_name(ctx)
        out.pod_labels[SUBGROUP_LABEL] = role.role
        out.owner_annotations = {}
    return out


def pod_group_name(ctx: Ctx) -> str:
    return f"{ctx.name}-gang"


def topology_object(ctx: Ctx) -> Obj:
    m = meta(ctx, topology.topology_name(ctx.levels), "topology", namespaced=False)
    return {"apiVersion": "kai.scheduler/v1alpha1", "kind": "Topology", "metadata": m,
            "spec": {"levels": [{"nodeLabel": lv.node_label} for lv in ctx.levels]}}


def pod_group(ctx: Ctx, roles: list[RolePlan]) -> Obj:
    """One gang for the whole deployment: a subgroup per role, each with every pod of the role as its minimum."""
    subgroups = []
    for r in roles:
        level = topology.required_level(ctx.levels, r, ctx.plan.gpu_for(r))
        subgroups.append({"name": r.role, "minMember": r.replicas * r.nodes_per_replica,
                          "topologyConstraint": {"topology": topology.topology_name(ctx.levels),
                                                 "requiredTopologyLevel": level.node_label}})
    return {"apiVersion": "scheduling.run.ai/v2alpha2", "kind": "PodGroup",
            "metadata": {**meta(ctx, pod_group_name(ctx), "gang"), "labels": {**meta(ctx, "", "gang")["labels"],
                                                                              QUEUE_LABEL: ctx.target.queue}},
            "spec": {"queue": ctx.target.queue, "minMember": sum(s["minMember"] for s in subgroups),
                     "subGroups": subgroups, "markUnschedulable": True,
                     "topologyConstraint": {"topology": topology.topology_name(ctx.levels)}}}
