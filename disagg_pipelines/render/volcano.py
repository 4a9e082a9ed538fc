"""Volcano layer: schedulerName, queue, and a PodGroup (minMember = gang size, networkTopology tier) per role for
workloads that Volcano does not group itself. LeaderWorkerSet groups get their PodGroups from LWS's Volcano
integration (LWS >= v0.7, controller config ``gangSchedulingManagement.schedulerProvider: volcano``).

Follows Volcano v1.16 (docs: network topology aware scheduling, PodGroup v1beta1).
"""

from __future__ import annotations

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import topology
from disagg_pipelines.render._pod import Ctx, Obj, PodLayer, meta

# Pods join a PodGroup by the `scheduling.k8s.io/group-name` annotation and a queue by
# `scheduling.volcano.sh/queue-name` (volcano-sh/volcano pkg/apis scheduling/v1beta1 labels.go, v1.16). For LWS,
# the controller creates one PodGroup per group when installed with
# `gangSchedulingManagement.schedulerProvider: volcano` (kubernetes-sigs/lws controller config, >= v0.7; its
# hack/e2e-test.sh writes that field); the pods then only need schedulerName: volcano.
SCHEDULER = "volcano"
ANN_GROUP = "scheduling.k8s.io/group-name"
ANN_QUEUE = "scheduling.volcano.sh/queue-name"


def layer(ctx: Ctx, role: RolePlan, own_pod_group: bool) -> PodLayer:
    queue = {ANN_QUEUE: ctx.target.queue}
    out = PodLayer(SCHEDULER, {}, dict(queue), {}, dict(queue))
    if own_pod_group:
        out.pod_annotations[ANN_GROUP] = ctx.role_name(role)
    return out


def pod_group(ctx: Ctx, role: RolePlan) -> Obj:
    """The role's gang: every pod of every instance (instances of one role start together)."""
    level = topology.required_level(ctx.levels, role, ctx.plan.gpu_for(role))
    tier = topology.volcano_tier(ctx.levels, level)
    mode = "hard" if role.nodes_per_replica > 1 else "soft"
    return {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
            "metadata": meta(ctx, ctx.role_name(role), role.role),
            "spec": {"minMember": gang_size(role), "queue": ctx.target.queue,
                     "networkTopology": {"mode": mode, "highestTierAllowed": tier}}}


def gang_size(role: RolePlan) -> int:
    return role.replicas * role.nodes_per_replica
