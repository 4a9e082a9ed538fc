"""Step 5, track: RunRecord -> an MLflow run. mlflow is imported only inside ``tracker``'s functions."""

from disagg_pipelines.track.tracker import (
    MlflowTracker,
    Tracker,
    TrackingUnavailable,
    track,
)

__all__ = ["MlflowTracker", "Tracker", "TrackingUnavailable", "track"]
