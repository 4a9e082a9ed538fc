"""Catalogs: bundled GPU and model specs (package data, one YAML file each) loaded into domain models.

Models are addressed by Hugging Face id (bundled catalog first), or by a local ``config.json`` file or folder.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from disagg_pipelines.catalog.hf_config import model_from_hf_config
from disagg_pipelines.domain.engine import EngineSpec
from disagg_pipelines.domain.errors import InvalidModelConfig, UnknownGpu, UnknownModel
from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec

_ROOT = resources.files(__package__)


def _yaml_files(folder: str) -> dict[str, Any]:
    return {p.name.removesuffix(".yaml"): p for p in (_ROOT / folder).iterdir() if p.name.endswith(".yaml")}


@lru_cache(maxsize=1)
def _gpu_entries() -> dict[str, dict[str, Any]]:
    return {name: yaml.safe_load(p.read_text()) for name, p in sorted(_yaml_files("gpus").items())}


@lru_cache(maxsize=1)
def _model_entries() -> dict[str, dict[str, Any]]:
    entries = {}
    for p in sorted(_yaml_files("models").values(), key=lambda p: p.name):
        data = yaml.safe_load(p.read_text())
        entries[data["hf_id"]] = data
    return entries


def list_gpus() -> list[str]:
    return list(_gpu_entries())


def list_models() -> list[str]:
    return list(_model_entries())


def load_gpu(name: str) -> GpuSpec:
    entries = _gpu_entries()
    key = name.strip().lower()
    if key not in entries:
        raise UnknownGpu(f"unknown GPU {name!r}; known GPUs: {', '.join(entries)}")
    return GpuSpec.model_validate({"name": key, **entries[key]})


@lru_cache(maxsize=None)
def load_calibration(name: str = "h100-sxm-operators") -> dict[str, Any]:
    """A bundled operator-timing calibration file (measured on real hardware) as a dict."""
    import json

    return json.loads((_ROOT / "calibration" / f"{name}.json").read_text())


def model_entry(hf_id: str) -> dict[str, Any]:
    """The bundled catalog entry of a model (its config plus source and published figures)."""
    return _model_entries()[hf_id]


def load_model(ref: str, hub: Any = None) -> ModelSpec:
    """A ModelSpec from a bundled Hugging Face id, a local config.json (file or folder), or ``hub`` if given.

    ``hub`` is a callable ``hf_id -> config dict`` (``disagg_pipelines.catalog.hub.fetch_config``); it is
    consulted only for ids that are neither bundled nor a local path.
    """
    entries = _model_entries()
    lowered = {k.lower(): k for k in entries}
    if ref.lower() in lowered:
        entry = entries[lowered[ref.lower()]]
        return model_from_hf_config(entry["config"], name=entry["hf_id"])
    path = Path(ref).expanduser()
    if path.is_dir():
        path = path / "config.json"
    if path.is_file():
        return model_from_hf_config(_read_json(path), name=_local_name(path))
    if path.suffix == ".json" or ref.startswith((".", "/", "~")):
        raise UnknownModel(f"model config {ref!r} does not exist; give a config.json file, a folder holding one, "
                           f"or a Hugging Face id")
    if hub is not None and "/" in ref:
        return model_from_hf_config(hub(ref), name=ref)
    hub_note = " (the Hugging Face Hub was not consulted: offline mode, or no hub given)" if "/" in ref else ""
    raise UnknownModel(f"unknown model {ref!r}{hub_note}; bundled models: {', '.join(entries)} "
                       f"(or give a path to a config.json)")


def _local_name(path: Path) -> str:
    return path.parent.name or path.stem


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidModelConfig(f"cannot read model config {str(path)!r}: {' '.join(str(err).split())}; "
                                 f"give a Hugging Face config.json") from err
    if not isinstance(data, dict):
        raise InvalidModelConfig(f"model config {str(path)!r} holds a {type(data).__name__}, not a JSON object; "
                                 f"give a Hugging Face config.json")
    return data


def load_engine(name: str) -> EngineSpec:
    """The bundled scheduling behaviour of a serving engine (catalog/engines/<name>.yaml)."""
    from disagg_pipelines.domain.errors import InvalidInput

    files = _yaml_files("engines")
    key = name.strip().lower()
    if key not in files:
        raise InvalidInput(f"unknown engine {name!r}; known engines: {', '.join(sorted(files))}")
    return EngineSpec.model_validate(yaml.safe_load(files[key].read_text()))
