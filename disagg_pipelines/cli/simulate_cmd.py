"""`disagg simulate`: a Plan JSON -> profiles, engine and workload -> the simulate step -> a table or JSON."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("simulate")
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Plan JSON written by `disagg plan -o`.")
@click.option("--requests", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Requests to simulate.")
@click.option("--arrival", type=click.Choice(["poisson", "bursty", "closed", "constant"]),
              help="Arrival process (default: the plan's workload).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Open-loop requests per second.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Closed-loop clients.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--same-nvlink-domain", is_flag=True,
              help="Prefill and decode share an NVLink domain (KV moves over NVLink, not RDMA).")
@click.option("--json", "as_json", is_flag=True, help="Print the SimulationResult as JSON.")
def simulate_cmd(plan_path: Path, requests: int, arrival: str | None, rate: float | None, concurrency: int | None,
                 seed: int, same_nvlink_domain: bool, as_json: bool) -> None:
    """Simulate requests through a plan, event by event."""
    from disagg_pipelines import catalog
    from disagg_pipelines import profile as profile_step
    from disagg_pipelines.plan import simulator as simulate_step

    if rate is not None and concurrency is not None:
        raise click.UsageError("give --rate (open loop) or --concurrency (closed loop), not both")
    plan = _read_plan(plan_path)
    workload, note = _workload(plan, arrival, rate, concurrency)
    if note and not as_json:
        click.echo(note, err=True)
    profiles = {r.role: profile_step.profile(plan.model, plan.gpu_for(r), plan.precision, tp=r.tp, pp=r.pp, ep=r.ep)
                for r in plan.roles}
    result = simulate_step.simulate(plan.roles, profiles, catalog.load_engine(plan.engine), workload, plan.slo,
                                    requests=requests, seed=seed, same_nvlink_domain=same_nvlink_domain)
    click.echo(result.model_dump_json(indent=2) if as_json else _table(plan, result))


def _read_plan(path: Path):
    from pydantic import ValidationError

    from disagg_pipelines.cli import one_line
    from disagg_pipelines.domain.errors import InvalidPlan
    from disagg_pipelines.domain.plan import Plan

    try:
        return Plan.model_validate_json(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidPlan(f"cannot read plan {str(path)!r}: {err.strerror or err}; give a plan JSON written by "
                          f"`disagg plan -o plan.json`") from err
    except ValidationError as err:
        raise InvalidPlan(f"plan {str(path)!r} is not a valid plan: {one_line(err)}; give a plan JSON written by "
                          f"`disagg plan -o plan.json`") from err


def _workload(plan, arrival: str | None, rate: float | None, concurrency: int | None):
    """The plan's workload with the load flags applied, and a note when a load was assumed."""
    from disagg_pipelines.domain.errors import InvalidInput
    from disagg_pipelines.domain.workload import Workload

    data = plan.workload.model_dump()
    note = ""
    if concurrency is not None or arrival == "closed":
        clients = concurrency or data["concurrency"] or max(1, round(plan.predicted.concurrency))
        if concurrency is None and data["concurrency"] is None:
            note = f"using the plan's predicted concurrency {clients} for the closed loop"
        data.update(concurrency=clients, request_rate_per_s=None, arrival="closed")
    elif rate is not None or arrival is not None:
        per_s = rate or data["request_rate_per_s"] or plan.predicted.request_rate_per_s
        if per_s <= 0:
            raise InvalidInput(f"--arrival {arrival} needs a rate; the plan predicts {per_s} requests/s; give --rate")
        if rate is None and data["request_rate_per_s"] is None:
            note = f"using the plan's predicted rate {per_s:.3g} requests/s"
        data.update(request_rate_per_s=per_s, concurrency=None, arrival=arrival or "poisson")
    elif data["concurrency"] is None and data["request_rate_per_s"] is None:
        if plan.predicted.request_rate_per_s <= 0:
            raise InvalidInput("the plan's workload has no load and its predicted rate is 0; give --rate R or "
                               "--concurrency C")
        data.update(request_rate_per_s=plan.predicted.request_rate_per_s)
        note = f"using the plan's predicted rate {plan.predicted.request_rate_per_s:.3g} requests/s (Poisson)"
    return Workload.model_validate(data), note


def _table(plan, r) -> str:
    roles = " + ".join(f"{x.replicas}x {x.role}(tp{x.tp}" + (f" pp{x.pp}" if x.pp > 1 else "") + ")"
                       for x in plan.roles)
    slo = plan.slo
    rows = [
        f"{plan.model.name} on {r.total_gpus} GPU(s), {plan.engine}, {r.mode}: {roles}",
        f"{r.requests:,} requests, {r.arrival} arrivals, seed {r.seed}, {r.duration_s:,.1f} s simulated",
        "",
        f"{'':<16}{'mean':>10}{'p50':>10}{'p90':>10}{'p99':>10}",
    ]
    for name, s in (("TTFT ms", r.ttft_ms), ("ITL ms", r.itl_ms), ("e2e ms", r.e2e_ms)):
        rows.append(f"{name:<16}{s.mean:>10,.1f}{s.p50:>10,.1f}{s.p90:>10,.1f}{s.p99:>10,.1f}")
    rows += [
        "",
        f"SLO (p{slo.percentile:g}: TTFT {slo.ttft_ms:,.0f} ms, ITL {slo.itl_ms:,.1f} ms): "
        f"TTFT {r.ttft_at_percentile_ms:,.1f} ms, ITL {r.itl_at_percentile_ms:,.2f} ms, "
        f"{r.slo_attainment:.1%} of requests meet both",
        f"throughput      {r.tokens_per_s:,.0f} tok/s, {r.tokens_per_s_per_gpu:,.0f} tok/s/GPU, "
        f"{r.tokens_per_s_per_user:,.1f} tok/s/user, {r.request_rate_per_s:,.2f} req/s",
        f"goodput         {r.goodput_requests_per_s:,.2f} req/s, {r.goodput_tokens_per_s:,.0f} tok/s",
        "mean batch      " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r.mean_batch.items())),
        f"queue wait      {r.queue_wait_ms_mean:,.1f} ms mean; preemptions {r.preemptions:,}"
        + (f"; KV transfer {r.kv_transfer_ms_mean:,.2f} ms mean" if r.mode == "disagg" else ""),
    ]
    return "\n".join(rows)
