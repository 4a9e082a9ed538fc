"""`disagg plan` and `disagg estimate` through the real entry point: output keys, files, exit codes."""

from __future__ import annotations

import json

import pytest

from disagg_pipelines.cli import main
from disagg_pipelines.domain.plan import Plan

PLAN = ["plan", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--isl", "2000", "--osl", "256",
        "--ttft-ms", "500", "--itl-ms", "20", "--engine", "trtllm", "--precision", "fp8", "--sim-requests", "0"]
EST = ["estimate", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--isl", "2000", "--osl", "256"]


def _run(args, capsys):
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_json_keys(capsys):
    code, out, err = _run([*PLAN, "--gpus", "8", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert {"mode", "roles", "predicted", "alternatives", "pareto", "explanation", "assumptions"} <= set(data)
    assert {"ttft_ms", "itl_ms", "tokens_per_s_per_gpu", "tokens_per_s_per_user", "slo_attainment"} <= \
        set(data["predicted"])
    assert {"role", "tp", "pp", "ep", "replicas", "gpus_per_replica", "nodes_per_replica", "max_batch",
            "max_num_batched_tokens"} <= set(data["roles"][0])
    assert "using default percentile=90" in err


def test_plan_table_output_file_and_plot(tmp_path, capsys):
    out_file, png = tmp_path / "sub" / "plan.json", tmp_path / "pareto.png"
    code, out, err = _run([*PLAN, "--gpus", "8", "-o", str(out_file), "--plot", str(png)], capsys)
    assert code == 0, err
    assert "why:" in out and "alternatives:" in out and "assumptions:" in out
    plan = Plan.model_validate_json(out_file.read_text())
    assert plan.total_gpus <= 8
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out_file.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("extra,needle", [
    (["--gpus", "8", "--rate", "3"], "exactly one of --gpus"),
    ([], "exactly one of --gpus"),
    (["--gpus", "8", "--mode", "agg", "--prefill-gpu", "h200-sxm"], "--prefill-gpu needs"),
])
def test_plan_inconsistent_flags_exit_2(extra, needle, capsys):
    code, _, err = _run([*PLAN, *extra], capsys)
    assert code == 2 and needle in err


def test_plan_infeasible_exit_2_with_numbers(capsys):
    args = [a if a != "500" else "3" for a in PLAN]
    code, out, err = _run([*args, "--gpus", "8"], capsys)
    assert code == 2 and out == ""
    assert "no feasible plan: best p90 TTFT" in err and "(target 3 ms)" in err


def test_estimate_json_keys(capsys):
    code, out, err = _run([*EST, "--concurrency", "16", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert {"ttft_ms", "tpot_ms", "tokens_per_s_per_gpu", "tokens_per_s_per_user", "ttft_p90_ms", "ttft_p99_ms",
            "tpot_p90_ms"} <= set(data)
    assert "using default engine=vllm, precision=bf16" in err


def test_estimate_disagg_flags(capsys):
    code, out, _ = _run([*EST, "--rate", "4", "--mode", "disagg", "--prefill-tp", "1", "--prefill-workers", "2",
                         "--decode-tp", "2", "--decode-workers", "1", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["mode"] == "disagg" and data["total_gpus"] == 4 and data["kv_transfer_ms"] > 0


def test_estimate_cases_in_order(tmp_path, capsys):
    lines = []
    for i in range(200):
        c = 1 + i % 50
        lines.append(json.dumps({"model": "meta-llama/Llama-3.1-8B", "gpu": "h100-sxm", "engine": "sglang",
                                 "precision": "fp8", "isl": 1000, "osl": 200, "concurrency": c, "tp": 1 + i % 2}))
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = _run(["estimate", "--cases", str(path)], capsys)
    assert code == 0, err
    results = [json.loads(x) for x in out.splitlines()]
    assert len(results) == 200
    # same tp, more clients -> later TTFT is not smaller (order preserved)
    tp1 = [r["ttft_ms"] for r in results[:50:2]]
    assert tp1 == sorted(tp1)
    assert [r["total_gpus"] for r in results[:4]] == [1, 2, 1, 2]


def test_estimate_cases_bad_line_prints_nothing(tmp_path, capsys):
    good = json.dumps({"model": "meta-llama/Llama-3.1-8B", "gpu": "h100-sxm", "isl": 10, "osl": 10, "concurrency": 1})
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{good}\n{good}\n" + json.dumps({"model": "x", "gpu": "h100-sxm", "isl": 0, "osl": 1,
                                                      "concurrency": 1}) + "\n")
    code, out, err = _run(["estimate", "--cases", str(path)], capsys)
    assert code == 2 and out == ""
    assert "cases.jsonl:3:" in err and "isl" in err


@pytest.mark.parametrize("args,needle", [
    (["--concurrency", "4", "--rate", "2"], "exactly one of --concurrency"),
    (["--concurrency", "4", "--prefill-tp", "2"], "mode='disagg'"),
])
def test_estimate_inconsistent_flags_exit_2(args, needle, capsys):
    code, _, err = _run([*EST, *args], capsys)
    assert code == 2 and needle in err


def test_estimate_cases_with_flags_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "c.jsonl"
    path.write_text("{}\n")
    code, _, err = _run(["estimate", "--cases", str(path), "--model", "m"], capsys)
    assert code == 2 and "--cases takes every setting" in err
