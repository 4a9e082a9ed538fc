"""Domain models: validators reject bad input with messages naming the value; models are frozen and closed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from disagg_pipelines import catalog
from disagg_pipelines.domain.errors import InvalidInput
from disagg_pipelines.domain.plan import Plan, Predicted, RolePlan
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.profile import CostTable
from disagg_pipelines.domain.workload import LengthDist, Slo, Workload


def _msg(err: pytest.ExceptionInfo) -> str:
    return str(err.value)


def test_workload_load_rules() -> None:
    isl, osl = LengthDist.fixed(1000), LengthDist.fixed(200)
    with pytest.raises(ValidationError) as e:
        Workload(isl=isl, osl=osl, request_rate_per_s=2, concurrency=8)
    assert "not both" in _msg(e)
    with pytest.raises(ValidationError) as e:
        Workload(isl=isl, osl=osl, concurrency=8, arrival="poisson")
    assert "arrival='poisson' needs request_rate_per_s" in _msg(e)
    with pytest.raises(ValidationError) as e:
        Workload(isl=isl, osl=osl, request_rate_per_s=2, arrival="closed")
    assert "arrival='closed' needs concurrency" in _msg(e)
    assert Workload(isl=isl, osl=osl, concurrency=8).arrival_kind == "closed"
    assert Workload(isl=isl, osl=osl, request_rate_per_s=1).arrival_kind == "poisson"
    with pytest.raises(ValidationError, match="request_rate_per_s"):
        Workload(isl=isl, osl=osl, request_rate_per_s=0)


def test_length_dist_bounds() -> None:
    with pytest.raises(ValidationError) as e:
        LengthDist(mean_tokens=100, min_tokens=200)
    assert "mean_tokens=100 lies outside [min_tokens=200" in _msg(e)
    with pytest.raises(ValidationError) as e:
        LengthDist(kind="normal", mean_tokens=100)
    assert "kind='normal' needs stddev_tokens > 0" in _msg(e)
    assert LengthDist(kind="uniform", mean_tokens=100, max_tokens=150).upper_tokens == 150
    assert LengthDist(kind="normal", mean_tokens=100, stddev_tokens=10).upper_tokens == 140


def test_slo_bounds() -> None:
    with pytest.raises(ValidationError, match="ttft_ms"):
        Slo(ttft_ms=0, itl_ms=20)
    with pytest.raises(ValidationError, match="percentile"):
        Slo(ttft_ms=100, itl_ms=20, percentile=101)


def _role(role: str = "decode", **kw) -> RolePlan:
    base = dict(role=role, gpu="h100-sxm", tp=4, replicas=1, gpus_per_replica=4, max_batch=64,
                max_num_batched_tokens=8192)
    return RolePlan(**{**base, **kw})


def test_role_plan_shape_errors() -> None:
    with pytest.raises(ValidationError) as e:
        _role(tp=4, pp=2, gpus_per_replica=4)
    assert "gpus_per_replica=4 must equal tp x pp = 8" in _msg(e)
    with pytest.raises(ValidationError) as e:
        _role(tp=6, gpus_per_replica=6, nodes_per_replica=4)
    assert "nodes_per_replica=4 does not divide gpus_per_replica=6; pick one of [1, 2, 3, 6]" in _msg(e)
    with pytest.raises(ValidationError) as e:
        _role(ep=3)
    assert "ep=3 must divide gpus_per_replica=4" in _msg(e)
    assert _role(replicas=3).gpus == 12


def _predicted() -> Predicted:
    return Predicted(ttft_ms=1, itl_ms=1, ttft_mean_ms=1, itl_mean_ms=1, tokens_per_s_per_gpu=1,
                     tokens_per_s_per_user=1, request_rate_per_s=1, concurrency=1, slo_attainment=1)


def test_plan_roles_must_match_mode() -> None:
    common = dict(model=catalog.load_model("meta-llama/Llama-3.1-8B"), gpu=catalog.load_gpu("h100-sxm"),
                  precision=Precision(), engine="vllm", workload=Workload(isl=LengthDist.fixed(10), osl=LengthDist.fixed(10)),
                  slo=Slo(ttft_ms=100, itl_ms=10), predicted=_predicted())
    with pytest.raises(ValidationError) as e:
        Plan(mode="disagg", roles=(_role("decode"),), **common)
    assert "mode='disagg' needs roles ['decode', 'prefill'], got ['decode']" in _msg(e)
    plan = Plan(mode="disagg", roles=(_role("prefill"), _role("decode", replicas=2)), **common)
    assert plan.total_gpus == 12 and plan.role("decode").replicas == 2
    with pytest.raises(ValidationError, match="needs roles \\['aggregated'\\]"):
        Plan(mode="agg", roles=(_role("prefill"), _role("decode")), **common)


def test_precision_parse() -> None:
    assert Precision.parse("fp8") == Precision(weights="fp8", kv_cache="fp8")
    assert Precision.parse(" FP4 ").kv_cache == "fp8"
    assert Precision.parse("fp8/kv=bf16").label == "fp8/kv=bf16"
    assert Precision.parse("bf16").label == "bf16"
    with pytest.raises(InvalidInput) as e:
        Precision.parse("int4")
    assert "unknown precision 'int4'; use one of bf16, fp8, fp4" in _msg(e)
    with pytest.raises(InvalidInput) as e:
        Precision.parse("fp8/kv=int8")
    assert "unknown KV-cache precision 'int8'" in _msg(e)


def test_cost_table_interpolation_and_extrapolation() -> None:
    t = CostTable(x=(10, 20, 40), ms=(1.0, 3.0, 7.0))
    assert t.at(0) == 0 and t.at(5) == pytest.approx(0.5)        # proportional below the first point
    assert t.at(15) == pytest.approx(2.0) and t.at(30) == pytest.approx(5.0)
    assert t.at(60) == pytest.approx(11.0)                         # last segment's slope beyond the end
    assert CostTable(x=(10,), ms=(2.0,)).at(30) == pytest.approx(6.0)
    with pytest.raises(ValidationError, match="strictly increasing"):
        CostTable(x=(2, 1), ms=(1, 2))
    with pytest.raises(ValidationError, match=r"equal length \(got 2 and 1\)"):
        CostTable(x=(1, 2), ms=(1,))


def test_frozen_and_extra_forbidden() -> None:
    slo = Slo(ttft_ms=100, itl_ms=10)
    with pytest.raises(ValidationError, match="frozen"):
        slo.ttft_ms = 5  # type: ignore[misc]
    with pytest.raises(ValidationError, match="ttft_msec"):
        Slo(ttft_ms=100, itl_ms=10, ttft_msec=3)
    gpu = catalog.load_gpu("h100-sxm")
    with pytest.raises(ValidationError, match="extra"):
        type(gpu).model_validate({**gpu.model_dump(), "hbm_gb": 80})


def test_model_spec_validators() -> None:
    m = catalog.load_model("meta-llama/Llama-3.1-8B")
    with pytest.raises(ValidationError) as e:
        m.model_validate({**m.model_dump(), "num_kv_heads": 5})
    assert "num_kv_heads=5 does not divide num_attention_heads=32" in _msg(e)
    with pytest.raises(ValidationError) as e:
        m.model_validate({**m.model_dump(), "num_sliding_layers": 4})
    assert "num_sliding_layers is set but sliding_window_tokens is not" in _msg(e)


def test_gpu_spec_validators() -> None:
    g = catalog.load_gpu("h100-sxm").model_dump()
    with pytest.raises(ValidationError) as e:
        type(catalog.load_gpu("h100-sxm")).model_validate({**g, "nvlink_domain_gpus": 3})
    assert "nvlink_domain_gpus=3 must divide gpus_per_node=8" in _msg(e)
    with pytest.raises(ValidationError, match="product_labels is empty"):
        type(catalog.load_gpu("h100-sxm")).model_validate({**g, "product_labels": []})
