"""Engine command lines: one RolePlan (+ where the pod sits in its instance) -> command, env and config files.

CLIs followed (flag names checked against these releases' docs):
- vLLM v0.11.0: ``vllm serve`` (docs.vllm.ai/en/v0.11.0/cli/serve.html), ``--kv-transfer-config`` with
  NixlConnector (docs.vllm.ai/en/v0.11.0/features/nixl_connector_usage.html), multi-node over Ray as in the LWS
  vLLM example (lws.sigs.k8s.io/docs/examples/vllm/).
- SGLang v0.5.3: ``python3 -m sglang.launch_server`` with ``--disaggregation-mode``,
  ``--disaggregation-transfer-backend``, ``--nnodes/--node-rank/--dist-init-addr``
  (docs.sglang.ai/advanced_features/pd_disaggregation.html, server_arguments.html).
- TensorRT-LLM 1.0.0: ``trtllm-serve`` with ``--extra_llm_api_options`` (``cache_transceiver_config``) and
  ``trtllm-serve disaggregated -c`` (nvidia.github.io/TensorRT-LLM/1.0.0/commands/trtllm-serve/, examples/disaggregated);
  multi-node via ``mpirun ... trtllm-llmapi-launch``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.render._pod import HTTP_PORT, Ctx, Obj

IMAGES = {
    # vLLM release image; the LWS guide runs vllm/vllm-openai (docs.vllm.ai/en/v0.11.0/deployment/frameworks/lws.html)
    "vllm": "vllm/vllm-openai:v0.11.0",
    # SGLang v0.5.3 tags are `v0.5.3` (release, all GPUs) and `v0.5.3-cu126`; there is no `-cu128` tag for this
    # release (github.com/sgl-project/sglang PR #10671 "cleanup docker image", .github/workflows/release-docker.yml)
    "sglang": "lmsysorg/sglang:v0.5.3",
    # NGC release image of TensorRT-LLM 1.0.0 (catalog.ngc.nvidia.com/orgs/nvidia/teams/tensorrt-llm/containers/release)
    "trtllm": "nvcr.io/nvidia/tensorrt-llm/release:1.0.0",
}
# SGLang's default --disaggregation-bootstrap-port (python/sglang/srt/server_args.py, v0.5.3)
SGLANG_BOOTSTRAP_PORT = 8998
SGLANG_DIST_PORT = 5000                # our choice for --dist-init-addr; any free port on the leader
# VLLM_NIXL_SIDE_CHANNEL_PORT default (docs.vllm.ai/en/v0.11.0/features/nixl_connector_usage.html, "Environment
# Variables"); VLLM_NIXL_SIDE_CHANNEL_HOST must be the pod's reachable address when P and D are on different hosts
NIXL_SIDE_CHANNEL_PORT = 5600
RAY_PORT = 6379                        # Ray head port used by vLLM's examples/online_serving/multi-node-serving.sh
SSH_PORT = 2222                        # our choice: sshd for mpirun between TensorRT-LLM pods
CONFIG_DIR = "/etc/disagg"
GPU_MEMORY_FRACTION = 0.90


@dataclass(frozen=True)
class Dist:
    """Where a pod sits in a multi-node instance, as shell expressions the workload API provides."""

    nnodes: int
    leader_host: str                  # e.g. "$LWS_LEADER_ADDRESS"
    node_rank: str                    # e.g. "$LWS_WORKER_INDEX"
    worker_hosts: tuple[str, ...]     # shell expressions of the non-leader pods' hostnames, in rank order


@dataclass(frozen=True)
class EngineCmd:
    command: list[str]
    env: list[Obj] = field(default_factory=list)
    mounts: list[Obj] = field(default_factory=list)
    entrypoint: bool = True           # this pod serves HTTP


def image(ctx: Ctx) -> str:
    return ctx.target.image or IMAGES[ctx.target.engine]


def config_files(ctx: Ctx) -> dict[str, str]:
    """Engine config files for the engine ConfigMap (TensorRT-LLM only: LLM-API options per role)."""
    if ctx.target.engine != "trtllm":
        return {}
    files = {}
    for role in ctx.plan.roles:
        # cache_transceiver_config.backend in DEFAULT|UCX|NIXL|MPI (CacheTransceiverConfig in
        # tensorrt_llm/llmapi/llm_args.py; examples/disaggregated/README.md, TensorRT-LLM 1.0); context servers also
        # set disable_overlap_scheduler (same README, ctx_extra-llm-api-config.yaml)
        opts: Obj = {"cache_transceiver_config": {"backend": "NIXL"}}
        if role.role == "prefill":
            opts["disable_overlap_scheduler"] = True       # context servers: required for disaggregated serving
        if ctx.plan.precision.kv_cache == "fp8":
            opts["kv_cache_config"] = {"dtype": "fp8"}
        files[f"{role.role}.yaml"] = json.dumps(opts, indent=2, sort_keys=True)  # JSON is valid YAML
    return files


def command(ctx: Ctx, role: RolePlan, dist: Dist | None, leader: bool) -> EngineCmd:
    engine = ctx.target.engine
    if engine == "vllm":
        return _vllm(ctx, role, dist, leader)
    if engine == "sglang":
        return _sglang(ctx, role, dist, leader)
    return _trtllm(ctx, role, dist, leader)


def _quant(ctx: Ctx) -> tuple[bool, bool]:
    p = ctx.plan.precision
    return p.weights == "fp8" and ctx.plan.model.native_precision == "bf16", p.kv_cache == "fp8"


def vllm_engine_args(ctx: Ctx, role: RolePlan) -> list[str]:
    """`vllm serve` engine arguments of one instance of ``role`` (served name, parallelism, batch, memory, fp8),
    shared by the plain engine command and Dynamo's vLLM worker.

    docs.vllm.ai/en/v0.11.0/cli/serve.html: --tensor-parallel-size, --pipeline-parallel-size, --max-num-seqs,
    --max-num-batched-tokens, --gpu-memory-utilization, --quantization, --kv-cache-dtype.
    """
    model = ctx.plan.model.name
    args = ["--served-model-name", model, "--tensor-parallel-size", str(role.tp),
            "--pipeline-parallel-size", str(role.pp), "--max-num-seqs", str(role.max_batch),
            "--max-num-batched-tokens", str(role.max_num_batched_tokens),
            "--gpu-memory-utilization", f"{GPU_MEMORY_FRACTION:.2f}"]
    weights_fp8, kv_fp8 = _quant(ctx)
    args += ["--quantization", "fp8"] if weights_fp8 else []
    args += ["--kv-cache-dtype", "fp8"] if kv_fp8 else []
    return args


def sglang_server_args(ctx: Ctx, role: RolePlan) -> list[str]:
    """SGLang server arguments of one instance of ``role`` after model, name, host and port (parallelism, batch,
    memory, fp8, PD disaggregation over NIXL), shared by the plain engine command and Dynamo's SGLang worker."""
    args = ["--tp-size", str(role.tp), "--pp-size", str(role.pp), "--max-running-requests", str(role.max_batch),
            "--chunked-prefill-size", str(role.max_num_batched_tokens),
            "--mem-fraction-static", f"{GPU_MEMORY_FRACTION - 0.05:.2f}"]
    weights_fp8, kv_fp8 = _quant(ctx)
    args += ["--quantization", "fp8"] if weights_fp8 else []
    args += ["--kv-cache-dtype", "fp8_e4m3"] if kv_fp8 else []
    if role.role != "aggregated":
        args += ["--disaggregation-mode", role.role, "--disaggregation-transfer-backend", "nixl",
                 "--disaggregation-bootstrap-port", str(SGLANG_BOOTSTRAP_PORT)]
    return args


