"""write_bundle(bundle, out_dir) -> list[Path] and write_text(path, text): the only writers of output files.

One YAML file per object, named ``NN-<kind>-<name>.yaml`` in apply order, plus ``index.yaml`` (plan hash, tool
version, target, files, GPU total, warnings). Everything is written into a temporary folder beside ``out_dir`` and
then renamed into place, so an error leaves no half-written output.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from disagg_pipelines.domain.bundle import DeploymentBundle

_BOOL_LIKE = {"y", "yes", "n", "no", "on", "off", "true", "false", "null", "~"}


class _Dumper(yaml.SafeDumper):
    """safe_dump that always quotes YAML-1.1 boolean-like strings ('on', 'no', 'y')."""


def _str(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "'" if value.lower() in _BOOL_LIKE else ("|" if "\n" in value else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def to_yaml_stream(objects: list[Any] | tuple[Any, ...]) -> str:
    return yaml.dump_all(list(objects), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def file_names(bundle: DeploymentBundle) -> list[str]:
    return [f"{i:02d}-{o['kind'].lower()}-{o['metadata']['name']}.yaml" for i, o in enumerate(bundle.objects)]


def write_bundle(bundle: DeploymentBundle, out_dir: Path) -> list[Path]:
    """Write the bundle into ``out_dir`` (replacing what a previous render left there); return the files written."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    names = file_names(bundle)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, obj in zip(names, bundle.objects):
            (tmp / name).write_text(to_yaml(obj))
        index = {"schema_version": bundle.schema_version, "name": bundle.name, "plan_hash": bundle.plan_hash,
                 "tool_version": bundle.tool_version, "target": bundle.target.model_dump(mode="json"),
                 "total_gpus": bundle.total_gpus, "files": names, "warnings": list(bundle.warnings),
                 "notes": list(bundle.notes)}
        (tmp / "index.yaml").write_text(to_yaml(index))
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out_dir / n for n in names] + [out_dir / "index.yaml"]


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename (never half-written)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
