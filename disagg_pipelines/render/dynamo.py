"""NVIDIA Dynamo workload: one DynamoGraphDeployment (nvidia.com/v1beta1) with a Frontend component (Dynamo's
OpenAI-compatible HTTP frontend and router) and the worker components (prefill + decode, or one aggregated worker).

Follows the Dynamo snapshot named in ../shared/schemas/crds/SOURCES.md (ai-dynamo/dynamo 2a6da14c, 2026-08-21):
- ``spec.components[]`` with ``name``, ``type`` (frontend | worker | prefill | decode), ``replicas``,
  ``multinode.nodeCount`` (GPUs of one instance = nodeCount x the main container's GPU request),
  ``sharedMemorySize``, and a ``podTemplate`` that must hold a container named ``main``; ``spec.env`` is prepended
  to every component's environment (field docs in the v1beta1 CRD schema).
- Launch modules ``python3 -m dynamo.frontend --http-port``, ``dynamo.vllm``, ``dynamo.sglang``, ``dynamo.trtllm``
  and the role flag ``--disaggregation-mode prefill|decode`` for all three backends (examples/backends/*/deploy/
  disagg.yaml and disagg-multinode.yaml; vLLM's old ``--is-prefill-worker`` is marked DEPRECATED in
  components/src/dynamo/vllm/backend_args.py). dynamo.trtllm flags ``--model``, ``--served-model-name``,
  ``--tensor-parallel-size``, ``--pipeline-parallel-size``, ``--expert-parallel-size``, ``--max-batch-size``,
  ``--max-num-tokens``, ``--free-gpu-memory-fraction``, ``--extra-engine-args``, ``--disaggregation-mode``
  (components/src/dynamo/trtllm/backend_args.py). dynamo.vllm and dynamo.sglang take the engines' own arguments.
- Multi-node instances: the operator rewrites leader/worker commands itself (vLLM: mp or Ray flags, SGLang:
  ``--dist-init-addr/--nnodes/--node-rank``, TensorRT-LLM: mpirun over ssh with the operator's MPI secret;
  deploy/operator/internal/dynamo/backend_{vllm,sglang,trtllm}.go), so workers carry the single-node command.
- KAI: the DGD annotation ``nvidia.com/kai-scheduler-queue`` makes the operator set ``schedulerName: kai-scheduler``
  and the ``kai.scheduler/queue`` label on the Grove cliques it generates (deploy/operator/internal/consts).
"""

from __future__ import annotations

import json

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render import engines, router
from disagg_pipelines.render._pod import (
    HTTP_PORT,
    LABEL_ROLE,
    SHM_GIB,
    Ctx,
    Obj,
    annotations,
    hf_token_env,
    labels,
    meta,
    pod_spec,
    resources,
)

# Dynamo runtime images, one per backend; the Dynamo Kubernetes guide exports
# RUNTIME_IMAGE=nvcr.io/nvidia/ai-dynamo/{vllm,sglang,tensorrtllm}-runtime:1.4.0 (docs, "Deploy your first model")
IMAGES = {
    "vllm": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
    "sglang": "nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.4.0",
    "trtllm": "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.4.0",
}
API_VERSION = "nvidia.com/v1beta1"
KIND = "DynamoGraphDeployment"
ANN_KAI_QUEUE = "nvidia.com/kai-scheduler-queue"    # read by the Dynamo operator (KubeAnnotationKaiSchedulerQueue)
FRONTEND = "frontend"
COMPONENT_TYPE = {"prefill": "prefill", "decode": "decode", "aggregated": "worker"}
MAIN = "main"                                       # the container the operator merges its defaults into


def image(ctx: Ctx) -> str:
    return ctx.target.image or IMAGES[ctx.target.engine]


