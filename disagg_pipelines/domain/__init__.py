"""Domain models shared by every step: pydantic only, no I/O, no heavy imports."""

from disagg_pipelines.domain.bundle import DeploymentBundle, Target, TopologyLevel
from disagg_pipelines.domain.errors import UserError
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import MlaSpec, ModelSpec, MoeSpec
from disagg_pipelines.domain.plan import Candidate, ParetoPoint, Plan, Predicted, RolePlan
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.profile import CostTable, MemoryBudget, Profile
from disagg_pipelines.domain.workload import LengthDist, LongContextBurst, Slo, Workload

__all__ = [
    "Candidate", "CostTable", "DeploymentBundle", "GpuSpec", "LengthDist", "LongContextBurst", "MemoryBudget",
    "MlaSpec", "ModelSpec", "MoeSpec", "ParetoPoint", "Plan", "Precision", "Predicted", "Profile", "RolePlan",
    "Slo", "Target", "TopologyLevel", "UserError", "Workload",
]
