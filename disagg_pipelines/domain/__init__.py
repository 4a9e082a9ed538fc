"""Domain models shared by every step: pydantic only, no I/O, no heavy imports.

Names are resolved on first use (PEP 562), so importing one module of the domain does not build every model.
"""

from importlib import import_module

_WHERE = {
    "DeploymentBundle": "bundle", "Target": "bundle", "TopologyLevel": "bundle",
    "UserError": "errors",
    "EngineSpec": "engine",
    "GpuSpec": "gpu",
    "MlaSpec": "model", "ModelSpec": "model", "MoeSpec": "model",
    "Candidate": "plan", "ParetoPoint": "plan", "Plan": "plan", "Predicted": "plan", "RolePlan": "plan",
    "Precision": "precision",
    "CostTable": "profile", "MemoryBudget": "profile", "Profile": "profile",
    "RunRequest": "request",
    "LengthDist": "workload", "LongContextBurst": "workload", "Slo": "workload", "Workload": "workload",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