def _pod_ip_env(name: str) -> Obj:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}


def _sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def _vllm(ctx: Ctx, role: RolePlan, dist: Dist | None, leader: bool) -> EngineCmd:
    model = ctx.plan.model.name
    env = [{"name": "VLLM_NIXL_SIDE_CHANNEL_PORT", "value": str(NIXL_SIDE_CHANNEL_PORT)},
           _pod_ip_env("VLLM_NIXL_SIDE_CHANNEL_HOST")]
    if dist is not None and not leader:
        # Multi-node over Ray as in the v0.11 LWS guide: workers join the head with `ray start --address=HEAD:6379
        # --block` (examples/online_serving/multi-node-serving.sh, docs.vllm.ai/en/v0.11.0/deployment/frameworks/lws.html)
        return EngineCmd(_sh(f"exec ray start --address={dist.leader_host}:{RAY_PORT} --block"), env, entrypoint=False)
    args = ["vllm", "serve", model, "--host", "0.0.0.0", "--port", str(HTTP_PORT), *vllm_engine_args(ctx, role)]
    if role.role != "aggregated":
        # kv_producer / kv_consumer are the documented roles for prefill / decode instances on different machines
        # ("Multi-Instance Setup" and "KV Role Options", docs.vllm.ai/en/v0.11.0/features/nixl_connector_usage.html).
        # The same page notes NixlConnector does not act on kv_role (the router assigns P and D), and its
        # single-host quick start uses kv_both; producer/consumer keeps the role visible in the manifest.
        kv_role = "kv_producer" if role.role == "prefill" else "kv_consumer"
        cfg = json.dumps({"kv_connector": "NixlConnector", "kv_role": kv_role}, separators=(",", ":"))
        args += ["--kv-transfer-config", cfg]
    if dist is None:
        return EngineCmd(args, env)
    args += ["--distributed-executor-backend", "ray"]
    quoted = " ".join(a if a.replace("-", "").replace("_", "").replace(".", "").replace("/", "").isalnum() else
                      f"'{a}'" for a in args)
    wait = (f"until [ \"$(ray status 2>/dev/null | grep -c ' node_')\" -ge {dist.nnodes} ]; "
            f"do echo waiting for {dist.nnodes} ray nodes; sleep 5; done")
    return EngineCmd(_sh(f"ray start --head --port={RAY_PORT} && {wait} && exec {quoted}"), env)


