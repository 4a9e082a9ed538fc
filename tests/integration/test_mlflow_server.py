"""`disagg run` tracked through a real `mlflow server` on loopback (REST, proxied artifacts)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from disagg_pipelines.cli import cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    exe = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
    if not Path(exe).exists():
        pytest.skip("the mlflow command is not installed")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{root / 'db.sqlite'}", "--artifacts-destination", str(root / "art")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=root, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("mlflow server did not answer /health within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_run_logs_params_metrics_and_artifacts_to_server(mlflow_server: str, tmp_path: Path) -> None:
    import mlflow

    result = CliRunner().invoke(cli, ["run", "--out", str(tmp_path / "out"), "--tracking-uri", mlflow_server,
                                      "--experiment", "server-test"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    run = client.get_run(summary["mlflow_run_id"])
    assert run.data.params["gpu"] == "h100-sxm"
    assert run.data.metrics["total_gpus"] == summary["total_gpus"]
    names = {a.path for a in client.list_artifacts(run.info.run_id, "manifests")}
    assert any(n.endswith("index.yaml") for n in names)
    local = client.download_artifacts(run.info.run_id, "plan.json", str(tmp_path / "dl"))
    assert json.loads(Path(local).read_text())["schema_version"] == "v1"


def test_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "2"}
    result = CliRunner(env=env).invoke(cli, ["run", "--out", str(tmp_path / "out"), "--tracking-uri", url])
    assert result.exit_code == 2
    assert "cannot reach MLflow tracking store" in result.output
