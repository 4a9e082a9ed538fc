"""Opt-in: validate rendered manifests against the CRDs a real cluster serves (`KUBECONFIG`, `-m cluster`).

Run with a cluster that has LeaderWorkerSet installed:  KUBECONFIG=~/.kube/config pytest -m cluster tests/cluster
Skipped without KUBECONFIG. Rollout against a real cluster arrives with the rollout step.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def cluster_schemas():
    if not os.environ.get("KUBECONFIG"):
        pytest.skip("no KUBECONFIG: the cluster tests are opt-in")
    from kubernetes import client, config

    from disagg_pipelines.render.validate import crd_schemas_from_cluster

    config.load_kube_config()
    return crd_schemas_from_cluster(client.ApiClient())


def test_rendered_lws_bundle_validates_against_the_cluster(cluster_schemas) -> None:
    from disagg_pipelines import render
    from disagg_pipelines.domain.bundle import Target
    from disagg_pipelines.domain.plan import Plan
    from disagg_pipelines.render.validate import validate_objects

    if not any(kind == "LeaderWorkerSet" for _, kind in cluster_schemas.kinds()):
        pytest.skip("the cluster does not serve the LeaderWorkerSet CRD")
    plan = Plan.model_validate_json((EXAMPLES / "llama-70b-h100-disagg" / "plan.json").read_text())
    bundle = render.render(plan, Target(workload="lws", engine=plan.engine))
    assert validate_objects(list(bundle.objects), cluster_schemas) == []
