"""Grove workload: one PodCliqueSet; a clique per single-node role, a PodCliqueScalingGroup (leader + worker
cliques) per multi-node role, the router clique started after the engines, ``topologyConstraint.pack`` (never the
deprecated ``packDomain``) and the ClusterTopologyBinding it refers to.

Follows Grove v0.1.0-alpha.12 (grove.io/v1alpha1, schema snapshot in ../shared/schemas/crds/SOURCES.md;
docs/api-reference; docs/user-guide/environment-variables.md: GROVE_PCSG_NAME = <pcs>-<pcs-index>-<pcsg>,
GROVE_PCSG_INDEX, GROVE_PCLQ_POD_INDEX, GROVE_HEADLESS_SERVICE). ``startsAfter``, ``topologyConstraint.pack`` and
ClusterTopologyBinding field names are checked by schema validation against that snapshot.
"""

from __future__ import annotations

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import engines, lws, router, topology
from disagg_pipelines.render._pod import Ctx, Obj, labels, meta, role_template


def binding(ctx: Ctx) -> Obj:
    return {"apiVersion": "grove.io/v1alpha1", "kind": "ClusterTopologyBinding",
            "metadata": meta(ctx, topology.topology_name(ctx.levels), "topology", namespaced=False),
            "spec": {"levels": [{"domain": lv.name, "key": lv.node_label} for lv in ctx.levels]}}


def _dist(role: RolePlan, leader_clique: str, worker: bool) -> engines.Dist:
    # Sibling clique in the same PCSG replica: $GROVE_PCSG_NAME-$GROVE_PCSG_INDEX-<clique>; pod <clique>-<i> in the
    # headless service $GROVE_HEADLESS_SERVICE (ai-dynamo/grove docs/user-guide/environment-variables.md). Workers
    # take rank GROVE_PCLQ_POD_INDEX + 1 (pod index within the worker clique), as Dynamo's Grove deployer does.
    group = "$GROVE_PCSG_NAME-$GROVE_PCSG_INDEX"
    leader = f"{group}-{leader_clique}-0.$GROVE_HEADLESS_SERVICE"
    workers = tuple(f"{group}-{role.role}-worker-{i}.$GROVE_HEADLESS_SERVICE" for i in range(role.nodes_per_replica - 1))
    rank = "$((GROVE_PCLQ_POD_INDEX + 1))" if worker else "0"
    return engines.Dist(role.nodes_per_replica, leader, rank, workers)


def _clique(name: str, role_name: str, replicas: int, pod_spec: Obj, tpl_meta: Obj,
            starts_after: list[str] | None = None) -> Obj:
    spec: Obj = {"roleName": role_name, "replicas": replicas, "minAvailable": replicas if role_name != "router"
                 else 1, "podSpec": pod_spec}
    if starts_after:
        spec["startsAfter"] = starts_after
    return {"name": name, "labels": tpl_meta["labels"], "annotations": tpl_meta["annotations"], "spec": spec}


def render(ctx: Ctx, roles: list[RolePlan], layer_for: lws.LayerFn, autoscale: Obj | None = None) -> list[Obj]:
    """``autoscale`` maps role -> Grove scale config ({minReplicas, maxReplicas, metrics}) when --autoscale."""
    topo = topology.topology_name(ctx.levels)
    image = engines.image(ctx)
    cliques: list[Obj] = []
    groups: list[Obj] = []
    engine_cliques: list[str] = []
    pcs_labels: dict[str, str] = {}
    for role in roles:
        layer = layer_for(role)
        pcs_labels.update(layer.owner_labels)
        vols = lws.volumes(ctx, role)
        scale = (autoscale or {}).get(role.role)
        if role.nodes_per_replica == 1:
            tpl = role_template(ctx, role, engines.command(ctx, role, None, leader=True), image, layer, vols)
            clq = _clique(role.role, role.role, role.replicas, tpl["spec"], tpl["metadata"])
            clq["spec"]["minAvailable"] = 1           # single-node instances: each one is its own gang
            if scale:
                clq["spec"]["autoScalingConfig"] = scale
            cliques.append(clq)
            engine_cliques.append(role.role)
            continue
        leader_name, worker_name = f"{role.role}-leader", f"{role.role}-worker"
        lt = role_template(ctx, role, engines.command(ctx, role, _dist(role, leader_name, False), leader=True),
                           image, layer, vols)
        wt = role_template(ctx, role, engines.command(ctx, role, _dist(role, leader_name, True), leader=False),
                           image, layer, vols)
        cliques.append(_clique(leader_name, f"{role.role}-leader", 1, lt["spec"], lt["metadata"]))
        cliques.append(_clique(worker_name, f"{role.role}-worker", role.nodes_per_replica - 1, wt["spec"],
                               wt["metadata"]))
        level = topology.required_level(ctx.levels, role, ctx.plan.gpu_for(role))
        group: Obj = {"name": role.role, "cliqueNames": [leader_name, worker_name], "replicas": role.replicas,
                      "minAvailable": 1, "topologyConstraint": {"pack": {"required": level.name}}}
        if scale:
            group["scaleConfig"] = scale
        groups.append(group)
        engine_cliques += [leader_name, worker_name]
    if ctx.plan.mode == "disagg":
        rmeta = {"labels": {**labels(ctx, "router"), "disagg-pipelines.io/role": "router"},
                 "annotations": meta(ctx, "", "")["annotations"]}
        rspec = router.pod_spec(ctx)
        sched = layer_for(roles[0]).scheduler_name
        if sched:
            rspec["schedulerName"] = sched
        cliques.append(_clique("router", "router", router.REPLICAS, rspec, rmeta, starts_after=engine_cliques))
    template: Obj = {
        "cliqueStartupType": "CliqueStartupTypeExplicit",
        "headlessServiceConfig": {"publishNotReadyAddresses": True},
        "topologyConstraint": {"topologyName": topo, "pack": {"preferred": ctx.levels[0].name}},
        "cliques": cliques,
    }
    if groups:
        template["podCliqueScalingGroups"] = groups
    m = meta(ctx, ctx.name, "serving")
    m["labels"].update(pcs_labels)
    pcs = {"apiVersion": "grove.io/v1alpha1", "kind": "PodCliqueSet", "metadata": m,
           "spec": {"replicas": 1, "updateStrategy": {"type": "RollingRecreate"}, "template": template}}
    return [binding(ctx), pcs]
