"""Front door: a router that sends each request to a prefill worker, then to a decode worker, behind a Service.

One working choice per engine:
- vLLM: vllm-router (github.com/vllm-project/router) in ``--vllm-pd-disaggregation`` mode; NixlConnector passes
  the prefill instance's address in ``kv_transfer_params``, so the role Services may balance across instances.
- SGLang: sglang-router (``python3 -m sglang_router.launch_router --pd-disaggregation``, shipped in the SGLang
  image) with Kubernetes service discovery by pod labels, since decode must reach the chosen prefill pod's
  bootstrap port directly (needs list/watch on pods).
- TensorRT-LLM: ``trtllm-serve disaggregated -c`` (the disaggregated server of TensorRT-LLM 1.0) over the role
  Services; the context response carries the KV handle to the generation server.
"""

from __future__ import annotations

import json

from disagg_pipelines.render import engines
from disagg_pipelines.render._pod import (
    HTTP_PORT,
    LABEL_ENTRY,
    LABEL_ROLE,
    Ctx,
    Obj,
    http_probes,
    labels,
    meta,
    selector,
)

# vllm-router images are published to Docker Hub as vllm/vllm-router (`nightly`, `nightly-<date>-<sha>`); no versioned
# image tag could be found, and the ghcr.io path used before does not appear anywhere upstream. The router is also
# on PyPI as `vllm-router`. Flags --vllm-pd-disaggregation --prefill URL --decode URL: github.com/vllm-project/router
# README.md ("Prefill-Decode Disaggregation", NIXL connector). Pin by digest in production.
VLLM_ROUTER_IMAGE = "vllm/vllm-router:nightly"
# sglang_router.launch_router --service-discovery / --prefill-selector / --decode-selector /
# --service-discovery-port / --service-discovery-namespace / --bootstrap-port-annotation, default annotation key
# `sglang.ai/bootstrap-port` (sgl-project/sglang sgl-router/py_src/sglang_router/router_args.py, v0.5.3)
SGLANG_BOOTSTRAP_ANNOTATION = "sglang.ai/bootstrap-port"
REPLICAS = 2


def name(ctx: Ctx) -> str:
    return f"{ctx.name}-router"


def _svc(ctx: Ctx, role: str) -> str:
    return f"http://{ctx.role_name(role)}.{ctx.namespace}.svc:{HTTP_PORT}"


def container(ctx: Ctx) -> Obj:
    engine = ctx.target.engine
    mounts: list[Obj] = []
    if engine == "vllm":
        image = VLLM_ROUTER_IMAGE
        cmd = ["vllm-router", "--host", "0.0.0.0", "--port", str(HTTP_PORT), "--vllm-pd-disaggregation",
               "--prefill", _svc(ctx, "prefill"), "--decode", _svc(ctx, "decode")]
    elif engine == "sglang":
        image = engines.image(ctx)

        def sel(role: str) -> list[str]:
            return [f"app.kubernetes.io/instance={ctx.name}", f"{LABEL_ROLE}={role}", f"{LABEL_ENTRY}=true"]

        cmd = ["python3", "-m", "sglang_router.launch_router", "--host", "0.0.0.0", "--port", str(HTTP_PORT),
               "--pd-disaggregation", "--service-discovery", "--service-discovery-namespace", ctx.namespace,
               "--service-discovery-port", str(HTTP_PORT), "--bootstrap-port-annotation",
               SGLANG_BOOTSTRAP_ANNOTATION, "--prefill-selector", *sel("prefill"), "--decode-selector", *sel("decode")]
    else:
        image = engines.image(ctx)
        cmd = ["trtllm-serve", "disaggregated", "-c", f"{engines.CONFIG_DIR}/router.yaml"]
        mounts = [{"name": "engine-config", "mountPath": engines.CONFIG_DIR, "readOnly": True}]
    c: Obj = {"name": "router", "image": image, "imagePullPolicy": "IfNotPresent", "command": cmd,
              "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
              "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}},
              "volumeMounts": mounts}
    c.update(http_probes())
    c["startupProbe"]["failureThreshold"] = 30
    return c


def pod_spec(ctx: Ctx) -> Obj:
    spec: Obj = {"serviceAccountName": name(ctx), "containers": [container(ctx)],
                 "terminationGracePeriodSeconds": 30}
    if ctx.target.engine == "trtllm":
        spec["volumes"] = [{"name": "engine-config", "configMap": {"name": f"{ctx.name}-engine"}}]
    return spec


def config_files(ctx: Ctx) -> dict[str, str]:
    if ctx.target.engine != "trtllm":
        return {}
    host = lambda role: f"{ctx.role_name(role)}.{ctx.namespace}.svc:{HTTP_PORT}"  # noqa: E731
    # disagg_config.yaml keys hostname/port/backend/context_servers/generation_servers{num_instances,urls}
    # (NVIDIA/TensorRT-LLM examples/disaggregated/README.md, 1.0)
    cfg = {"hostname": "0.0.0.0", "port": HTTP_PORT, "backend": "pytorch",
           "context_servers": {"num_instances": 1, "urls": [host("prefill")]},
           "generation_servers": {"num_instances": 1, "urls": [host("decode")]}}
    return {"router.yaml": json.dumps(cfg, indent=2, sort_keys=True)}


def service_account_objects(ctx: Ctx) -> list[Obj]:
    """The router's ServiceAccount; for SGLang also a Role to list/watch pods (service discovery)."""
    discovery = ctx.target.engine == "sglang"
    out: list[Obj] = [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ctx, name(ctx), "router"),
                       "automountServiceAccountToken": discovery}]
    if discovery:
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": meta(ctx, name(ctx), "router"),
                    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": meta(ctx, name(ctx), "router"),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name(ctx)},
                    "subjects": [{"kind": "ServiceAccount", "name": name(ctx), "namespace": ctx.namespace}]})
    return out


def deployment(ctx: Ctx) -> Obj:
    pod_labels = {**labels(ctx, "router"), LABEL_ROLE: "router"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(ctx, name(ctx), "router"),
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": selector(ctx, "router")},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     "template": {"metadata": {"labels": pod_labels, "annotations": meta(ctx, "", "")["annotations"]},
                                  "spec": pod_spec(ctx)}}}


def service(ctx: Ctx) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(ctx, name(ctx), "router"),
            "spec": {"type": "ClusterIP", "selector": selector(ctx, "router"),
                     "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}]}}


def pdb(ctx: Ctx) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(ctx, name(ctx), "router"),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector(ctx, "router")}}}