def worker_args(ctx: Ctx, role: RolePlan) -> list[str]:
    """Arguments of ``python3 -m dynamo.<engine>`` for one instance of ``role``."""
    model, engine = ctx.plan.model.name, ctx.target.engine
    disagg = role.role != "aggregated"
    if engine == "vllm":
        # the `vllm serve` engine args of engines.vllm_engine_args; KV over NIXL with kv_both, as in Dynamo's
        # disaggregated vLLM examples (the prefill/decode split comes from --disaggregation-mode)
        args = ["--model", model, *engines.vllm_engine_args(ctx, role)]
        if disagg:
            cfg = json.dumps({"kv_connector": "NixlConnector", "kv_role": "kv_both"}, separators=(",", ":"))
            args += ["--disaggregation-mode", role.role, "--kv-transfer-config", cfg]
        return args
    if engine == "sglang":
        # SGLang server args of engines.sglang_server_args; NIXL transfer as in Dynamo's sglang disagg examples
        return ["--model-path", model, "--served-model-name", model, *engines.sglang_server_args(ctx, role)]
    # TensorRT-LLM: parallelism and limits as dynamo.trtllm flags, the cache transceiver (and prefill's
    # disable_overlap_scheduler) from the per-role LLM-API options file in the engine ConfigMap
    args = ["--model", model, "--served-model-name", model, "--tensor-parallel-size", str(role.tp),
            "--pipeline-parallel-size", str(role.pp), "--expert-parallel-size", str(role.ep),
            "--max-batch-size", str(role.max_batch), "--max-num-tokens", str(role.max_num_batched_tokens),
            "--free-gpu-memory-fraction", f"{engines.GPU_MEMORY_FRACTION - 0.05:.2f}",
            "--extra-engine-args", f"{engines.CONFIG_DIR}/{role.role}.yaml"]
    if disagg:
        args += ["--disaggregation-mode", role.role]
    return args


def _worker(ctx: Ctx, role: RolePlan) -> Obj:
    engine = ctx.target.engine
    c: Obj = {"name": MAIN, "image": image(ctx), "imagePullPolicy": "IfNotPresent",
              "command": ["python3", "-m", f"dynamo.{engine}"], "args": worker_args(ctx, role),
              "resources": resources(ctx, role)}
    volumes: list[Obj] = []
    if engine == "trtllm":
        c["volumeMounts"] = [{"name": "engine-config", "mountPath": engines.CONFIG_DIR, "readOnly": True}]
        volumes = [{"name": "engine-config", "configMap": {"name": f"{ctx.name}-engine"}}]
    spec = pod_spec(ctx, role, [c])
    # The operator owns the service account (runtime discovery) and /dev/shm (sharedMemorySize below)
    spec.pop("serviceAccountName")
    spec["volumes"] = volumes
    if not volumes:
        spec.pop("volumes")
    pod_labels = {**labels(ctx, role.role), LABEL_ROLE: role.role}
    comp: Obj = {"name": role.role, "type": COMPONENT_TYPE[role.role], "replicas": role.replicas,
                 "sharedMemorySize": f"{SHM_GIB}Gi",
                 "podTemplate": {"metadata": {"labels": pod_labels, "annotations": annotations(ctx)}, "spec": spec}}
    if role.nodes_per_replica > 1:
        comp["multinode"] = {"nodeCount": role.nodes_per_replica}
    return comp


def _frontend(ctx: Ctx) -> Obj:
    """Dynamo's HTTP frontend: OpenAI API, tokenisation and routing to the workers it discovers in the graph's
    Dynamo namespace (the operator derives that namespace from the DGD, so every component here shares it)."""
    c: Obj = {"name": MAIN, "image": image(ctx), "imagePullPolicy": "IfNotPresent",
              "command": ["python3", "-m", "dynamo.frontend"], "args": ["--http-port", str(HTTP_PORT)],
              "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}}
    pod_labels = {**labels(ctx, FRONTEND), LABEL_ROLE: FRONTEND}
    return {"name": FRONTEND, "type": "frontend", "replicas": router.REPLICAS,
            "podTemplate": {"metadata": {"labels": pod_labels, "annotations": annotations(ctx)},
                            "spec": {"containers": [c]}}}


def render(ctx: Ctx, roles: list[RolePlan]) -> list[Obj]:
    m = meta(ctx, ctx.name, "serving")
    if ctx.target.scheduler == "kai":
        m["annotations"][ANN_KAI_QUEUE] = ctx.target.queue
    spec: Obj = {"backendFramework": ctx.target.engine,
                 "components": [_frontend(ctx)] + [_worker(ctx, r) for r in roles]}
    env = hf_token_env(ctx)
    if env:
        spec["env"] = env
    return [{"apiVersion": API_VERSION, "kind": KIND, "metadata": m, "spec": spec}]

