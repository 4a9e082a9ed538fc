"""The main job (`disagg run`): request -> plan -> manifests -> MLflow run, with a real local MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from disagg_pipelines.cli import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llama-8b-h100-lws" / "request.yaml"


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_default_run_writes_plan_and_manifests_within_budget(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke("run", "--out", str(out), "--no-track")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    plan = json.loads((out / "plan.json").read_text())
    assert plan["model"]["name"] == "meta-llama/Llama-3.1-8B-Instruct"
    total = sum(r["gpus_per_replica"] * r["replicas"] for r in plan["roles"])
    assert total == summary["total_gpus"] <= 8
    docs = [yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").glob("*.yaml")) if p.name != "index.yaml"]
    kinds = {d["kind"] for d in docs}
    assert "LeaderWorkerSet" in kinds
    requested = 0
    for d in docs:
        if d["kind"] != "LeaderWorkerSet":
            continue
        tmpl = d["spec"]["leaderWorkerTemplate"]
        pods = tmpl["size"]
        gpu = int(tmpl["workerTemplate"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
        requested += d["spec"]["replicas"] * pods * gpu
    assert requested == total


def test_run_is_tracked_in_a_local_mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    monkeypatch.chdir(tmp_path)                       # MLflow's local artifact root is relative to the cwd
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = _invoke("run", "--out", "out", "--tracking-uri", uri, "--experiment", "t-run")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(summary["mlflow_run_id"])
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert run.data.params["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert run.data.params["mode"] == plan["mode"]
    assert run.data.metrics["total_gpus"] == summary["total_gpus"]
    assert run.data.metrics["predicted_ttft_ms"] == pytest.approx(plan["predicted"]["ttft_ms"])
    assert run.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"plan.json", "manifests", "request.json"} <= artifacts


def test_example_request_runs(tmp_path: Path) -> None:
    result = _invoke("run", "--request", str(EXAMPLE), "--out", str(tmp_path / "o"), "--no-track")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "plan.json").is_file()


@pytest.mark.parametrize("text, needle", [
    ("model: [unclosed", "not YAML"),
    ("- a\n- b\n", "not a mapping"),
    ("model: meta-llama/Llama-3.1-8B\ngpu: h100-sxm\n", "workload"),
])
def test_bad_request_exits_2_and_writes_nothing(tmp_path: Path, text: str, needle: str) -> None:
    bad = tmp_path / "request.yaml"
    bad.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", "--request", str(bad), "--out", str(out), "--no-track"])
    assert result.exit_code == 2
    assert needle in result.output
    assert len([ln for ln in result.output.splitlines() if ln.startswith("error:")]) == 1
    assert not out.exists()


def test_both_budget_and_rate_is_rejected(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["request_rate_per_s"] = 3.0
    bad = tmp_path / "r.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["run", "--request", str(bad), "--out", str(tmp_path / "o"), "--no-track"])
    assert result.exit_code == 2
    assert "exactly one of gpus" in result.output
