"""`disagg validate DIR`: every YAML document under DIR -> schema problems on stdout, exit 2 if any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.command("validate")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--schemas", "schemas_dir", type=click.Path(path_type=Path),
              help="Folder of CRD manifests or extracted CRD schemas [default: $DISAGG_SCHEMAS_DIR or ../shared/schemas].")
@click.option("--from-cluster", is_flag=True, help="Use the CRDs the cluster in your kubeconfig serves.")
@click.option("--k8s-version", default="1.31", show_default=True, help="Kubernetes version of the built-in schemas.")
@click.pass_context
def validate_cmd(ctx: click.Context, directory: Path, schemas_dir: Path | None, from_cluster: bool,
                 k8s_version: str) -> None:
    """Validate rendered manifests against their schemas (CRDs strictly, built-in kinds strictly)."""
    from disagg_pipelines.render import validate

    if schemas_dir is not None and from_cluster:
        raise click.UsageError("give either --schemas DIR or --from-cluster, not both")
    documents, skipped = _read_documents(directory)
    if from_cluster:
        schema_set = _cluster_schemas()
    else:
        folder = schemas_dir or validate.default_schemas_dir()
        if folder is None:
            click.echo("note: no CRD schemas found (no --schemas, $DISAGG_SCHEMAS_DIR or ../shared/schemas); "
                       "only built-in kinds can pass", err=True)
            schema_set = validate.SchemaSet({}, {})
        else:
            schema_set = validate.load_crd_schemas(folder)
    for path, reason in skipped:
        click.echo(f"note: skipped {path}: {reason}", err=True)
    objects = [doc for _, doc in documents]
    problems = validate.validate_objects(objects, schema_set, k8s_version=k8s_version)
    if not problems:
        click.echo(f"{len(objects)} objects valid")
        return
    for line in problems:
        click.echo(line)
    bad = len({line.split(": ", 1)[0] for line in problems})
    click.echo(f"{len(problems)} problems in {bad} of {len(objects)} objects")
    ctx.exit(2)


def _read_documents(directory: Path) -> tuple[list[tuple[Path, Any]], list[tuple[Path, str]]]:
    """Every YAML document under `directory` that is a Kubernetes object, and the files or documents skipped."""
    import yaml

    if not directory.is_dir():
        raise click.BadParameter(f"{str(directory)!r} is not a readable folder; give the folder `disagg render --out` "
                                 f"wrote", param_hint="DIR")
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise click.BadParameter(f"no *.yaml files under {str(directory)!r}; give the folder `disagg render --out` "
                                 f"wrote", param_hint="DIR")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents: list[tuple[Path, Any]] = []
    skipped: list[tuple[Path, str]] = []
    for path in files:
        try:
            docs = list(yaml.load_all(path.read_text(), Loader=loader))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise click.BadParameter(f"cannot read {path}: {' '.join(str(err).split())[:200]}", param_hint="DIR")
        for doc in docs:
            if doc is None:
                continue
            if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                documents.extend((path, item) for item in doc["items"])
            elif isinstance(doc, dict) and "apiVersion" not in doc and "kind" not in doc:
                skipped.append((path, "not a Kubernetes object (no apiVersion or kind), e.g. the bundle index"))
            else:
                documents.append((path, doc))
    return documents, skipped


def _cluster_schemas() -> Any:
    from disagg_pipelines.domain.errors import SchemaNotFound
    from disagg_pipelines.render.validate import crd_schemas_from_cluster

    try:
        import urllib3
        from kubernetes import client, config
    except ImportError as err:
        raise SchemaNotFound("--from-cluster needs the kubernetes client; install disagg-pipelines[kube]") from err
    try:
        config.load_kube_config()
        api_client = client.ApiClient()
        return crd_schemas_from_cluster(api_client)
    except (config.ConfigException, OSError, urllib3.exceptions.HTTPError) as err:
        raise SchemaNotFound(f"cannot reach the cluster from your kubeconfig ({err}); "
                             f"give --schemas DIR instead") from err
    except client.ApiException as err:
        raise SchemaNotFound(f"cannot list CRDs in the cluster (HTTP {err.status} {err.reason}); "
                             f"give --schemas DIR instead") from err
