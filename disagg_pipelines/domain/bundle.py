"""DeploymentBundle: rendered Kubernetes objects plus what produced them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from disagg_pipelines.domain.strict import Strict

WorkloadApi = Literal["lws", "disaggregatedset", "grove", "deployment", "dynamo"]
Scheduler = Literal["default", "kai", "volcano", "kueue"]


class TopologyLevel(Strict):
    """One level of the cluster's network topology, broad to narrow, named by the node label that identifies it."""

    name: str                                 # e.g. zone, block, rack, host
    node_label: str                           # e.g. topology.kubernetes.io/zone, nvidia.com/gpu.clique


class Target(Strict):
    """Where and how a plan is rendered."""

    workload: WorkloadApi
    scheduler: Scheduler = "default"
    engine: Literal["vllm", "sglang", "trtllm"]
    namespace: str = "default"
    image: str | None = None                  # None: the engine's pinned default image
    topology: tuple[TopologyLevel, ...] = ()  # empty: defaults from the GPU catalog
    autoscale: bool = False
    queue: str = "default"                    # scheduler queue (KAI / Volcano / Kueue LocalQueue)
    hf_token_secret: str | None = "hf-token"  # Secret holding HF_TOKEN (key 'token'); None: no token


class DeploymentBundle(Strict):
    """Objects to apply, in apply order, with the plan hash and tool version that produced them."""

    schema_version: Literal["v1"] = "v1"
    name: str                                 # base name of every object, derived from the plan
    plan_hash: str
    tool_version: str
    target: Target
    objects: tuple[dict[str, Any], ...]
    total_gpus: int                           # GPUs requested by the rendered workloads at their replica counts
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = Field(default=())
