"""`disagg render`: plan.json + workload/scheduler/engine -> manifests in a folder (nothing written on error)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _load_plan(path: Path):  # noqa: ANN202
    from pydantic import ValidationError

    from disagg_pipelines.cli import one_line
    from disagg_pipelines.domain.errors import InvalidPlan
    from disagg_pipelines.domain.plan import Plan

    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidPlan(f"cannot read plan {str(path)!r}: {err}; give a plan.json written by `disagg plan`") from err
    try:
        return Plan.model_validate_json(text)
    except ValidationError as err:
        raise InvalidPlan(f"plan {str(path)!r} is not a valid plan: {one_line(err)}; "
                          f"give a plan.json written by `disagg plan`") from err


def _load_topology(path: Path):  # noqa: ANN202
    import yaml
    from pydantic import ValidationError

    from disagg_pipelines.domain.bundle import TopologyLevel
    from disagg_pipelines.domain.errors import InvalidInput

    try:
        data = yaml.safe_load(path.read_text())
        levels = data["levels"] if isinstance(data, dict) else data
        return tuple(TopologyLevel.model_validate(lv) for lv in levels)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValidationError) as err:
        raise InvalidInput(f"cannot read topology {str(path)!r} ({' '.join(str(err).split())[:160]}); give YAML "
                           f"'levels: [{{name: zone, node_label: topology.kubernetes.io/zone}}, ...]' broad to "
                           f"narrow") from err


@click.command("render")
@click.option("--plan", "plan_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="plan.json written by `disagg plan`.")
@click.option("--workload", type=click.Choice(["lws", "disaggregatedset", "grove", "deployment", "dynamo"]), required=True)
@click.option("--scheduler", type=click.Choice(["default", "kai", "volcano", "kueue"]), default="default",
              show_default=True)
@click.option("--engine", type=click.Choice(["vllm", "sglang", "trtllm"]), default=None,
              help="Serving engine; default: the plan's engine.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--namespace", default="default", show_default=True)
@click.option("--image", default=None, help="Engine image; default: the pinned release of the engine.")
@click.option("--queue", default="default", show_default=True, help="Scheduler queue (KAI, Volcano, Kueue).")
@click.option("--topology", "topology_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="YAML levels broad to narrow; default: zone, NVLink domain (if labelled), host.")
@click.option("--autoscale", is_flag=True, help="Add an HPA (or Grove scale config) per role.")
def render_cmd(plan_path: Path, workload: str, scheduler: str, engine: str | None, out: Path, namespace: str,
               image: str | None, queue: str, topology_path: Path | None, autoscale: bool) -> None:
    """Render a plan into Kubernetes manifests."""
    from disagg_pipelines import render
    from disagg_pipelines.domain.bundle import Target
    from disagg_pipelines.render import emit

    plan = _load_plan(plan_path)
    if engine is None:
        click.echo(f"using the plan's engine: {plan.engine}", err=True)
    levels = _load_topology(topology_path) if topology_path else ()
    target = Target(workload=workload, scheduler=scheduler, engine=engine or plan.engine, namespace=namespace,
                    image=image, topology=levels, autoscale=autoscale, queue=queue)
    bundle = render.render(plan, target)
    for line in bundle.warnings:
        click.echo(f"warning: {line}", err=True)
    for line in bundle.notes:
        click.echo(f"note: {line}", err=True)
    paths = emit.write_bundle(bundle, out)
    click.echo(json.dumps({"out": str(out), "objects": len(bundle.objects), "total_gpus": bundle.total_gpus,
                           "plan_hash": bundle.plan_hash}))
    for p in paths:
        click.echo(str(p))
