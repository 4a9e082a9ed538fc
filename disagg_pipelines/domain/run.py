"""RunRecord: what one main-job run decided and produced, as the tracker logs it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from disagg_pipelines.domain.strict import Strict


class RunRecord(Strict):
    """Parameters, metrics, tags and the folder of artifacts of one run (tracked in MLflow)."""

    schema_version: Literal["v1"] = "v1"
    name: str
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    artifacts_dir: str | None = None
