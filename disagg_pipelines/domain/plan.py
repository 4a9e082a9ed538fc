"""Plan: the chosen serving configuration (aggregated or disaggregated, parallelism and replicas per role)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.strict import Strict
from disagg_pipelines.domain.workload import Slo, Workload

Engine = Literal["vllm", "sglang", "trtllm"]
Role = Literal["prefill", "decode", "aggregated"]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class RolePlan(Strict):
    """One worker pool: every replica is one engine instance of ``gpus_per_replica`` GPUs over ``nodes_per_replica``."""

    role: Role
    gpu: str                                  # catalog name of the GPU type of this pool
    tp: PositiveInt
    pp: PositiveInt = 1
    ep: PositiveInt = 1                       # expert parallelism across the instance's GPUs (MoE), 1 = none
    dp_attention: PositiveInt = 1             # data-parallel attention ranks (MLA models), 1 = none
    replicas: PositiveInt
    gpus_per_replica: PositiveInt
    nodes_per_replica: PositiveInt = 1
    max_batch: PositiveInt                    # concurrent sequences per replica (max-num-seqs)
    max_num_batched_tokens: PositiveInt       # token budget of one engine step (chunked prefill)

    @model_validator(mode="after")
    def _shape(self) -> RolePlan:
        if self.gpus_per_replica != self.tp * self.pp:
            raise ValueError(
                f"{self.role}: gpus_per_replica={self.gpus_per_replica} must equal tp x pp = {self.tp * self.pp}")
        if self.gpus_per_replica % self.nodes_per_replica:
            raise ValueError(
                f"{self.role}: nodes_per_replica={self.nodes_per_replica} does not divide "
                f"gpus_per_replica={self.gpus_per_replica}; pick one of {divisors(self.gpus_per_replica)}")
        if self.ep > self.gpus_per_replica or self.gpus_per_replica % self.ep:
            raise ValueError(f"{self.role}: ep={self.ep} must divide gpus_per_replica={self.gpus_per_replica}")
        return self

    @property
    def gpus(self) -> int:
        return self.gpus_per_replica * self.replicas

    @property
    def gpus_per_node(self) -> int:
        return self.gpus_per_replica // self.nodes_per_replica


class Predicted(Strict):
    """Predicted service levels of a configuration at its operating load."""

    ttft_ms: float                            # at the SLO percentile
    itl_ms: float                             # at the SLO percentile
    ttft_mean_ms: float
    itl_mean_ms: float
    tokens_per_s_per_gpu: float               # output tokens/s per GPU
    tokens_per_s_per_user: float              # 1000 / mean ITL
    request_rate_per_s: float                 # load the configuration is sized for
    concurrency: float                        # requests in flight at that load
    slo_attainment: float = Field(ge=0, le=1)  # share of requests meeting both targets
    source: Literal["estimate", "simulation"] = "estimate"


class Candidate(Strict):
    """One configuration the planner considered, with its prediction."""

    mode: Literal["agg", "disagg"]
    roles: tuple[RolePlan, ...]
    predicted: Predicted
    meets_slo: bool
    total_gpus: PositiveInt


class ParetoPoint(Strict):
    tokens_per_s_per_gpu: float
    tokens_per_s_per_user: float
    mode: Literal["agg", "disagg"]
    label: str                                # e.g. "2P(tp4)+1D(tp8)"


class Plan(Strict):
    """What to deploy, why, and how well it is predicted to serve."""

    schema_version: Literal["v1"] = "v1"
    model: ModelSpec
    gpu: GpuSpec                              # GPU type of the decode (or aggregated) pool
    prefill_gpu: GpuSpec | None = None        # when prefill runs on another GPU type
    precision: Precision
    engine: Engine
    workload: Workload
    slo: Slo
    mode: Literal["agg", "disagg"]
    roles: tuple[RolePlan, ...]
    predicted: Predicted
    gpu_budget: PositiveInt | None = None
    leftover_gpus: NonNegativeInt = 0
    alternatives: tuple[Candidate, ...] = ()
    pareto: tuple[ParetoPoint, ...] = ()
    explanation: tuple[str, ...] = ()         # why this mode, ratio and parallelism
    assumptions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _roles_match_mode(self) -> Plan:
        names = sorted(r.role for r in self.roles)
        want = ["aggregated"] if self.mode == "agg" else ["decode", "prefill"]
        if names != want:
            raise ValueError(f"mode={self.mode!r} needs roles {want}, got {names}")
        return self

    @property
    def total_gpus(self) -> int:
        return sum(r.gpus for r in self.roles)

    def role(self, name: Role) -> RolePlan:
        for r in self.roles:
            if r.role == name:
                return r
        raise KeyError(name)

    def gpu_for(self, role: RolePlan) -> GpuSpec:
        if role.role == "prefill" and self.prefill_gpu is not None:
            return self.prefill_gpu
        return self.gpu
