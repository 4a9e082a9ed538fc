"""`disagg plan`: model + GPU + SLO + (GPU budget | target rate) -> Plan, as a table, JSON, a file and a Pareto plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command("plan")
@click.option("--model", "model_ref", required=True, help="Hugging Face id or path to a config.json.")
@click.option("--gpu", required=True, help="GPU name from the catalog (decode or aggregated pool).")
@click.option("--prefill-gpu", help="Another GPU type for the prefill pool (disaggregated only).")
@click.option("--gpus", type=click.IntRange(min=1), help="GPU budget: maximise goodput within it.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Target load in requests/s: fewest GPUs.")
@click.option("--isl", type=click.IntRange(min=1), required=True, help="Input tokens per request.")
@click.option("--osl", type=click.IntRange(min=1), required=True, help="Output tokens per request.")
@click.option("--ttft-ms", type=click.FloatRange(min=0, min_open=True), required=True, help="TTFT target.")
@click.option("--itl-ms", type=click.FloatRange(min=0, min_open=True), required=True, help="ITL (TPOT) target.")
@click.option("--percentile", type=click.FloatRange(min=0, max=100, min_open=True),
              help="SLO percentile [default: 90].")
@click.option("--engine", type=click.Choice(["vllm", "sglang", "trtllm"]), help="Serving engine [default: vllm].")
@click.option("--precision", help="bf16 | fp8 | fp4, optionally /kv=bf16|fp8 [default: bf16].")
@click.option("--mode", type=click.Choice(["auto", "agg", "disagg"]), default="auto", show_default=True)
@click.option("--sim-requests", type=click.IntRange(min=0), default=300, show_default=True,
              help="Requests per simulator check of the top candidates (0: skip the check).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the plan JSON here.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write the Pareto frontier PNG here.")
def plan_cmd(model_ref: str, gpu: str, prefill_gpu: str | None, gpus: int | None, rate: float | None, isl: int,
             osl: int, ttft_ms: float, itl_ms: float, percentile: float | None, engine: str | None,
             precision: str | None, mode: str, sim_requests: int, as_json: bool, output: Path | None,
             plot: Path | None) -> None:
    """Choose agg vs disagg, xPyD and parallelism under SLOs."""
    if (gpus is None) == (rate is None):
        raise click.UsageError("give exactly one of --gpus N (a budget) or --rate R (a target load)")
    if prefill_gpu is not None and mode == "agg":
        raise click.UsageError("--prefill-gpu needs disaggregated serving; drop it or use --mode auto|disagg")
    from disagg_pipelines import catalog
    from disagg_pipelines import plan as plan_step
    from disagg_pipelines.cli import load_model_ref
    from disagg_pipelines.domain.precision import Precision
    from disagg_pipelines.domain.workload import LengthDist, Slo, Workload
    from disagg_pipelines.plan import simulate
    from disagg_pipelines.render import emit

    assumed = [f"{k}={v}" for k, v, given in (("engine", "vllm", engine), ("precision", "bf16", precision),
                                              ("percentile", 90, percentile)) if given is None]
    result = plan_step.plan(
        load_model_ref(model_ref), catalog.load_gpu(gpu), Precision.parse(precision or "bf16"),
        catalog.load_engine(engine or "vllm"), Workload(isl=LengthDist.fixed(isl), osl=LengthDist.fixed(osl)),
        Slo(ttft_ms=ttft_ms, itl_ms=itl_ms, percentile=percentile or 90.0), gpus=gpus, rate_per_s=rate, mode=mode,
        prefill_gpu=catalog.load_gpu(prefill_gpu) if prefill_gpu else None,
        simulator=simulate if sim_requests else None, sim_requests=max(sim_requests, 1))
    if assumed:
        click.echo(f"using default {', '.join(assumed)}", err=True)
    if output is not None:
        emit.write_text(output, result.model_dump_json(indent=2))
    if plot is not None:
        from disagg_pipelines.plan import plot as plot_mod
        plot_mod.save_pareto(result, plot)
    if as_json:
        click.echo(json.dumps(json.loads(result.model_dump_json()), indent=2))
    else:
        _print_plan(result)
    for path in (output, plot):
        if path is not None:
            click.echo(f"wrote {path}", err=True)


def _print_plan(p: Any) -> None:
    pr = p.predicted
    q = f"p{p.slo.percentile:g}"
    click.echo(f"{p.model.name} on {p.gpu.name} ({p.engine}, {p.precision.label}): mode {p.mode}, "
               f"{p.total_gpus} GPUs" + (f" of {p.gpu_budget} ({p.leftover_gpus} left over)" if p.gpu_budget else ""))
    head = ("role", "gpu", "tp", "pp", "ep", "replicas", "gpus/rep", "nodes/rep", "max_batch", "max_tokens")
    rows = [(r.role, r.gpu, r.tp, r.pp, r.ep, r.replicas, r.gpus_per_replica, r.nodes_per_replica, r.max_batch,
             r.max_num_batched_tokens) for r in p.roles]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in (head, *rows):
        click.echo("  " + "  ".join(f"{str(x):>{w}}" for x, w in zip(row, widths)))
    click.echo(f"predicted: {q} TTFT {pr.ttft_ms:,.0f} ms (target {p.slo.ttft_ms:,.0f}), {q} ITL {pr.itl_ms:.1f} ms "
               f"(target {p.slo.itl_ms:g}), {pr.tokens_per_s_per_gpu:,.0f} tokens/s/GPU, "
               f"{pr.tokens_per_s_per_user:.1f} tokens/s/user, {pr.request_rate_per_s:,.2f} req/s, "
               f"SLO attainment {pr.slo_attainment:.0%}")
    click.echo("why:")
    for line in p.explanation:
        click.echo(f"  - {line}")
    if p.alternatives:
        click.echo("alternatives:")
        for c in p.alternatives:
            roles = " + ".join(f"{r.replicas}x {r.role}(tp{r.tp}{f' pp{r.pp}' if r.pp > 1 else ''})" for r in c.roles)
            click.echo(f"  {c.mode:6} {roles:40} {c.total_gpus:>4} GPUs  {c.predicted.tokens_per_s_per_gpu:>8,.0f} "
                       f"tok/s/GPU  {q} TTFT {c.predicted.ttft_ms:>7,.0f} ms  ITL {c.predicted.itl_ms:5.1f} ms"
                       f"{'' if c.meets_slo else '  (misses SLO)'}")
    click.echo("assumptions:")
    for k, v in p.assumptions.items():
        click.echo(f"  {k}: {v}")
