"""render(plan, target) -> DeploymentBundle: dispatch to the layers, in order.

Layers: ``_pod`` base (names, labels, container, pod spec) -> scheduler (``kai`` / ``volcano`` / ``kueue``: labels,
annotations, PodGroups, queues, topology objects) -> topology (``topology``: the level each instance packs into)
-> workload (``lws`` / ``disaggregatedset`` / ``grove`` / ``deployment``) -> ``router`` and ``autoscale``.
``dynamo`` is its own path: one DynamoGraphDeployment whose operator builds the pods, router and Services.
Pure: no clock, no environment, no files; names derive from the plan hash.
"""

from __future__ import annotations

from disagg_pipelines import __version__
from disagg_pipelines.domain.bundle import DeploymentBundle, Target
from disagg_pipelines.domain.errors import UnsupportedTarget
from disagg_pipelines.domain.plan import Plan, RolePlan
from disagg_pipelines.render import (
    _pod,
    autoscale,
    deployment,
    disaggregatedset,
    dynamo,
    engines,
    grove,
    kai,
    kueue,
    lws,
    router,
    topology,
    volcano,
)

SCHEDULERS_BY_WORKLOAD = {
    "lws": ("default", "kai", "volcano", "kueue"),
    "disaggregatedset": ("default", "kai"),
    "grove": ("default", "kai"),
    "deployment": ("default", "kai", "volcano", "kueue"),
    "dynamo": ("default", "kai"),
}


def check_target(plan: Plan, target: Target) -> None:
    """Raise UnsupportedTarget for combinations that cannot express the plan."""
    allowed = SCHEDULERS_BY_WORKLOAD[target.workload]
    if target.scheduler not in allowed:
        alt = [w for w, s in SCHEDULERS_BY_WORKLOAD.items() if target.scheduler in s]
        raise UnsupportedTarget(f"--workload {target.workload} does not support --scheduler {target.scheduler}; "
                                f"use --scheduler {' or '.join(allowed)}, or --workload {' or '.join(alt)}")
    if target.workload == "disaggregatedset" and plan.mode != "disagg":
        raise UnsupportedTarget(f"--workload disaggregatedset needs a disaggregated plan, got mode={plan.mode!r}; "
                                f"use --workload lws, grove or deployment")
    if target.workload == "disaggregatedset" and target.autoscale:
        raise UnsupportedTarget("--autoscale with --workload disaggregatedset is not supported (its roles scale "
                                "through a DisaggregatedSetRoleScaler); use --workload lws or grove for per-role HPAs")
    if target.workload == "deployment":
        deployment.check(list(plan.roles))
    if target.workload == "dynamo" and target.autoscale:
        raise UnsupportedTarget("--autoscale with --workload dynamo is not supported (Dynamo scales through its "
                                "planner or a DynamoGraphDeploymentScalingAdapter); drop --autoscale, or use "
                                "--workload lws, grove or deployment for per-role HPAs")


