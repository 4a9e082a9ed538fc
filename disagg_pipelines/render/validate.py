"""Rendered Kubernetes objects -> a list of problems, one line each ("<kind>/<name>: <json path>: <message>").

Custom resources are checked against their CRD schema the way the API server does with strict field validation
(see `schemas.py`); built-in kinds against kubernetes-validate's strict schemas; object names and labels against the
API server's syntax rules; and the CEL rules (`x-kubernetes-validations`) that matter for what we render are
re-checked here in code, since no CEL engine runs in this package:

- Grove PodCliqueSet: `topologyConstraint.packDomain` is deprecated and forbidden on new workloads (use `pack`); a
  topologyConstraint needs `pack`, and `pack` needs `required` or `preferred`.
- DisaggregatedSet: `replicas` is zero (or unset) for all non-External roles, or non-zero for all of them.
- Topology objects (KAI Topology, Kueue Topology, Grove ClusterTopologyBinding): level labels are unique and
  `kubernetes.io/hostname`, when used, is the last (narrowest) level.
- KEDA ScaledObject: minReplicaCount <= maxReplicaCount (default 100).

Invalid objects are reported, never raised.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator

from disagg_pipelines.render import schemas as schema_store
from disagg_pipelines.render.schemas import (
    SchemaSet,
    crd_schemas_from_cluster,
    default_schemas_dir,
    load_crd_schemas,
)

__all__ = ["SchemaSet", "crd_schemas_from_cluster", "default_schemas_dir", "load_crd_schemas", "validate_objects"]

HOSTNAME_LABEL = "kubernetes.io/hostname"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")           # RFC 1035 label (Service names)
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# kinds whose metadata.name must be an RFC 1035 label (API server: ValidateServiceName)
_DNS_LABEL_NAMED = {("v1", "Service")}


def validate_objects(objects: list[dict[str, Any]], schemas: SchemaSet, *, k8s_version: str = "1.31") -> list[str]:
    """One line per problem found in `objects`; an empty list means every object is valid."""
    schema_store.pick_k8s_version(k8s_version)  # a bad version is a user error, raised before any object is checked
    problems: list[str] = []
    for index, obj in enumerate(objects):
        problems.extend(_problems(obj, index, schemas, k8s_version))
    return problems


def _problems(obj: Any, index: int, schemas: SchemaSet, k8s_version: str) -> Iterator[str]:
    if not isinstance(obj, dict):
        yield f"object #{index}: $: is a {type(obj).__name__}, not a mapping"
        return
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    label = f"{kind or '?'}/{meta.get('name') or f'#{index}'}"
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        yield f"{label}: $: apiVersion and kind must both be non-empty strings (got {api_version!r}, {kind!r})"
        return
    validator = schemas.validator(api_version, kind, k8s_version) or schema_store.core_validator(
        api_version, kind, k8s_version)
    if validator is None:
        yield (f"{label}: $: no schema for {api_version}/{kind}; "
               f"give --schemas DIR or validate against the cluster")
        return
    errors = sorted(validator.iter_errors(obj), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    for err in errors:
        yield from (f"{label}: {path}: {message}" for path, message in _describe(err))
    for path, message in _metadata_problems(obj, meta, (api_version, kind)):
        yield f"{label}: {path}: {message}"
    if any(err.validator == "type" for err in errors):
        return  # like the API server, CEL rules are not evaluated on an object with type errors
    for check in _RULES.get((api_version.rpartition("/")[0], kind), ()):
        for path, message in check(obj):
            yield f"{label}: {path}: {message}"


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _describe(err: Any) -> Iterator[tuple[str, str]]:
    """A jsonschema error as (json path, message); unknown fields get one line each, at their own path."""
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and err.validator_value is False and isinstance(err.instance, dict):
        known = set(err.schema.get("properties", {}))
        for name in sorted(set(err.instance) - known):
            allowed = ", ".join(sorted(known)) or "none"
            yield _json_path([*path, name]), f"unknown field {name!r} (allowed here: {allowed})"
        return
    yield _json_path(path), err.message


def _metadata_problems(obj: dict[str, Any], meta: dict[str, Any], gvk: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """The name and label syntax the API server enforces for every object (apimachinery ValidateObjectMeta)."""
    name = meta.get("name")
    if not name:
        yield "$.metadata.name", "is required (rendered objects are applied by name)"
    elif isinstance(name, str):
        if gvk in _DNS_LABEL_NAMED:
            if len(name) > 63 or not _DNS_LABEL.match(name):
                yield "$.metadata.name", (f"{name!r} must be a DNS-1035 label (lowercase letters, digits, '-', "
                                          f"starting with a letter, at most 63 characters)")
        elif len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
            yield "$.metadata.name", (f"{name!r} must be a DNS-1123 subdomain (lowercase letters, digits, '-', '.', "
                                      f"at most 253 characters)")
    yield from _label_problems(meta.get("labels"), "$.metadata.labels")
    yield from _template_label_problems(obj, [])


def _template_label_problems(node: Any, path: list[Any]) -> Iterator[tuple[str, str]]:
    """Label syntax inside embedded pod templates (`...template.metadata.labels`), which become real pod labels."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = [*path, key]
            if key == "metadata" and path and isinstance(value, dict):
                yield from _label_problems(value.get("labels"), _json_path([*here, "labels"]))
            else:
                yield from _template_label_problems(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _template_label_problems(value, [*path, i])


def _label_problems(labels: Any, path: str) -> Iterator[tuple[str, str]]:
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))) or len(name) > 63 \
                or not _LABEL_NAME.match(name):
            yield f"{path}.{key}", f"label key {key!r} is not a qualified name ([prefix/]name, name <= 63 characters)"
        if isinstance(value, str) and (len(value) > 63 or not _LABEL_VALUE.match(value)):
            yield f"{path}.{key}", (f"label value {value!r} is not valid (<= 63 characters, alphanumeric at both "
                                    f"ends, '-', '_', '.' inside)")


