"""Loading CRD schemas (extracted files, CRD manifests, a cluster) and compiling them with API-server strictness."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from disagg_pipelines.domain.errors import InvalidInput, SchemaNotFound
from disagg_pipelines.render import schemas
from disagg_pipelines.render.validate import validate_objects

LWS = ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
FAMILY_KINDS = [
    LWS, ("disaggregatedset.x-k8s.io/v1", "DisaggregatedSet"), ("grove.io/v1alpha1", "PodCliqueSet"),
    ("grove.io/v1alpha1", "ClusterTopologyBinding"), ("scheduling.run.ai/v2alpha2", "PodGroup"),
    ("scheduling.run.ai/v2", "Queue"), ("kai.scheduler/v1alpha1", "Topology"),
    ("scheduling.volcano.sh/v1beta1", "PodGroup"), ("kueue.x-k8s.io/v1beta2", "Topology"),
    ("kueue.x-k8s.io/v1beta2", "LocalQueue"), ("keda.sh/v1alpha1", "ScaledObject"),
]


def _crd_manifest(schema: dict[str, Any], *, served: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "leaderworkersets.leaderworkerset.x-k8s.io"},
        "spec": {"group": "leaderworkerset.x-k8s.io", "scope": "Namespaced",
                 "names": {"kind": "LeaderWorkerSet", "plural": "leaderworkersets", "listKind": "LeaderWorkerSetList",
                           "singular": "leaderworkerset"},
                 "versions": [{"name": "v1", "served": served, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}]},
    }


LWS_OBJECT = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "metadata": {"name": "decode"},
              "spec": {"leaderWorkerTemplate": {"size": 2, "workerTemplate": {
                  "spec": {"containers": [{"name": "engine", "image": "vllm/vllm-openai:v0.11.0"}]}}}}}


def test_extracted_folder_holds_every_family(crd_schemas: schemas.SchemaSet) -> None:
    missing = [gvk for gvk in FAMILY_KINDS if gvk not in crd_schemas]
    assert not missing
    assert crd_schemas.source(*LWS).endswith("leaderworkerset.x-k8s.io_v1_LeaderWorkerSet.json")


def test_folder_of_crd_manifests(crd_dir: Path, tmp_path: Path) -> None:
    schema = json.loads((crd_dir / "leaderworkerset.x-k8s.io_v1_LeaderWorkerSet.json").read_text())
    (tmp_path / "lws.yaml").write_text(yaml.dump_all([{"apiVersion": "v1", "kind": "Namespace"},
                                                      _crd_manifest(schema)], Dumper=yaml.CSafeDumper))
    loaded = schemas.load_crd_schemas(tmp_path)
    assert loaded.kinds() == [LWS]
    assert validate_objects([LWS_OBJECT], loaded) == []
    bad = json.loads(json.dumps(LWS_OBJECT))
    bad["spec"]["leaderWorkerTemplate"]["sise"] = 2
    assert validate_objects([bad], loaded)[0].startswith(
        "LeaderWorkerSet/decode: $.spec.leaderWorkerTemplate.sise: unknown field 'sise'")


def test_unserved_crd_versions_are_left_out(crd_dir: Path, tmp_path: Path) -> None:
    schema = json.loads((crd_dir / "leaderworkerset.x-k8s.io_v1_LeaderWorkerSet.json").read_text())
    (tmp_path / "lws.json").write_text(json.dumps(_crd_manifest(schema, served=False)))
    with pytest.raises(SchemaNotFound, match="no CRD schemas under"):
        schemas.load_crd_schemas(tmp_path)


def test_missing_or_empty_schema_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaNotFound, match="does not exist"):
        schemas.load_crd_schemas(tmp_path / "nope")
    (tmp_path / "notes.yaml").write_text("a: 1\n")
    with pytest.raises(SchemaNotFound, match=str(tmp_path)):
        schemas.load_crd_schemas(tmp_path)


def test_unreadable_schema_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="broken.json"):
        schemas.load_crd_schemas(tmp_path)


def test_default_schemas_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(schemas.SCHEMAS_DIR_ENV, str(tmp_path))
    assert schemas.default_schemas_dir() == tmp_path
    monkeypatch.delenv(schemas.SCHEMAS_DIR_ENV)
    found = schemas.default_schemas_dir()
    assert found is None or found.name == "schemas"


# ---- compiling: structural-schema rules, on small hand-written schemas ----------------------------------------------

def _one_kind(schema: dict[str, Any]) -> schemas.SchemaSet:
    return schemas.SchemaSet({("example.com/v1", "Thing"): schema}, {})


def _check(schema: dict[str, Any], spec: Any) -> list[str]:
    obj = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": spec}
    return validate_objects([obj], _one_kind({"type": "object", "properties": {"spec": schema}}))


def test_object_without_properties_is_closed_like_api_server_pruning() -> None:
    assert _check({"type": "object"}, {}) == []
    assert _check({"type": "object"}, {"a": 1})[0].startswith("Thing/t: $.spec.a: unknown field 'a'")


def test_preserve_unknown_fields_keeps_unknown_but_checks_known() -> None:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"n": {"type": "integer"}}}
    assert _check(schema, {"anything": {"x": 1}, "n": 3}) == []
    assert _check(schema, {"n": "3"}) == ["Thing/t: $.spec.n: '3' is not of type 'integer'"]


def test_int_or_string_without_any_of() -> None:
    schema = {"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": True}}}
    assert _check(schema, {"port": 80}) == _check(schema, {"port": "http"}) == []
    assert len(_check(schema, {"port": 1.5})) == 1


def test_nullable() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "nullable": True}, "b": {"type": "string"}}}
    assert _check(schema, {"a": None}) == []
    assert _check(schema, {"b": None}) == ["Thing/t: $.spec.b: None is not of type 'string'"]


def test_embedded_resource_needs_type_meta_and_object_meta() -> None:
    schema = {"type": "object", "properties": {"inner": {"type": "object", "x-kubernetes-embedded-resource": True,
                                                         "x-kubernetes-preserve-unknown-fields": True}}}
    assert _check(schema, {"inner": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}}) == []
    problems = _check(schema, {"inner": {"metadata": {"nam": "c"}}})
    assert "Thing/t: $.spec.inner: 'apiVersion' is a required property" in problems
    assert any(p.startswith("Thing/t: $.spec.inner.metadata.nam: unknown field 'nam'") for p in problems)


def test_list_type_set_must_be_unique() -> None:
    schema = {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
    assert _check(schema, ["a", "b"]) == []
    assert _check(schema, ["a", "a"]) == ["Thing/t: $.spec: ['a', 'a'] has non-unique elements"]


def test_k8s_version_picks_closest_shipped_at_or_above() -> None:
    assert schemas.pick_k8s_version("1.31") == "v1.31.0-local-strict"
    assert schemas.pick_k8s_version("v1.32.4") == "v1.32.0-local-strict"


# ---- from a cluster: the real kubernetes client against a loopback API server that serves one CRD ------------------

@pytest.fixture()
def fake_api_server(crd_dir: Path) -> Iterator[str]:
    schema = json.loads((crd_dir / "leaderworkerset.x-k8s.io_v1_LeaderWorkerSet.json").read_text())
    body = json.dumps({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinitionList",
                       "metadata": {}, "items": [_crd_manifest(schema)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            ok = self.path.split("?")[0] == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if ok else b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_crd_schemas_from_cluster(fake_api_server: str, crd_dir: Path) -> None:
    from kubernetes import client

    config = client.Configuration(host=fake_api_server)
    with client.ApiClient(config) as api_client:
        loaded = schemas.crd_schemas_from_cluster(api_client)
    assert loaded.kinds() == [LWS]
    upstream = json.loads((crd_dir / "leaderworkerset.x-k8s.io_v1_LeaderWorkerSet.json").read_text())
    assert loaded.schema(*LWS) == upstream  # the client's model round-trips every x-kubernetes-* key
    assert validate_objects([LWS_OBJECT], loaded) == []
    bad = json.loads(json.dumps(LWS_OBJECT))
    bad["spec"]["leaderWorkerTemplate"]["size"] = "2"
    assert validate_objects([bad], loaded) == [
        "LeaderWorkerSet/decode: $.spec.leaderWorkerTemplate.size: '2' is not of type 'integer'"]
