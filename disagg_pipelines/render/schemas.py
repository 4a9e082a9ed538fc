"""Schema sources -> compiled JSON-Schema validators for rendered Kubernetes objects.

Turns upstream CustomResourceDefinition schemas (a folder of extracted `openAPIV3Schema` files, a folder of CRD
manifests, or the CRDs a cluster serves) into a `SchemaSet`, and compiles each schema the way the API server reads it
with strict field validation: a structural schema is closed (unknown fields are errors) except where it says
`x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string` means integer or string, OpenAPI `nullable`
allows null, the root `metadata` (and that of `x-kubernetes-embedded-resource` objects) is a full ObjectMeta, and the
keys of an `x-kubernetes-list-type: map` list must be unique. Core kinds use the strict schemas shipped with
kubernetes-validate. The CRD schemas are upstream data and are never copied into this repository.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from disagg_pipelines.domain.errors import InvalidInput, SchemaNotFound

SCHEMAS_DIR_ENV = "DISAGG_SCHEMAS_DIR"
MIN_K8S_VERSION = (1, 31)
_DEFS_ID = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META_REF = f"{_DEFS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# <group>_<version>_<Kind>.json, as in ../shared/schemas/crds
_EXTRACTED_NAME = re.compile(r"^(?P<group>[a-z0-9.-]+\.[a-z0-9.-]+)_(?P<version>v\d+(?:(?:alpha|beta)\d+)?)_(?P<kind>[A-Z][A-Za-z0-9]*)\.json$")

GroupVersionKind = tuple[str, str]  # (apiVersion, kind)


class SchemaSet:
    """CRD `openAPIV3Schema`s by (apiVersion, kind), with where each came from; compiled validators are cached."""

    def __init__(self, schemas: dict[GroupVersionKind, dict[str, Any]], sources: dict[GroupVersionKind, str]) -> None:
        self._schemas = dict(schemas)
        self._sources = dict(sources)
        self._compiled: dict[tuple[GroupVersionKind, str], Any] = {}

    def __contains__(self, gvk: object) -> bool:
        return gvk in self._schemas

    def __len__(self) -> int:
        return len(self._schemas)

    def kinds(self) -> list[GroupVersionKind]:
        return sorted(self._schemas)

    def schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        return self._schemas.get((api_version, kind))

    def source(self, api_version: str, kind: str) -> str | None:
        return self._sources.get((api_version, kind))

    def validator(self, api_version: str, kind: str, k8s_version: str) -> Any | None:
        """The compiled (closed, strict) validator for one custom resource kind, or None if the kind is unknown."""
        gvk = (api_version, kind)
        if gvk not in self._schemas:
            return None
        key = (gvk, k8s_version)
        if key not in self._compiled:
            self._compiled[key] = _compile_crd(self._schemas[gvk], k8s_version)
        return self._compiled[key]


def default_schemas_dir() -> Path | None:
    """`$DISAGG_SCHEMAS_DIR` if set, else `<repo root>/../shared/schemas` if it exists (CRDs in its `crds/`)."""
    env = os.environ.get(SCHEMAS_DIR_ENV)
    if env:
        return Path(env)
    shared = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
    return shared if shared.is_dir() else None


def load_crd_schemas(folder: Path) -> SchemaSet:
    """Every CRD schema under `folder`: extracted `<group>_<version>_<Kind>.json` files or CRD manifests."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SchemaNotFound(f"schemas folder {str(folder)!r} does not exist; give a folder of CRD files (--schemas DIR)")
    schemas: dict[GroupVersionKind, dict[str, Any]] = {}
    sources: dict[GroupVersionKind, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".yaml", ".yml") and p.is_file()):
        for gvk, schema in _schemas_in_file(path):
            if gvk in schemas and schemas[gvk] != schema:
                raise InvalidInput(
                    f"two different schemas for {gvk[0]}/{gvk[1]}: {sources[gvk]} and {path}; keep one of them")
            schemas.setdefault(gvk, schema)
            sources.setdefault(gvk, str(path))
    if not schemas:
        raise SchemaNotFound(
            f"no CRD schemas under {str(folder)!r}; expected CustomResourceDefinition manifests (*.yaml) "
            f"or extracted <group>_<version>_<Kind>.json files")
    return SchemaSet(schemas, sources)


def crd_schemas_from_cluster(api_client: Any) -> SchemaSet:
    """The schema of every served version of every CRD the cluster behind `api_client` serves."""
    from kubernetes import client as k8s_client

    crds = k8s_client.ApiextensionsV1Api(api_client).list_custom_resource_definition()
    schemas: dict[GroupVersionKind, dict[str, Any]] = {}
    sources: dict[GroupVersionKind, str] = {}
    for crd in crds.items:
        manifest = api_client.sanitize_for_serialization(crd)
        for gvk, schema in crd_manifest_schemas(manifest):
            schemas[gvk] = schema
            sources[gvk] = f"cluster CRD {manifest.get('metadata', {}).get('name', '?')}"
    return SchemaSet(schemas, sources)


def crd_manifest_schemas(manifest: dict[str, Any]) -> Iterator[tuple[GroupVersionKind, dict[str, Any]]]:
    """(apiVersion, kind) and openAPIV3Schema of each served version of one CustomResourceDefinition."""
    spec = manifest.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    for version in spec.get("versions") or []:
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if version.get("served", True) and schema and group and kind:
            yield (f"{group}/{version['name']}", kind), schema


