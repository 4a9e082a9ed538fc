"""render() for each example x workload x scheduler x engine against examples/<case>/expected/*.yaml (parsed docs).

Regenerate with UPDATE_GOLDEN=1 (refused when CI is set); a changed golden is reviewed like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from disagg_pipelines import render
from disagg_pipelines.domain.bundle import Target
from disagg_pipelines.domain.plan import Plan
from disagg_pipelines.render import emit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES_DIRS = ["llama-70b-h100-disagg", "llama-405b-h100-multinode"]
COMBOS = [("lws", s) for s in ("default", "kai", "volcano", "kueue")] + [
    ("disaggregatedset", "default"), ("disaggregatedset", "kai"), ("grove", "default"), ("grove", "kai"),
    ("deployment", "default"), ("deployment", "volcano"), ("dynamo", "default"), ("dynamo", "kai")]
ENGINES = ("vllm", "sglang", "trtllm")


def plan_for(case: str) -> Plan:
    return Plan.model_validate_json((EXAMPLES / case / "plan.json").read_text())


def cases() -> list[tuple[str, str, str, str]]:
    out = []
    for case in CASES_DIRS:
        multi = any(r.nodes_per_replica > 1 for r in plan_for(case).roles)
        for workload, scheduler in COMBOS:
            if workload == "deployment" and multi:
                continue                      # exit 2 by design; covered in tests/unit/test_render.py
            out += [(case, workload, scheduler, e) for e in ENGINES]
    return out


CASES = cases()


@pytest.mark.parametrize("case,workload,scheduler,engine", CASES, ids=lambda v: str(v))
def test_render_matches_golden(case: str, workload: str, scheduler: str, engine: str) -> None:
    bundle = render.render(plan_for(case), Target(workload=workload, scheduler=scheduler, engine=engine))
    golden = EXAMPLES / case / "expected" / f"{workload}-{scheduler}-{engine}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        if os.environ.get("CI"):
            pytest.fail("UPDATE_GOLDEN is refused when CI is set: regenerate locally and review the diff")
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(emit.to_yaml_stream(bundle.objects))
    assert golden.is_file(), f"missing golden {golden}; run UPDATE_GOLDEN=1 pytest {__file__}"
    assert [dict(o) for o in bundle.objects] == list(yaml.safe_load_all(golden.read_text()))


def test_every_golden_has_a_case() -> None:
    wanted = {EXAMPLES / c / "expected" / f"{w}-{s}-{e}.yaml" for c, w, s, e in CASES}
    present = {p for c in CASES_DIRS for p in (EXAMPLES / c / "expected").glob("*.yaml")}
    assert present == wanted
