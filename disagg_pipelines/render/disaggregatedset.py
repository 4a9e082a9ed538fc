"""DisaggregatedSet workload (LWS v0.10): one object with a role per plan role, each an LWS spec, and a placement
policy; KAI gets an explicit PodGroup with a subgroup per role (its pod grouper does not know this kind).
"""

from __future__ import annotations

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import lws
from disagg_pipelines.render._pod import Ctx, Obj, meta


def render(ctx: Ctx, roles: list[RolePlan], layer_for: lws.LayerFn) -> list[Obj]:
    m = meta(ctx, ctx.name, "serving")
    items = []
    for role in roles:
        layer = layer_for(role)
        layer.mark_owner(m)
        items.append({"name": role.role, "scaling": {"mode": "Static"}, "spec": lws.lws_spec(ctx, role, layer)})
    placement: Obj = {"type": "None"}
    if ctx.target.topology and len(ctx.levels) >= 2:
        placement = {"type": "ExclusiveSlice", "topology": ctx.levels[-2].node_label}
    return [{"apiVersion": "disaggregatedset.x-k8s.io/v1", "kind": "DisaggregatedSet", "metadata": m,
             "spec": {"slices": 1, "placementPolicy": placement, "roles": items}}]
