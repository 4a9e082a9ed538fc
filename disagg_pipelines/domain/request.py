"""RunRequest: everything the main job needs, in one file (examples/<case>/request.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import PositiveFloat, PositiveInt, model_validator

from disagg_pipelines.domain.bundle import Target
from disagg_pipelines.domain.strict import Strict
from disagg_pipelines.domain.workload import Slo, Workload


class RunRequest(Strict):
    """Serve ``model`` on ``gpu`` under ``slo`` for ``workload``, within ``gpus`` or at ``request_rate_per_s``."""

    schema_version: Literal["v1"] = "v1"
    model: str                                # Hugging Face id (bundled catalog) or a path to a config.json
    gpu: str                                  # GPU catalog name
    precision: str = "bf16"
    engine: Literal["vllm", "sglang", "trtllm"] = "vllm"
    mode: Literal["auto", "agg", "disagg"] = "auto"
    gpus: PositiveInt | None = None           # GPU budget: maximise goodput within it
    request_rate_per_s: PositiveFloat | None = None  # target load: fewest GPUs that serve it
    workload: Workload
    slo: Slo
    target: Target

    @model_validator(mode="after")
    def _one_sizing(self) -> RunRequest:
        if (self.gpus is None) == (self.request_rate_per_s is None):
            raise ValueError("give exactly one of gpus (a budget) or request_rate_per_s (a target load)")
        if self.target.engine != self.engine:
            raise ValueError(f"target.engine={self.target.engine!r} differs from engine={self.engine!r}; make them equal")
        return self
