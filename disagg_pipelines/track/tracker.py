"""RunRecord -> an MLflow run (params, metrics, tags, artifacts). mlflow is imported only here, on use."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from disagg_pipelines.domain.errors import UserError
from disagg_pipelines.domain.run import RunRecord


class TrackingUnavailable(UserError):
    """The tracking backend is missing or unreachable."""


class Tracker(Protocol):
    def log_run(self, record: RunRecord) -> str:
        """Log one run; return its id."""


class MlflowTracker:
    """Logs to an MLflow tracking store: ``tracking_uri`` (None: MLflow's default, ``sqlite:///mlflow.db``)."""

    def __init__(self, tracking_uri: str | None = None, experiment: str = "disagg-pipelines") -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment

    def log_run(self, record: RunRecord) -> str:
        try:
            import mlflow
        except ImportError as err:
            raise TrackingUnavailable("mlflow is not installed; install disagg-pipelines[mlflow] or pass "
                                      "--no-track") from err
        client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
        try:
            found = client.get_experiment_by_name(self.experiment)
            experiment_id = found.experiment_id if found else client.create_experiment(self.experiment)
            run = client.create_run(experiment_id, run_name=record.name, tags=record.tags)
        except mlflow.exceptions.MlflowException as err:
            raise TrackingUnavailable(f"cannot reach MLflow tracking store {self.tracking_uri or 'default'!r}: "
                                      f"{' '.join(str(err).split())[:200]}; check --tracking-uri or pass "
                                      f"--no-track") from err
        run_id = run.info.run_id
        from mlflow.entities import Metric, Param

        client.log_batch(run_id, params=[Param(k, v) for k, v in sorted(record.params.items())],
                         metrics=[Metric(k, float(v), 0, 0) for k, v in sorted(record.metrics.items())])
        if record.artifacts_dir:
            client.log_artifacts(run_id, str(Path(record.artifacts_dir)))
        client.set_terminated(run_id)
        return run_id


def track(record: RunRecord, tracker: Tracker) -> str:
    """Log ``record`` with ``tracker``; return the run id."""
    return tracker.log_run(record)
