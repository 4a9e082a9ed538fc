"""Plain Deployments, one per role, for single-node instances (a multi-node instance needs LWS or Grove)."""

from __future__ import annotations

from disagg_pipelines.domain.errors import UnsupportedTarget
from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import engines, lws
from disagg_pipelines.render._pod import Ctx, Obj, meta, role_template, selector


def check(roles: list[RolePlan]) -> None:
    multi = [r for r in roles if r.nodes_per_replica > 1]
    if multi:
        r = multi[0]
        raise UnsupportedTarget(
            f"--workload deployment cannot run {r.role} instances of nodes_per_replica={r.nodes_per_replica} "
            f"(tp={r.tp} x pp={r.pp} = {r.gpus_per_replica} GPUs over {r.nodes_per_replica} nodes): a Deployment "
            f"has no leader/worker group; use --workload lws, disaggregatedset or grove")


def render(ctx: Ctx, roles: list[RolePlan], layer_for: lws.LayerFn) -> list[Obj]:
    check(roles)
    out = []
    for role in roles:
        layer = layer_for(role)
        m = meta(ctx, ctx.role_name(role), role.role)
        layer.mark_owner(m)
        tpl = role_template(ctx, role, engines.command(ctx, role, None, leader=True), engines.image(ctx), layer,
                            lws.volumes(ctx, role))
        tpl["metadata"]["labels"].update(layer.owner_labels)
        out.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m,
                    "spec": {"replicas": role.replicas, "selector": {"matchLabels": selector(ctx, role.role)},
                             "strategy": {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
                             "template": tpl}})
    return out
