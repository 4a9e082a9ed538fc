"""validate_objects against the upstream CRD schemas and kubernetes-validate: per CRD family, core kinds, CEL rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from disagg_pipelines.domain.errors import InvalidInput
from disagg_pipelines.render.validate import validate_objects

CONTAINER = {"name": "engine", "image": "vllm/vllm-openai:v0.11.0", "resources": {"limits": {"nvidia.com/gpu": 8}}}
POD_SPEC = {"containers": [CONTAINER]}


def _meta(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": "serving", "labels": {"app.kubernetes.io/name": name}}


def _lws_template(size: int = 2) -> dict[str, Any]:
    return {"size": size, "workerTemplate": {"metadata": {"labels": {"role": "decode"}}, "spec": POD_SPEC}}


def _with(obj: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _without(obj: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


# family -> (valid minimal object, path where an unknown field goes, (path, wrong-typed value), required path or None)
FAMILIES: dict[str, tuple[dict[str, Any], list[Any], tuple[list[Any], Any], list[Any] | None]] = {
    "lws": (
        {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "metadata": _meta("decode"),
         "spec": {"replicas": 2, "leaderWorkerTemplate": _lws_template()}},
        ["spec", "leaderWorkerTemplate"], (["spec", "leaderWorkerTemplate", "size"], "two"),
        ["spec", "leaderWorkerTemplate", "workerTemplate"]),
    "disaggregatedset": (
        {"apiVersion": "disaggregatedset.x-k8s.io/v1", "kind": "DisaggregatedSet", "metadata": _meta("llama"),
         "spec": {"roles": [
             {"name": "prefill", "spec": {"replicas": 2, "leaderWorkerTemplate": _lws_template(1)}},
             {"name": "decode", "spec": {"replicas": 1, "leaderWorkerTemplate": _lws_template(2)}}]}},
        ["spec", "roles", 0], (["spec", "roles", 0, "spec", "replicas"], "2"), ["spec", "roles", 1, "name"]),
    "grove-podcliqueset": (
        {"apiVersion": "grove.io/v1alpha1", "kind": "PodCliqueSet", "metadata": _meta("llama"),
         "spec": {"replicas": 1, "template": {
             "topologyConstraint": {"pack": {"required": "rack"}},
             "cliques": [{"name": "prefill", "spec": {"roleName": "prefill", "replicas": 2, "podSpec": POD_SPEC}}]}}},
        ["spec", "template", "cliques", 0, "spec"], (["spec", "template", "cliques", 0, "spec", "replicas"], [2]),
        ["spec", "template", "cliques", 0, "spec", "roleName"]),
    "kai-podgroup": (
        {"apiVersion": "scheduling.run.ai/v2alpha2", "kind": "PodGroup", "metadata": _meta("decode-0"),
         "spec": {"minMember": 2, "queue": "team-a", "subGroups": [{"name": "workers", "minMember": 2}]}},
        ["spec"], (["spec", "minMember"], "two"), ["spec", "subGroups", 0, "name"]),
    "kai-queue": (
        {"apiVersion": "scheduling.run.ai/v2", "kind": "Queue", "metadata": {"name": "team-a"},
         "spec": {"resources": {"gpu": {"quota": 16, "limit": -1, "overQuotaWeight": 1}}}},
        ["spec", "resources", "gpu"], (["spec", "resources", "gpu", "quota"], "sixteen"), None),
    "kai-topology": (
        {"apiVersion": "kai.scheduler/v1alpha1", "kind": "Topology", "metadata": {"name": "cluster"},
         "spec": {"levels": [{"nodeLabel": "nvidia.com/gpu.clique"}, {"nodeLabel": "kubernetes.io/hostname"}]}},
        ["spec", "levels", 0], (["spec", "levels"], {"nodeLabel": "x"}), ["spec", "levels"]),
    "volcano-podgroup": (
        {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup", "metadata": _meta("decode-0"),
         "spec": {"minMember": 4, "queue": "default", "networkTopology": {"mode": "hard", "highestTierAllowed": 1}}},
        ["spec", "networkTopology"], (["spec", "minMember"], "4"), None),
    "kueue-topology": (
        {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Topology", "metadata": {"name": "default"},
         "spec": {"levels": [{"nodeLabel": "cloud.provider.com/block"}, {"nodeLabel": "kubernetes.io/hostname"}]}},
        ["spec"], (["spec", "levels", 0, "nodeLabel"], 7), ["spec", "levels", 0, "nodeLabel"]),
    "kueue-localqueue": (
        {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": _meta("team-a"),
         "spec": {"clusterQueue": "cluster-queue"}},
        ["spec"], (["spec", "clusterQueue"], {"name": "cq"}), None),
    "keda-scaledobject": (
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": _meta("decode"),
         "spec": {"scaleTargetRef": {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
                                     "name": "decode"},
                  "minReplicaCount": 1, "maxReplicaCount": 4,
                  "triggers": [{"type": "prometheus", "metadata": {"serverAddress": "http://prometheus:9090",
                                                                   "query": "sum(vllm:num_requests_running)",
                                                                   "threshold": "64"}}]}},
        ["spec", "scaleTargetRef"], (["spec", "triggers", 0, "metadata", "threshold"], 64), ["spec", "scaleTargetRef"]),
}


def _path(parts: list[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_minimal_valid_object_is_accepted(family: str, crd_schemas: Any) -> None:
    valid = FAMILIES[family][0]
    assert validate_objects([valid], crd_schemas) == []


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_unknown_field_is_rejected(family: str, crd_schemas: Any) -> None:
    valid, where, _, _ = FAMILIES[family]
    problems = validate_objects([_with(valid, [*where, "bogusField"], 1)], crd_schemas)
    name = valid["metadata"]["name"]
    assert problems == [f"{valid['kind']}/{name}: {_path([*where, 'bogusField'])}: unknown field 'bogusField'"
                        + problems[0].split("'bogusField'", 1)[1]]
    assert "(allowed here: " in problems[0]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_wrong_type_is_rejected(family: str, crd_schemas: Any) -> None:
    valid, _, (where, value), _ = FAMILIES[family]
    problems = validate_objects([_with(valid, where, value)], crd_schemas)
    assert problems, f"{family}: {where}={value!r} was accepted"
    assert all(f": {_path(where)}: " in p for p in problems), problems


@pytest.mark.parametrize("family", sorted(f for f, v in FAMILIES.items() if v[3] is not None))
def test_missing_required_field_is_rejected(family: str, crd_schemas: Any) -> None:
    valid, _, _, required = FAMILIES[family]
    assert required is not None
    problems = validate_objects([_without(valid, required)], crd_schemas)
    assert any(f": {_path(required[:-1])}: '{required[-1]}' is a required property" in p for p in problems), problems


def test_root_metadata_is_checked_as_object_meta(crd_schemas: Any) -> None:
    lws = FAMILIES["lws"][0]
    assert validate_objects([_with(lws, ["metadata", "lables"], {"a": "b"})], crd_schemas)[0].startswith(
        "LeaderWorkerSet/decode: $.metadata.lables: unknown field 'lables'")
    assert validate_objects([_with(lws, ["metadata", "labels"], {"a": 1})], crd_schemas) == [
        "LeaderWorkerSet/decode: $.metadata.labels.a: 1 is not of type 'string', 'null'"]


def test_int_or_string_quantities_accept_both_and_reject_others(crd_schemas: Any) -> None:
    lws = FAMILIES["lws"][0]
    limits = ["spec", "leaderWorkerTemplate", "workerTemplate", "spec", "containers", 0, "resources", "limits"]
    assert validate_objects([_with(lws, limits, {"nvidia.com/gpu": "8", "memory": "512Gi"})], crd_schemas) == []
    problems = validate_objects([_with(lws, [*limits, "memory"], ["512Gi"])], crd_schemas)
    assert len(problems) == 1 and f"{_path([*limits, 'memory'])}: " in problems[0]


def test_duplicate_list_map_keys_are_rejected(crd_schemas: Any) -> None:
    lws = FAMILIES["lws"][0]
    env = ["spec", "leaderWorkerTemplate", "workerTemplate", "spec", "containers", 0, "env"]
    problems = validate_objects([_with(lws, env, [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}])],
                                crd_schemas)
    assert problems == [f"LeaderWorkerSet/decode: {_path(env)}: duplicate entry name='A' (items 0 and 1); "
                        f"list keys must be unique"]


def test_kind_without_schema_is_a_problem(crd_schemas: Any) -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validate_objects([obj], crd_schemas) == [
        "Widget/w: $: no schema for example.com/v1/Widget; give --schemas DIR or validate against the cluster"]


# ---- core kinds, strict ---------------------------------------------------------------------------------------------

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("router"),
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "router"}},
                       "template": {"metadata": {"labels": {"app": "router"}}, "spec": POD_SPEC}}}
CORE_OBJECTS = [
    DEPLOYMENT,
    {"apiVersion": "v1", "kind": "Service", "metadata": _meta("router"),
     "spec": {"selector": {"app": "router"}, "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("plan"), "data": {"plan.json": "{}"}},
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("llama")},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta("decode"),
     "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"role": "decode"}}}},
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta("decode"),
     "spec": {"scaleTargetRef": {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
                                 "name": "decode"}, "minReplicas": 1, "maxReplicas": 4,
              "metrics": [{"type": "Pods", "pods": {"metric": {"name": "vllm_num_requests_running"},
                                                    "target": {"type": "AverageValue", "averageValue": "64"}}}]}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta("router"),
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta("router"),
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "router"},
     "subjects": [{"kind": "ServiceAccount", "name": "llama", "namespace": "serving"}]},
]


def test_core_kinds_valid_minimal_objects_are_accepted(crd_schemas: Any) -> None:
    assert validate_objects(CORE_OBJECTS, crd_schemas) == []


def test_core_kinds_need_no_crd_schemas() -> None:
    from disagg_pipelines.render.schemas import SchemaSet

    assert validate_objects(CORE_OBJECTS, SchemaSet({}, {})) == []


@pytest.mark.parametrize("path", [["spec", "bogus"], ["spec", "template", "spec", "containers", 0, "imagePullPolice"]])
def test_core_kind_unknown_field_is_rejected(path: list[Any], crd_schemas: Any) -> None:
    problems = validate_objects([_with(DEPLOYMENT, path, "x")], crd_schemas)
    assert len(problems) == 1 and problems[0].startswith(f"Deployment/router: {_path(path)}: unknown field "), problems


def test_core_kind_wrong_type_and_missing_required(crd_schemas: Any) -> None:
    assert validate_objects([_with(DEPLOYMENT, ["spec", "replicas"], "one")], crd_schemas) == [
        "Deployment/router: $.spec.replicas: 'one' is not of type 'integer', 'null'"]
    problems = validate_objects([_without(DEPLOYMENT, ["spec", "selector"])], crd_schemas)
    assert problems == ["Deployment/router: $.spec: 'selector' is a required property"]


def test_object_names_and_labels_follow_api_server_syntax(crd_schemas: Any) -> None:
    service = _with(CORE_OBJECTS[1], ["metadata", "name"], "9router")
    bad_label = _with(DEPLOYMENT, ["metadata", "labels"], {"app": "x" * 64})
    unnamed = _without(CORE_OBJECTS[2], ["metadata", "name"])
    problems = validate_objects([service, bad_label, unnamed], crd_schemas)
    assert problems[0].startswith("Service/9router: $.metadata.name: '9router' must be a DNS-1035 label")
    assert problems[1].startswith("Deployment/router: $.metadata.labels.app: label value 'xxx")
    assert problems[2] == "ConfigMap/#2: $.metadata.name: is required (rendered objects are applied by name)"
    assert len(problems) == 3


@pytest.mark.parametrize("version", ["1.29", "one", "9.99"])
def test_unsupported_kubernetes_version_is_a_user_error(version: str, crd_schemas: Any) -> None:
    with pytest.raises(InvalidInput, match=repr(version)):
        validate_objects([DEPLOYMENT], crd_schemas, k8s_version=version)


def test_newer_shipped_kubernetes_version_is_accepted(crd_schemas: Any) -> None:
    assert validate_objects([DEPLOYMENT], crd_schemas, k8s_version="1.33") == []


# ---- CEL rules re-checked in code -----------------------------------------------------------------------------------

PCS = FAMILIES["grove-podcliqueset"][0]


@pytest.mark.parametrize("where", [
    ["spec", "template", "topologyConstraint"],
    ["spec", "template", "cliques", 0, "topologyConstraint"],
])
def test_grove_pack_domain_is_rejected(where: list[Any], crd_schemas: Any) -> None:
    problems = validate_objects([_with(PCS, where, {"packDomain": "rack"})], crd_schemas)
    assert problems == [f"PodCliqueSet/llama: {_path([*where, 'packDomain'])}: packDomain='rack' is deprecated and "
                        f"rejected on new workloads; use pack.required='rack'"]


def test_grove_pack_domain_in_scaling_group_is_rejected(crd_schemas: Any) -> None:
    pcs = _with(PCS, ["spec", "template", "podCliqueScalingGroups"],
                [{"name": "decode", "cliqueNames": ["prefill"], "topologyConstraint": {"packDomain": "rack"}}])
    problems = validate_objects([pcs], crd_schemas)
    assert len(problems) == 1 and "podCliqueScalingGroups[0].topologyConstraint.packDomain: packDomain=" in problems[0]


def test_grove_pack_needs_required_or_preferred(crd_schemas: Any) -> None:
    where = ["spec", "template", "topologyConstraint"]
    assert validate_objects([_with(PCS, where, {"pack": {}})], crd_schemas) == [
        "PodCliqueSet/llama: $.spec.template.topologyConstraint.pack: pack must specify at least one of required or "
        "preferred"]
    assert validate_objects([_with(PCS, where, {"topologyName": "cluster"})], crd_schemas) == [
        "PodCliqueSet/llama: $.spec.template.topologyConstraint: topologyConstraint must specify pack "
        "(pack.required or pack.preferred)"]
    assert validate_objects([_with(PCS, where, {"pack": {"preferred": "host"}})], crd_schemas) == []


DSET = FAMILIES["disaggregatedset"][0]


def test_disaggregated_set_mixed_replicas_are_rejected(crd_schemas: Any) -> None:
    mixed = _without(DSET, ["spec", "roles", 1, "spec", "replicas"])
    assert validate_objects([mixed], crd_schemas) == [
        "DisaggregatedSet/llama: $.spec: replicas must be zero for all non-External roles or non-zero for all of "
        "them (got prefill=2, decode=None); set replicas on every role"]
    zero = _with(DSET, ["spec", "roles", 1, "spec", "replicas"], 0)
    assert len(validate_objects([zero], crd_schemas)) == 1


def test_disaggregated_set_all_or_none_replicas_are_accepted(crd_schemas: Any) -> None:
    none_set = _without(_without(DSET, ["spec", "roles", 0, "spec", "replicas"]), ["spec", "roles", 1, "spec", "replicas"])
    external = _with(_without(DSET, ["spec", "roles", 1, "spec", "replicas"]), ["spec", "roles", 1, "scaling"],
                     {"mode": "External"})
    assert validate_objects([DSET, none_set, external], crd_schemas) == []


TOPOLOGIES = {
    "kai": (FAMILIES["kai-topology"][0], "nodeLabel"),
    "kueue": (FAMILIES["kueue-topology"][0], "nodeLabel"),
    "grove": ({"apiVersion": "grove.io/v1alpha1", "kind": "ClusterTopologyBinding", "metadata": {"name": "cluster"},
               "spec": {"levels": [{"domain": "rack", "key": "nvidia.com/gpu.clique"},
                                   {"domain": "host", "key": "kubernetes.io/hostname"}]}}, "key"),
}


@pytest.mark.parametrize("backend", sorted(TOPOLOGIES))
def test_hostname_must_be_the_last_topology_level(backend: str, crd_schemas: Any) -> None:
    valid, key = TOPOLOGIES[backend]
    assert validate_objects([valid], crd_schemas) == []
    levels = valid["spec"]["levels"]
    swapped = _with(valid, ["spec", "levels"], [copy.deepcopy(levels[1]), copy.deepcopy(levels[0])])
    problems = validate_objects([swapped], crd_schemas)
    order = ["kubernetes.io/hostname", levels[0][key]]
    assert problems == [f"{valid['kind']}/{valid['metadata']['name']}: $.spec.levels: kubernetes.io/hostname must "
                        f"be the last (narrowest) level; got order {order}"]


@pytest.mark.parametrize("backend", sorted(TOPOLOGIES))
def test_topology_level_labels_must_be_unique(backend: str, crd_schemas: Any) -> None:
    valid, key = TOPOLOGIES[backend]
    levels = valid["spec"]["levels"]
    repeated = _with(valid, ["spec", "levels"], [copy.deepcopy(levels[0]), copy.deepcopy(levels[0])])
    problems = validate_objects([repeated], crd_schemas)
    assert any(f"$.spec.levels: {key} must be unique (repeated: " in p for p in problems), problems


def test_keda_min_replicas_above_max_is_rejected(crd_schemas: Any) -> None:
    scaled = _with(FAMILIES["keda-scaledobject"][0], ["spec", "minReplicaCount"], 8)
    assert validate_objects([scaled], crd_schemas) == [
        "ScaledObject/decode: $.spec: minReplicaCount=8 must be <= maxReplicaCount=4"]


# ---- `disagg validate DIR` ------------------------------------------------------------------------------------------

def _write(folder: Any, name: str, docs: list[Any]) -> None:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump_all(docs))


def _invoke(args: list[str]) -> Any:
    from click.testing import CliRunner

    from disagg_pipelines.cli import cli

    return CliRunner().invoke(cli, ["validate", *args])


def test_cli_valid_folder_exits_0(tmp_path: Any, schemas_dir: Any) -> None:
    _write(tmp_path / "out", "core.yaml", CORE_OBJECTS)                 # multi-document file
    _write(tmp_path / "out" / "crds", "lws.yaml", [FAMILIES["lws"][0]])  # nested folder
    _write(tmp_path / "out", "index.yaml", [{"bundle": "llama", "files": ["core.yaml"]}])
    result = _invoke([str(tmp_path / "out"), "--schemas", str(schemas_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{len(CORE_OBJECTS) + 1} objects valid"


def test_cli_problems_exit_2_one_line_each_plus_summary(tmp_path: Any, schemas_dir: Any) -> None:
    _write(tmp_path, "bundle.yaml", [_with(DEPLOYMENT, ["spec", "bogus"], 1), PCS,
                                     _with(PCS, ["spec", "template", "topologyConstraint"], {"packDomain": "rack"})])
    result = _invoke([str(tmp_path), "--schemas", str(schemas_dir)])
    assert result.exit_code == 2
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("Deployment/router: $.spec.bogus: unknown field 'bogus'")
    assert lines[1].startswith("PodCliqueSet/llama: $.spec.template.topologyConstraint.packDomain: ")
    assert lines[2] == "2 problems in 2 of 3 objects"


def test_cli_without_schema_for_a_crd_exits_2(tmp_path: Any) -> None:
    _write(tmp_path / "out", "lws.yaml", [FAMILIES["lws"][0]])
    _write(tmp_path / "schemas", "unrelated.yaml", [{"kind": "CustomResourceDefinition", "spec": {
        "group": "example.com", "names": {"kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "schema": {"openAPIV3Schema": {"type": "object"}}}]}}])
    result = _invoke([str(tmp_path / "out"), "--schemas", str(tmp_path / "schemas")])
    assert result.exit_code == 2
    assert "LeaderWorkerSet/decode: $: no schema for leaderworkerset.x-k8s.io/v1/LeaderWorkerSet;" in result.stdout


@pytest.mark.parametrize("setup", ["missing", "empty", "broken-yaml"])
def test_cli_missing_or_unreadable_dir_exits_2(setup: str, tmp_path: Any, schemas_dir: Any) -> None:
    folder = tmp_path / "out"
    if setup != "missing":
        folder.mkdir()
    if setup == "broken-yaml":
        (folder / "bad.yaml").write_text("kind: [unclosed\n")
    result = _invoke([str(folder), "--schemas", str(schemas_dir)])
    assert result.exit_code == 2
    assert str(folder) in result.output


def test_cli_schemas_and_from_cluster_conflict(tmp_path: Any, schemas_dir: Any) -> None:
    _write(tmp_path, "a.yaml", [DEPLOYMENT])
    result = _invoke([str(tmp_path), "--schemas", str(schemas_dir), "--from-cluster"])
    assert result.exit_code == 2
    assert "either --schemas DIR or --from-cluster" in result.output


def test_cli_bad_k8s_version_is_one_line_exit_2(tmp_path: Any, schemas_dir: Any, capsys: Any) -> None:
    from disagg_pipelines.cli import main

    _write(tmp_path, "a.yaml", [DEPLOYMENT])
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(tmp_path), "--schemas", str(schemas_dir), "--k8s-version", "1.20"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: Kubernetes version '1.20' is older than the supported 1.31; give 1.31 or newer")


# ---- every golden file the renderers produce validates strictly -----------------------------------------------------

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
GOLDENS = sorted(REPO.glob("examples/*/expected/*.yaml"))


@pytest.mark.parametrize("golden", GOLDENS or [None], ids=lambda p: "no-goldens" if p is None else
                         f"{p.parent.parent.name}/{p.name}")
def test_golden_file_validates(golden: Any, crd_schemas: Any) -> None:
    import yaml

    if golden is None:
        pytest.skip("no examples/*/expected/*.yaml golden files exist yet; nothing to validate")
    docs = [d for d in yaml.safe_load_all(golden.read_text()) if d is not None and ("kind" in d or "apiVersion" in d)]
    assert docs, f"{golden} holds no Kubernetes objects"
    assert validate_objects(docs, crd_schemas) == []