def _schemas_in_file(path: Path) -> Iterator[tuple[GroupVersionKind, dict[str, Any]]]:
    match = _EXTRACTED_NAME.match(path.name)
    try:
        text = path.read_text()
        docs = [json.loads(text)] if path.suffix == ".json" else list(yaml.load_all(text, Loader=_YAML_LOADER))
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise InvalidInput(f"cannot read schema file {path}: {' '.join(str(err).split())[:200]}") from err
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "CustomResourceDefinition":
            yield from crd_manifest_schemas(doc)
        elif match and ("properties" in doc or "type" in doc):
            yield (f"{match['group']}/{match['version']}", match["kind"]), doc


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ---- compiling a structural schema into a strict JSON-Schema validator --------------------------------------------

def _close(schema: Any, *, root: bool = False) -> Any:
    """A copy of an OpenAPI v3 structural schema as Draft 2020-12 JSON Schema with the API server's strictness."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _close(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _close(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_close(sub) for sub in value]
        elif key == "x-kubernetes-validations":
            continue  # CEL: the named rules are re-checked in code (validate.py)
        else:
            out[key] = value
    if out.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    is_object = out.get("type") == "object" or "properties" in out
    if is_object and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if root or out.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        meta = schema.get("properties", {}).get("metadata")
        # The API server validates and keeps a full ObjectMeta here, whatever the CRD lists (often `{type: object}`).
        props["metadata"] = {"allOf": [{"$ref": _OBJECT_META_REF}, _open(meta)]} if meta else {"$ref": _OBJECT_META_REF}
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        if out.get("x-kubernetes-embedded-resource"):
            out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind"})
    if out.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    return out


def _open(schema: dict[str, Any]) -> dict[str, Any]:
    """A root-metadata schema's own restrictions (e.g. on name), without closing it: ObjectMeta does that."""
    return {k: v for k, v in schema.items() if k not in ("type", "description")}


def _list_map_keys(validator: Any, keys: list[str], instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    from jsonschema import ValidationError

    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(instance, list):
        return
    seen: dict[tuple[Any, ...], int] = {}
    for i, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        key = tuple(json.dumps(item.get(k), sort_keys=True) for k in keys)
        if key in seen:
            shown = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
            yield ValidationError(f"duplicate entry {shown} (items {seen[key]} and {i}); list keys must be unique")
        seen.setdefault(key, i)


@lru_cache(maxsize=None)
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"x-kubernetes-list-map-keys": _list_map_keys})


def _compile_crd(schema: dict[str, Any], k8s_version: str) -> Any:
    return _validator_class()(_close(schema, root=True), registry=_k8s_registry(k8s_version))


# ---- core kinds: kubernetes-validate's strict schemas ---------------------------------------------------------------

def _shipped_dirs() -> dict[tuple[int, int], str]:
    from importlib import resources

    root = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    found = {}
    for entry in root.iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", entry.name)
        if m:
            found[(int(m[1]), int(m[2]))] = entry.name
    return found


def pick_k8s_version(requested: str) -> str:
    """The strict schema folder kubernetes-validate ships for `requested` (closest shipped version >= it)."""
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", requested.strip())
    if not m:
        raise InvalidInput(f"Kubernetes version {requested!r} is not MAJOR.MINOR; give e.g. 1.31")
    want = (int(m[1]), int(m[2]))
    shipped = _shipped_dirs()
    if want < MIN_K8S_VERSION:
        raise InvalidInput(f"Kubernetes version {requested!r} is older than the supported "
                           f"{MIN_K8S_VERSION[0]}.{MIN_K8S_VERSION[1]}; give 1.31 or newer")
    newer = sorted(v for v in shipped if v >= want)
    if not newer:
        latest = max(shipped)
        raise InvalidInput(f"Kubernetes version {requested!r} is newer than the schemas kubernetes-validate ships "
                           f"(latest {latest[0]}.{latest[1]}); give {latest[0]}.{latest[1]} or upgrade kubernetes-validate")
    return shipped[newer[0]]


@lru_cache(maxsize=None)
def _load_shipped(version_dir: str, filename: str) -> dict[str, Any] | None:
    from importlib import resources

    ref = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema", version_dir, filename)
    if not ref.is_file():
        return None
    return json.loads(ref.read_text())


@lru_cache(maxsize=None)
def _k8s_registry(k8s_version: str) -> Any:
    from referencing import Registry, Resource

    defs = _load_shipped(pick_k8s_version(k8s_version), "_definitions.json")
    return Registry().with_resource(_DEFS_ID, Resource.from_contents(defs))


def is_builtin_group(api_version: str) -> bool:
    """True for Kubernetes' own API groups (core, apps, policy, *.k8s.io), false for CRD groups such as *.x-k8s.io."""
    group = api_version.rpartition("/")[0]
    return "." not in group or (group.endswith(".k8s.io") and not group.endswith(".x-k8s.io"))


@lru_cache(maxsize=None)
def core_validator(api_version: str, kind: str, k8s_version: str) -> Any | None:
    """A strict validator for a built-in kind from kubernetes-validate, or None if it ships no schema for it."""
    if not is_builtin_group(api_version):
        return None
    group, _, version = api_version.rpartition("/")
    suffix = f"{group.split('.')[0]}-{version}" if group else version
    schema = _load_shipped(pick_k8s_version(k8s_version), f"{kind.lower()}-{suffix}.json")
    if schema is None:
        return None
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema, registry=_k8s_registry(k8s_version))
