"""`disagg estimate`: one configuration (flags) or many (``--cases FILE.jsonl``) -> predicted TTFT, TPOT, throughput."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

_FLAG_KEYS = ("model", "gpu", "engine", "precision", "isl", "osl", "concurrency", "rate", "tp", "pp", "ep",
              "replicas", "mode", "prefill_tp", "prefill_workers", "decode_tp", "decode_workers", "decode_batch",
              "max_num_batched_tokens")


@click.command("estimate")
@click.option("--model", help="Hugging Face id or path to a config.json.")
@click.option("--gpu", help="GPU name from the catalog, e.g. h100-sxm.")
@click.option("--engine", type=click.Choice(["vllm", "sglang", "trtllm"]), help="Serving engine [default: vllm].")
@click.option("--precision", help="bf16 | fp8 | fp4, optionally /kv=bf16|fp8 [default: bf16].")
@click.option("--isl", type=click.IntRange(min=1), help="Input (prompt) tokens per request.")
@click.option("--osl", type=click.IntRange(min=1), help="Output tokens per request.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Closed loop: clients in total.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Open loop: requests/s in total.")
@click.option("--tp", type=click.IntRange(min=1), help="Tensor parallelism of each instance [default: 1].")
@click.option("--pp", type=click.IntRange(min=1), help="Pipeline parallelism [default: 1].")
@click.option("--ep", type=click.IntRange(min=1), help="Expert parallelism (MoE) [default: 1].")
@click.option("--replicas", type=click.IntRange(min=1), help="Aggregated instances [default: 1].")
@click.option("--mode", type=click.Choice(["agg", "disagg"]), help="Serving mode [default: agg].")
@click.option("--prefill-tp", type=click.IntRange(min=1), help="disagg: TP of each prefill worker [default: --tp].")
@click.option("--prefill-workers", type=click.IntRange(min=1), help="disagg: prefill workers [default: 1].")
@click.option("--decode-tp", type=click.IntRange(min=1), help="disagg: TP of each decode worker [default: --tp].")
@click.option("--decode-workers", type=click.IntRange(min=1), help="disagg: decode workers [default: 1].")
@click.option("--decode-batch", type=click.IntRange(min=1), help="Max sequences per decode (or agg) instance.")
@click.option("--max-num-batched-tokens", type=click.IntRange(min=1), help="Token budget of one engine step.")
@click.option("--cases", "cases_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON Lines file: one object per line with the flag names as keys; prints one result per line.")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
def estimate_cmd(cases_path: Path | None, as_json: bool, **flags: Any) -> None:
    """Predict TTFT, ITL and throughput of one configuration."""
    from disagg_pipelines.domain.estimate import EstimateCase

    given = {k: v for k, v in flags.items() if v is not None}
    if cases_path is not None:
        if given:
            raise click.UsageError(f"--cases takes every setting from the file; drop --{', --'.join(sorted(given))}"
                                   .replace("_", "-"))
        cases = _read_cases(cases_path)
        results = _estimate_all(cases)
        for res in results:
            click.echo(res.model_dump_json())
        return
    missing = [k for k in ("model", "gpu", "isl", "osl") if k not in given]
    if missing:
        raise click.UsageError(f"missing --{', --'.join(missing)}; or give --cases FILE.jsonl")
    if ("concurrency" in given) == ("rate" in given):
        raise click.UsageError("give exactly one of --concurrency (closed loop) or --rate (open loop)")
    defaults = {"engine": "vllm", "precision": "bf16"}
    assumed = [f"{k}={v}" for k, v in defaults.items() if k not in given]
    case = EstimateCase.model_validate({**defaults, **given})
    (res,) = _estimate_all([case])
    if assumed:
        click.echo(f"using default {', '.join(assumed)}", err=True)
    if as_json:
        click.echo(json.dumps(json.loads(res.model_dump_json()), indent=2))
    else:
        _print_estimate(res)


def _read_cases(path: Path) -> list[Any]:
    """Every line validated before anything is estimated; a bad line fails with its line number."""
    from pydantic import ValidationError

    from disagg_pipelines.cli import one_line
    from disagg_pipelines.domain.errors import InvalidInput
    from disagg_pipelines.domain.estimate import EstimateCase

    cases = []
    for no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise InvalidInput(f"{path}:{no}: not JSON ({err.msg}); give one JSON object per line") from err
        if not isinstance(data, dict):
            raise InvalidInput(f"{path}:{no}: a {type(data).__name__}, not a JSON object; give one object per line")
        try:
            cases.append(EstimateCase.model_validate(data))
        except ValidationError as err:
            raise InvalidInput(f"{path}:{no}: {one_line(err)}") from err
    if not cases:
        raise InvalidInput(f"{path} holds no cases; give one JSON object per line with keys like "
                           f"{', '.join(_FLAG_KEYS[:7])}")
    return cases


def _estimate_all(cases: list[Any]) -> list[Any]:
    """Load catalogs and profiles once per distinct key, then estimate every case (all before printing)."""
    from disagg_pipelines import catalog
    from disagg_pipelines import profile as profile_step
    from disagg_pipelines.cli import load_model_ref
    from disagg_pipelines.domain.precision import Precision
    from disagg_pipelines.domain.workload import LengthDist, Workload
    from disagg_pipelines.plan import serving as est

    models: dict[str, Any] = {}
    profiles: dict[tuple, Any] = {}
    out = []
    for case in cases:
        if case.model not in models:
            models[case.model] = load_model_ref(case.model)
        model, gpu, engine = models[case.model], catalog.load_gpu(case.gpu), catalog.load_engine(case.engine)
        precision = Precision.parse(case.precision)
        roles = est.roles_for_case(case, engine)
        role_profiles = {}
        for r in roles:
            key = (case.model, case.gpu, precision.label, r.tp, r.pp, r.ep)
            if key not in profiles:
                profiles[key] = profile_step.profile(model, gpu, precision, tp=r.tp, pp=r.pp, ep=r.ep)
            role_profiles[r.role] = profiles[key]
        workload = Workload(isl=LengthDist.fixed(case.isl), osl=LengthDist.fixed(case.osl),
                            concurrency=case.concurrency, request_rate_per_s=case.rate)
        out.append(est.estimate(roles, role_profiles, engine, workload))
    return out


def _print_estimate(res: Any) -> None:
    rows = [
        ("mode", res.mode),
        ("TTFT ms (mean / p50 / p90 / p99)",
         f"{res.ttft_ms:,.1f} / {res.ttft_p50_ms:,.1f} / {res.ttft_p90_ms:,.1f} / {res.ttft_p99_ms:,.1f}"),
        ("TPOT ms (mean / p50 / p90 / p99)",
         f"{res.tpot_ms:.2f} / {res.tpot_p50_ms:.2f} / {res.tpot_p90_ms:.2f} / {res.tpot_p99_ms:.2f}"),
        ("tokens/s per GPU", f"{res.tokens_per_s_per_gpu:,.0f}"),
        ("tokens/s per user", f"{res.tokens_per_s_per_user:,.1f}"),
        ("requests/s", f"{res.request_rate_per_s:,.2f}"),
        ("in flight", f"{res.concurrency:,.1f}"),
        ("decode batch per instance", f"{res.decode_batch:,.1f} (admits {res.max_running})"),
        ("prefill utilisation", f"{res.prefill_utilization:.0%}"),
        ("mean queue ms", f"{res.queue_ms:,.1f}"),
        ("GPUs", str(res.total_gpus)),
    ]
    if res.mode == "disagg":
        rows.append(("KV transfer ms", f"{res.kv_transfer_ms:.1f}"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k:<{width}}  {v}")
    for note in res.notes:
        click.echo(f"note: {note}")
    if res.saturated:
        click.echo("warning: saturated; the load exceeds what this configuration sustains", err=True)