def render(plan: Plan, target: Target) -> DeploymentBundle:
    check_target(plan, target)
    levels = topology.check(target.topology or topology.default_levels(plan.gpu))
    digest = _pod.plan_hash(plan)
    ctx = _pod.Ctx(plan, target, digest, _pod.base_name(plan, digest), levels)
    roles = _pod.role_order(plan)
    if target.scheduler == "default" and any(r.nodes_per_replica > 1 for r in roles):
        ctx.warnings.append("--scheduler default has no gang scheduling: pods of a multi-node instance may start "
                            "partially and hold GPUs; use --scheduler kai, volcano or kueue")
    if target.workload == "dynamo":
        return _render_dynamo(ctx, roles)
    if target.engine == "trtllm" and any(r.nodes_per_replica > 1 for r in roles):
        ctx.notes.append(f"TensorRT-LLM multi-node instances run mpirun over ssh: create Secret "
                         f"{engines.mpi_ssh_secret(ctx)!r} (authorized_keys, id_ed25519, config) first")

    def layer_for(role: RolePlan) -> _pod.PodLayer:
        layer = _scheduler_layer(ctx, role)
        if target.engine == "sglang" and role.role == "prefill":
            layer.pod_annotations[router.SGLANG_BOOTSTRAP_ANNOTATION] = str(engines.SGLANG_BOOTSTRAP_PORT)
        return layer

    scale = target.autoscale
    objects: list[_pod.Obj] = [_pod.service_account(ctx)]
    if plan.mode == "disagg":
        objects += router.service_account_objects(ctx)
    objects.append(_pod.plan_config_map(ctx))
    files = {**engines.config_files(ctx), **(router.config_files(ctx) if plan.mode == "disagg" else {})}
    if files:
        objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": _pod.meta(ctx, f"{ctx.name}-engine", "engine"), "data": files})
    objects += _scheduler_objects(ctx, roles)
    if target.workload == "lws":
        objects += lws.render(ctx, roles, layer_for)
    elif target.workload == "disaggregatedset":
        objects += disaggregatedset.render(ctx, roles, layer_for)
    elif target.workload == "grove":
        cfg = {r.role: autoscale.grove_config(ctx, r) for r in roles} if scale else None
        objects += grove.render(ctx, roles, layer_for, cfg)
    else:
        objects += deployment.render(ctx, roles, layer_for)
    objects += [_pod.role_service(ctx, r) for r in roles]
    if plan.mode == "disagg":
        if target.workload != "grove":
            objects.append(router.deployment(ctx))
        objects.append(router.service(ctx))
    objects += [_pod.pdb(ctx, r) for r in roles]
    if plan.mode == "disagg":
        objects.append(router.pdb(ctx))
    if scale and target.workload == "lws":
        objects += [autoscale.hpa(ctx, r, "leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet") for r in roles]
    elif scale and target.workload == "deployment":
        objects += [autoscale.hpa(ctx, r, "apps/v1", "Deployment") for r in roles]

    return _bundle(ctx, objects)


def _render_dynamo(ctx: _pod.Ctx, roles: list[RolePlan]) -> DeploymentBundle:
    """Plan ConfigMap, engine ConfigMap (TensorRT-LLM), the DynamoGraphDeployment, worker PDBs (the operator brings
    its own service accounts, Services and router)."""
    if ctx.target.engine == "trtllm" and any(r.nodes_per_replica > 1 for r in roles):
        ctx.notes.append("TensorRT-LLM multi-node components run mpirun over ssh with the Dynamo operator's MPI "
                         "secret: install the operator with its mpiRun secret configured")
    objects: list[_pod.Obj] = [_pod.plan_config_map(ctx)]
    files = engines.config_files(ctx)
    if files:
        objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": _pod.meta(ctx, f"{ctx.name}-engine", "engine"), "data": files})
    objects += dynamo.render(ctx, roles)
    objects += [_pod.pdb(ctx, r) for r in roles]
    return _bundle(ctx, objects)


def _bundle(ctx: _pod.Ctx, objects: list[_pod.Obj]) -> DeploymentBundle:
    plan = ctx.plan
    gpus = _pod.requested_gpus(objects, plan.gpu.resource_name)
    if gpus != plan.total_gpus:
        raise RuntimeError(f"rendered workloads request {gpus} GPUs, plan has {plan.total_gpus}: renderer bug")
    return DeploymentBundle(name=ctx.name, plan_hash=ctx.digest, tool_version=__version__, target=ctx.target,
                            objects=tuple(objects), total_gpus=gpus, warnings=tuple(ctx.warnings),
                            notes=tuple(ctx.notes))


def _scheduler_layer(ctx: _pod.Ctx, role: RolePlan) -> _pod.PodLayer:
    sched, workload = ctx.target.scheduler, ctx.target.workload
    if sched == "kai":
        layer = kai.layer(ctx, role, own_pod_group=workload == "disaggregatedset")
        if workload == "grove":                    # Grove passes its PodGang topology to KAI itself
            layer.owner_annotations = {}
        return layer
    if sched == "volcano":
        return volcano.layer(ctx, role, own_pod_group=workload == "deployment")
    if sched == "kueue":
        return kueue.layer(ctx, role)
    return _pod.PodLayer()


def _scheduler_objects(ctx: _pod.Ctx, roles: list[RolePlan]) -> list[_pod.Obj]:
    sched, workload = ctx.target.scheduler, ctx.target.workload
    if sched == "kai":
        out = [] if workload == "grove" else [kai.topology_object(ctx)]
        if workload == "disaggregatedset":
            out.append(kai.pod_group(ctx, roles))
        return out
    if sched == "volcano":
        return [volcano.pod_group(ctx, r) for r in roles] if workload == "deployment" else []
    if sched == "kueue":
        return kueue.objects(ctx)
    return []