# ---- CEL rules re-checked in code -----------------------------------------------------------------------------------

def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _grove_pcs(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    template = _dig(obj, "spec", "template") or {}
    places: list[tuple[list[Any], Any]] = [(["spec", "template", "topologyConstraint"], template.get("topologyConstraint"))]
    for group in ("cliques", "podCliqueScalingGroups"):
        for i, item in enumerate(template.get(group) or []):
            if isinstance(item, dict):
                places.append((["spec", "template", group, i, "topologyConstraint"], item.get("topologyConstraint")))
    for path, tc in places:
        if not isinstance(tc, dict):
            continue
        if "packDomain" in tc:
            yield _json_path([*path, "packDomain"]), (
                f"packDomain={tc['packDomain']!r} is deprecated and rejected on new workloads; "
                f"use pack.required={tc['packDomain']!r}")
        pack = tc.get("pack")
        if "pack" not in tc and "packDomain" not in tc:
            yield _json_path(path), "topologyConstraint must specify pack (pack.required or pack.preferred)"
        elif isinstance(pack, dict) and "required" not in pack and "preferred" not in pack:
            yield _json_path([*path, "pack"]), "pack must specify at least one of required or preferred"


def _disaggregated_set(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    roles = [r for r in (_dig(obj, "spec", "roles") or []) if isinstance(r, dict)]
    inline = [r for r in roles if _dig(r, "scaling", "mode") != "External"]
    counts = {str(r.get("name")): _dig(r, "spec", "replicas") for r in inline}
    all_zero = all(not c for c in counts.values())
    all_positive = all(isinstance(c, int) and c > 0 for c in counts.values())
    if not (all_zero or all_positive):
        shown = ", ".join(f"{name}={c}" for name, c in counts.items())
        yield "$.spec", (f"replicas must be zero for all non-External roles or non-zero for all of them "
                         f"(got {shown}); set replicas on every role")


def _topology_levels(label_key: str) -> Callable[[dict[str, Any]], Iterator[tuple[str, str]]]:
    def check(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
        levels = [lv for lv in (_dig(obj, "spec", "levels") or []) if isinstance(lv, dict)]
        labels = [lv.get(label_key) for lv in levels]
        dupes = sorted({str(x) for x in labels if labels.count(x) > 1})
        if dupes:
            yield "$.spec.levels", f"{label_key} must be unique (repeated: {', '.join(dupes)})"
        if HOSTNAME_LABEL in labels and labels[-1] != HOSTNAME_LABEL:
            yield "$.spec.levels", (f"{HOSTNAME_LABEL} must be the last (narrowest) level; got order "
                                    f"{[str(x) for x in labels]}")
    return check


def _keda_scaled_object(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    spec = obj.get("spec") or {}
    low, high = spec.get("minReplicaCount"), spec.get("maxReplicaCount", 100)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        yield "$.spec", f"minReplicaCount={low} must be <= maxReplicaCount={high}"


# (API group, kind) -> rules; the group is enough because each CRD states the same rule in every served version
_RULES: dict[tuple[str, str], tuple[Callable[[dict[str, Any]], Iterator[tuple[str, str]]], ...]] = {
    ("grove.io", "PodCliqueSet"): (_grove_pcs,),
    ("disaggregatedset.x-k8s.io", "DisaggregatedSet"): (_disaggregated_set,),
    ("kai.scheduler", "Topology"): (_topology_levels("nodeLabel"),),
    ("kueue.x-k8s.io", "Topology"): (_topology_levels("nodeLabel"),),
    ("grove.io", "ClusterTopologyBinding"): (_topology_levels("key"), _topology_levels("domain")),
    ("keda.sh", "ScaledObject"): (_keda_scaled_object,),
}
