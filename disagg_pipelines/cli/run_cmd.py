"""`disagg run`: request.yaml (or the embedded default) -> plan -> manifests -> MLflow run. No cluster, no GPU."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _load_request(path: Path | None):  # noqa: ANN202
    import yaml

    from disagg_pipelines.domain.errors import InvalidInput
    from disagg_pipelines.domain.request import RunRequest

    if path is None:
        from importlib import resources

        text = (resources.files("disagg_pipelines.catalog") / "requests" / "default.yaml").read_text()
    else:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidInput(f"cannot read request {str(path)!r}: {err}; give a request.yaml "
                               f"(see examples/)") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InvalidInput(f"request {str(path)!r} is not YAML: {' '.join(str(err).split())[:160]}") from err
    if not isinstance(data, dict):
        raise InvalidInput(f"request {str(path)!r} holds a {type(data).__name__}, not a mapping; see examples/")
    return RunRequest.model_validate(data)


@click.command("run")
@click.option("--request", "request_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="request.yaml; default: the embedded example (Llama-3.1-8B on 8 H100, LWS).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out"), show_default=True)
@click.option("--track/--no-track", default=True, show_default=True, help="Log the run to MLflow.")
@click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI", default=None,
              help="MLflow tracking URI [default: $MLFLOW_TRACKING_URI, else MLflow's local sqlite:///mlflow.db].")
@click.option("--experiment", default="disagg-pipelines", show_default=True)
def run_cmd(request_path: Path | None, out: Path, track: bool, tracking_uri: str | None, experiment: str) -> None:
    """Profile, plan and render in one go (the main job), and track it in MLflow."""
    from disagg_pipelines import catalog
    from disagg_pipelines import run as run_step
    from disagg_pipelines.cli import load_model_ref
    from disagg_pipelines.cli.plan_cmd import _print_plan
    from disagg_pipelines.plan import simulate
    from disagg_pipelines.render import emit

    request = _load_request(request_path)
    if request_path is None:
        click.echo("using the embedded default request (meta-llama/Llama-3.1-8B-Instruct on 8 h100-sxm)", err=True)
    result = run_step.run(request, load_model_ref(request.model), catalog.load_gpu(request.gpu),
                          catalog.load_engine(request.engine), simulator=simulate)
    written = emit.write_bundle(result.bundle, out / "manifests")
    emit.write_text(out / "plan.json", result.plan.model_dump_json(indent=2))
    emit.write_text(out / "request.json", request.model_dump_json(indent=2))
    _print_plan(result.plan)
    summary = {"out": str(out), "plan": str(out / "plan.json"), "manifests": len(written),
               "total_gpus": result.plan.total_gpus, "plan_hash": result.bundle.plan_hash}
    if track:
        from disagg_pipelines import track as tracking

        record = result.record.model_copy(update={"artifacts_dir": str(out)})
        tracker = tracking.MlflowTracker(tracking_uri, experiment)
        summary["mlflow_run_id"] = tracking.track(record, tracker)
        summary["mlflow_experiment"] = experiment
    click.echo(json.dumps(summary))