def _sglang(ctx: Ctx, role: RolePlan, dist: Dist | None, leader: bool) -> EngineCmd:
    model = ctx.plan.model.name
    # Flags as in SGLang v0.5.3 server_args.py: --tp-size/--pp-size, --max-running-requests, --chunked-prefill-size,
    # --mem-fraction-static, --disaggregation-{mode,transfer-backend,bootstrap-port}, --nnodes/--node-rank/
    # --dist-init-addr (docs.sglang.ai/advanced_features/server_arguments.html, pd_disaggregation.html)
    args = ["python3", "-m", "sglang.launch_server", "--model-path", model, "--served-model-name", model,
            "--host", "0.0.0.0", "--port", str(HTTP_PORT), *sglang_server_args(ctx, role)]
    if dist is None:
        return EngineCmd(args)
    args += ["--nnodes", str(dist.nnodes), "--node-rank", "$RANK", "--dist-init-addr",
             f"$LEADER:{SGLANG_DIST_PORT}"]
    script = f"RANK={dist.node_rank}; LEADER={dist.leader_host}; exec " + " ".join(args)
    return EngineCmd(_sh(script), entrypoint=leader)


def _trtllm(ctx: Ctx, role: RolePlan, dist: Dist | None, leader: bool) -> EngineCmd:
    model = ctx.plan.model.name
    mounts = [{"name": "engine-config", "mountPath": CONFIG_DIR, "readOnly": True}]
    # trtllm-serve options --tp_size/--pp_size/--ep_size/--max_batch_size/--max_num_tokens/
    # --kv_cache_free_gpu_memory_fraction/--extra_llm_api_options/--backend (tensorrt_llm/commands/serve.py, 1.0)
    args = ["trtllm-serve", model, "--host", "0.0.0.0", "--port", str(HTTP_PORT), "--backend", "pytorch",
            "--tp_size", str(role.tp), "--pp_size", str(role.pp), "--ep_size", str(role.ep),
            "--max_batch_size", str(role.max_batch), "--max_num_tokens", str(role.max_num_batched_tokens),
            "--kv_cache_free_gpu_memory_fraction", f"{GPU_MEMORY_FRACTION - 0.05:.2f}",
            "--extra_llm_api_options", f"{CONFIG_DIR}/{role.role}.yaml"]
    if dist is None:
        return EngineCmd(args, mounts=mounts)
    ssh_mount = [{"name": "mpi-ssh", "mountPath": "/root/.ssh", "readOnly": True}]
    if not leader:
        return EngineCmd(_sh(f"exec /usr/sbin/sshd -D -p {SSH_PORT}"), mounts=mounts + ssh_mount, entrypoint=False)
    per_node = role.gpus_per_node
    hosts = ",".join([f"{dist.leader_host}:{per_node}"] + [f"{h}:{per_node}" for h in dist.worker_hosts])
    mpi = (f"mpirun --allow-run-as-root -np {role.gpus_per_replica} -H {hosts} -mca plm_rsh_args '-p {SSH_PORT}' "
           f"-x HF_TOKEN trtllm-llmapi-launch ")
    return EngineCmd(_sh(mpi + " ".join(args)), mounts=mounts + ssh_mount)


def mpi_ssh_secret(ctx: Ctx) -> str:
    """Name of the Secret (user-provided: authorized_keys, id_ed25519, config) for TensorRT-LLM multi-node MPI."""
    return f"{ctx.name}-mpi-ssh"
