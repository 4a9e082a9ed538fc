"""Focused facts about render() and the `disagg render` command, beside the goldens."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from disagg_pipelines import render
from disagg_pipelines.domain.bundle import Target, TopologyLevel
from disagg_pipelines.domain.errors import UnsupportedTarget
from disagg_pipelines.domain.plan import Plan
from disagg_pipelines.render import emit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
P70 = Plan.model_validate_json((EXAMPLES / "llama-70b-h100-disagg" / "plan.json").read_text())
P405 = Plan.model_validate_json((EXAMPLES / "llama-405b-h100-multinode" / "plan.json").read_text())
ENGINES = ("vllm", "sglang", "trtllm")


def all_targets(plan: Plan):
    multi = any(r.nodes_per_replica > 1 for r in plan.roles)
    for workload, scheds in render.SCHEDULERS_BY_WORKLOAD.items():
        if workload == "deployment" and multi:
            continue
        for sched, engine, scale in itertools.product(scheds, ENGINES, (False, True)):
            if workload in ("disaggregatedset", "dynamo") and scale:
                continue
            yield Target(workload=workload, scheduler=sched, engine=engine, autoscale=scale)


def of_kind(bundle, kind):
    return [o for o in bundle.objects if o["kind"] == kind]


def pod_specs(obj):
    """(pod spec, count at rendered replicas) for every pod template in a workload object."""
    def lws(spec, mult):
        t = spec["leaderWorkerTemplate"]
        leader = t.get("leaderTemplate", t["workerTemplate"])["spec"]
        return [(leader, mult * spec["replicas"]), (t["workerTemplate"]["spec"], mult * spec["replicas"] * (t["size"] - 1))]
    k = obj["kind"]
    if k == "LeaderWorkerSet":
        return lws(obj["spec"], 1)
    if k == "DisaggregatedSet":
        return [p for r in obj["spec"]["roles"] for p in lws(r["spec"], obj["spec"]["slices"])]
    if k == "Deployment":
        return [(obj["spec"]["template"]["spec"], obj["spec"]["replicas"])]
    if k == "DynamoGraphDeployment":
        return [(c["podTemplate"]["spec"], c["replicas"] * c.get("multinode", {}).get("nodeCount", 1))
                for c in obj["spec"]["components"]]
    if k == "PodCliqueSet":
        tpl = obj["spec"]["template"]
        grp = {c: g["replicas"] for g in tpl.get("podCliqueScalingGroups", []) for c in g["cliqueNames"]}
        return [(c["spec"]["podSpec"], obj["spec"]["replicas"] * grp.get(c["name"], 1) * c["spec"]["replicas"])
                for c in tpl["cliques"]]
    return []


@pytest.mark.parametrize("plan", [P70, P405], ids=["70b", "405b"])
def test_gpu_totals_equal_the_plan_for_every_combination(plan: Plan) -> None:
    for target in all_targets(plan):
        b = render.render(plan, target)
        gpus = sum(int(c["resources"]["limits"].get("nvidia.com/gpu", 0)) * n
                   for o in b.objects for spec, n in pod_specs(o) for c in spec["containers"])
        assert gpus == plan.total_gpus == b.total_gpus, target


def test_every_object_validates_strictly() -> None:
    from disagg_pipelines.render import validate
    from disagg_pipelines.render.schemas import default_schemas_dir

    folder = default_schemas_dir()
    if folder is None or not (folder / "crds").is_dir():
        pytest.skip("no CRD schemas: set DISAGG_SCHEMAS_DIR to a folder holding crds/")
    schemas = validate.load_crd_schemas(folder / "crds")
    for plan in (P70, P405):
        for target in all_targets(plan):
            assert validate.validate_objects(list(render.render(plan, target).objects), schemas) == [], target


def test_lws_size_is_pods_per_instance_and_multi_node_has_a_leader_template() -> None:
    for plan in (P70, P405):
        b = render.render(plan, Target(workload="lws", engine="vllm"))
        for lws, role in zip(of_kind(b, "LeaderWorkerSet"), plan.roles):
            t = lws["spec"]["leaderWorkerTemplate"]
            r = plan.role(lws["metadata"]["labels"]["app.kubernetes.io/component"])
            assert t["size"] == r.nodes_per_replica and lws["spec"]["replicas"] == r.replicas
            assert ("leaderTemplate" in t) == (r.nodes_per_replica > 1)
            assert t["restartPolicy"] == "RecreateGroupOnPodRestart"
            assert lws["spec"]["rolloutStrategy"]["type"] == "RollingUpdate"


def test_pod_group_min_member_is_the_gang_size() -> None:
    b = render.render(P70, Target(workload="deployment", scheduler="volcano", engine="sglang"))
    groups = {g["metadata"]["name"]: g for g in of_kind(b, "PodGroup")}
    for dep in of_kind(b, "Deployment")[:2]:
        ann = dep["spec"]["template"]["metadata"]["annotations"]["scheduling.k8s.io/group-name"]
        assert groups[ann]["spec"]["minMember"] == dep["spec"]["replicas"]
        assert dep["spec"]["template"]["spec"]["schedulerName"] == "volcano"
    b = render.render(P405, Target(workload="disaggregatedset", scheduler="kai", engine="vllm"))
    (pg,) = of_kind(b, "PodGroup")
    assert pg["spec"]["minMember"] == sum(r.replicas * r.nodes_per_replica for r in P405.roles) == 8
    assert {s["name"]: s["minMember"] for s in pg["spec"]["subGroups"]} == {"prefill": 4, "decode": 4}


def test_topology_keys_are_set_per_backend() -> None:
    b = render.render(P405, Target(workload="lws", scheduler="kueue", engine="sglang"))
    for lws in of_kind(b, "LeaderWorkerSet"):
        t = lws["spec"]["leaderWorkerTemplate"]
        for part in ("leaderTemplate", "workerTemplate"):
            ann = t[part]["metadata"]["annotations"]
            assert ann["kueue.x-k8s.io/podset-required-topology"] == "topology.kubernetes.io/zone"
            assert ann["kueue.x-k8s.io/podset-group-name"].endswith("-instance")
        assert lws["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "default"
    b = render.render(P405, Target(workload="lws", scheduler="kai", engine="vllm"))
    (topo,) = of_kind(b, "Topology")
    for lws in of_kind(b, "LeaderWorkerSet"):
        assert lws["metadata"]["annotations"]["kai.scheduler/topology"] == topo["metadata"]["name"]
        assert lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["schedulerName"] == "kai-scheduler"
    b = render.render(P405, Target(workload="grove", scheduler="kai", engine="trtllm"))
    (ctb,) = of_kind(b, "ClusterTopologyBinding")
    (pcs,) = of_kind(b, "PodCliqueSet")
    domains = [lv["domain"] for lv in ctb["spec"]["levels"]]
    assert pcs["spec"]["template"]["topologyConstraint"]["topologyName"] == ctb["metadata"]["name"]
    for g in pcs["spec"]["template"]["podCliqueScalingGroups"]:
        assert g["topologyConstraint"]["pack"]["required"] in domains
    assert "packDomain" not in json.dumps(pcs)


def test_custom_topology_sets_lws_exclusive_placement() -> None:
    levels = (TopologyLevel(name="zone", node_label="topology.kubernetes.io/zone"),
              TopologyLevel(name="rack", node_label="example.com/rack"),
              TopologyLevel(name="host", node_label="kubernetes.io/hostname"))
    b = render.render(P405, Target(workload="lws", engine="vllm", topology=levels))
    for lws in of_kind(b, "LeaderWorkerSet"):
        assert lws["metadata"]["annotations"]["leaderworkerset.sigs.k8s.io/exclusive-topology"] == "example.com/rack"


def test_hpa_targets_the_scale_subresource_of_each_role() -> None:
    b = render.render(P70, Target(workload="lws", engine="vllm", autoscale=True))
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(b, "HorizontalPodAutoscaler")}
    for lws in of_kind(b, "LeaderWorkerSet"):
        ref = hpas[lws["metadata"]["name"]]["spec"]["scaleTargetRef"]
        assert (ref["apiVersion"], ref["kind"]) == ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
    prefill = hpas[f"{b.name}-prefill"]["spec"]
    assert prefill["metrics"][0]["pods"]["metric"]["name"] == "vllm_prompt_tokens_per_second"
    pre = P70.role("prefill")
    assert prefill["minReplicas"] == max(1, -(-pre.replicas // 2))
    assert prefill["maxReplicas"] == pre.replicas + P70.leftover_gpus // pre.gpus_per_replica  # never past the budget
    assert pre.gpus * prefill["maxReplicas"] // pre.replicas + P70.role("decode").gpus <= P70.gpu_budget
    b = render.render(P70, Target(workload="deployment", engine="sglang", autoscale=True))
    assert {h["spec"]["scaleTargetRef"]["kind"] for h in of_kind(b, "HorizontalPodAutoscaler")} == {"Deployment"}
    b = render.render(P405, Target(workload="grove", engine="vllm", autoscale=True))
    (pcs,) = of_kind(b, "PodCliqueSet")
    assert all("scaleConfig" in g for g in pcs["spec"]["template"]["podCliqueScalingGroups"])


def test_secrets_only_by_reference_and_names_from_the_plan_hash() -> None:
    a = render.render(P70, Target(workload="lws", engine="trtllm"))
    b = render.render(P70, Target(workload="lws", engine="trtllm"))
    assert a.objects == b.objects and a.plan_hash in json.dumps(a.objects[0])
    assert a.name.endswith(a.plan_hash[:6])
    assert not of_kind(a, "Secret")
    envs = [e for o in a.objects for spec, _ in pod_specs(o) for c in spec["containers"] for e in c.get("env", [])]
    tokens = [e for e in envs if e["name"] == "HF_TOKEN"]
    assert tokens and all("value" not in e and e["valueFrom"]["secretKeyRef"]["name"] == "hf-token" for e in tokens)
    other = P70.model_copy(update={"leftover_gpus": 1})
    assert render.render(other, Target(workload="lws", engine="trtllm")).name != a.name


def test_shared_objects_labels_and_annotations() -> None:
    b = render.render(P70, Target(workload="grove", scheduler="kai", engine="sglang"))
    for o in b.objects:
        assert o["metadata"]["annotations"]["disagg-pipelines.io/plan-hash"] == b.plan_hash
        assert o["metadata"]["labels"]["app.kubernetes.io/part-of"] == "disagg-pipelines"
    pdbs = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] for p in of_kind(b, "PodDisruptionBudget")}
    assert pdbs == {"prefill", "decode", "router"}
    assert of_kind(b, "ServiceAccount")
    cm = next(c for c in of_kind(b, "ConfigMap") if c["metadata"]["name"].endswith("-plan"))
    assert Plan.model_validate_json(cm["data"]["plan.json"]) == P70


@pytest.mark.parametrize("workload,scheduler,words", [
    ("deployment", "default", "nodes_per_replica=2"), ("grove", "volcano", "use --scheduler default or kai"),
    ("disaggregatedset", "kueue", "--workload lws")])
def test_impossible_combinations_raise_with_the_fix(workload: str, scheduler: str, words: str) -> None:
    with pytest.raises(UnsupportedTarget, match=words.replace("-", "\\-")):
        render.render(P405, Target(workload=workload, scheduler=scheduler, engine="vllm"))


def run_cli(*args: str):
    from disagg_pipelines.cli import cli

    return CliRunner().invoke(cli, ["render", *args], standalone_mode=False, catch_exceptions=True)


def test_cli_writes_bundle_and_index(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_cli("--plan", str(EXAMPLES / "llama-70b-h100-disagg" / "plan.json"), "--workload", "lws",
                  "--scheduler", "kai", "--engine", "vllm", "--out", str(out), "--namespace", "serving")
    assert res.exception is None, res.output
    index = yaml.safe_load((out / "index.yaml").read_text())
    assert index["total_gpus"] == P70.total_gpus and len(index["files"]) == len(list(out.glob("0*.yaml"))) + len(
        list(out.glob("1*.yaml")))
    docs = [yaml.safe_load((out / f).read_text()) for f in index["files"]]
    assert all(d["metadata"].get("namespace", "serving") == "serving" for d in docs)


@pytest.mark.parametrize("args,words", [
    (["--plan", "/no/such/plan.json", "--workload", "lws"], "cannot read plan"),
    (["--plan", str(EXAMPLES / "llama-405b-h100-multinode" / "plan.json"), "--workload", "deployment"],
     "use --workload lws")])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], words: str) -> None:
    import subprocess
    import sys

    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "disagg_pipelines", "render", *args, "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(EXAMPLES.parent), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and words in proc.stderr and sum(line.startswith("error:") for line in proc.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_write_bundle_leaves_nothing_half_written(tmp_path: Path) -> None:
    good = render.render(P70, Target(workload="lws", engine="vllm"))
    out = tmp_path / "out"
    emit.write_bundle(good, out)
    before = sorted(p.name for p in out.iterdir())
    bad = good.model_copy(update={"objects": good.objects + ({"kind": "X", "metadata": {"name": "x"},
                                                               "spec": object()},)})
    with pytest.raises(yaml.representer.RepresenterError):
        emit.write_bundle(bad, out)
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_yaml_quotes_boolean_like_strings() -> None:
    assert yaml.safe_load(emit.to_yaml({"v": "on", "w": "no"})) == {"v": "on", "w": "no"}
    assert "'on'" in emit.to_yaml({"v": "on"})


# ---- dynamo: one DynamoGraphDeployment ------------------------------------------------------------------------
@pytest.mark.parametrize("plan", [P70, P405], ids=["70b", "405b"])
@pytest.mark.parametrize("engine", ENGINES)
def test_dynamo_graph_has_frontend_and_role_workers_with_the_plans_gpus(plan: Plan, engine: str) -> None:
    b = render.render(plan, Target(workload="dynamo", engine=engine))
    (dgd,) = of_kind(b, "DynamoGraphDeployment")
    assert dgd["apiVersion"] == "nvidia.com/v1beta1"
    comps = {c["name"]: c for c in dgd["spec"]["components"]}
    assert set(comps) == {"frontend"} | {r.role for r in plan.roles}
    for r in plan.roles:
        c = comps[r.role]
        (main,) = c["podTemplate"]["spec"]["containers"]
        assert main["name"] == "main" and main["command"] == ["python3", "-m", f"dynamo.{engine}"]
        assert c["type"] == {"prefill": "prefill", "decode": "decode", "aggregated": "worker"}[r.role]
        assert c["replicas"] == r.replicas
        assert c.get("multinode", {}).get("nodeCount", 1) == r.nodes_per_replica
        assert int(main["resources"]["limits"]["nvidia.com/gpu"]) * r.nodes_per_replica == r.gpus_per_replica
        args = main["args"]
        assert args[args.index("--disaggregation-mode") + 1] == r.role
    gpus = sum(int(c["resources"]["limits"].get("nvidia.com/gpu", 0)) * n
               for spec, n in pod_specs(dgd) for c in spec["containers"])
    assert gpus == plan.total_gpus == b.total_gpus


def test_dynamo_frontend_serves_http_and_routes_within_the_graph() -> None:
    b = render.render(P70, Target(workload="dynamo", engine="sglang"))
    (dgd,) = of_kind(b, "DynamoGraphDeployment")
    fronts = [c for c in dgd["spec"]["components"] if c["type"] == "frontend"]
    assert len(fronts) == 1
    (main,) = fronts[0]["podTemplate"]["spec"]["containers"]
    assert main["command"] == ["python3", "-m", "dynamo.frontend"]
    assert main["args"][main["args"].index("--http-port") + 1] == "8000"
    assert "nvidia.com/gpu" not in main["resources"]["limits"]
    # the frontend discovers workers in the graph's own Dynamo namespace: no component may leave it
    assert not any(c.get("globalDynamoNamespace") for c in dgd["spec"]["components"])
    # nothing of the standalone router path is rendered beside the graph
    assert not [o for o in b.objects if o["kind"] in ("Deployment", "Service", "Role")]


def test_dynamo_secrets_only_via_secret_key_ref_and_kai_queue_annotation() -> None:
    b = render.render(P405, Target(workload="dynamo", scheduler="kai", engine="vllm", queue="team-a"))
    (dgd,) = of_kind(b, "DynamoGraphDeployment")
    assert dgd["spec"]["env"] == [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token",
                                                                                       "key": "token"}}}]
    text = json.dumps(dgd)
    assert "HF_TOKEN" in text and text.count('"secretKeyRef"') == 1
    for c in dgd["spec"]["components"]:
        for ctr in c["podTemplate"]["spec"]["containers"]:
            assert all("value" not in e for e in ctr.get("env", []) if "TOKEN" in e["name"])
    assert dgd["metadata"]["annotations"]["nvidia.com/kai-scheduler-queue"] == "team-a"
    plain = render.render(P405, Target(workload="dynamo", engine="vllm"))
    assert "nvidia.com/kai-scheduler-queue" not in of_kind(plain, "DynamoGraphDeployment")[0]["metadata"]["annotations"]


def test_dynamo_rejects_autoscale_and_other_schedulers() -> None:
    with pytest.raises(UnsupportedTarget, match="--autoscale with --workload dynamo"):
        render.render(P70, Target(workload="dynamo", engine="vllm", autoscale=True))
    with pytest.raises(UnsupportedTarget, match="--workload dynamo does not support --scheduler volcano"):
        render.render(P70, Target(workload="dynamo", scheduler="volcano", engine="vllm"))
