"""Planner speed: the four planning cases of the issue on their own budgets and on 1,024 GPUs (wall time each).

    python3 benchmarks/plan_speed.py            # prints one line per plan; targets: <= 1 s, and <= 5 s at 1,024 GPUs

Each case runs at fp8 (the precision the issue's comparison tool defaults to) and again at bf16.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = (  # model, gpu, budget, isl, osl, ttft_ms, itl_ms, engine, precision
    ("Qwen/Qwen3-32B", "h200-sxm", 32, 4000, 500, 300, 10, "trtllm", "fp8"),
    ("meta-llama/Llama-3.1-70B", "h100-sxm", 16, 4000, 500, 1000, 30, "vllm", "fp8"),
    ("meta-llama/Llama-3.1-8B", "h100-sxm", 8, 2000, 256, 500, 20, "trtllm", "fp8"),
    ("deepseek-ai/DeepSeek-V3", "h200-sxm", 64, 4000, 1000, 2000, 50, "trtllm", "fp8"),
)


def run(budget_override: int | None = None, precision: str | None = None) -> list[tuple[str, float, str]]:
    from disagg_pipelines import catalog
    from disagg_pipelines.domain.precision import Precision
    from disagg_pipelines.domain.workload import LengthDist, Slo, Workload
    from disagg_pipelines.plan import plan
    from disagg_pipelines.plan import simulate as simulator
    rows = []
    for model, gpu, budget, isl, osl, ttft, itl, engine, prec in CASES:
        budget = budget_override or budget
        prec = precision or prec
        t0 = time.perf_counter()
        p = plan(catalog.load_model(model), catalog.load_gpu(gpu), Precision.parse(prec), catalog.load_engine(engine),
                 Workload(isl=LengthDist.fixed(isl), osl=LengthDist.fixed(osl)), Slo(ttft_ms=ttft, itl_ms=itl),
                 gpus=budget, simulator=simulator)
        dt = time.perf_counter() - t0
        roles = " + ".join(f"{r.replicas}x{r.role[:3]}(tp{r.tp}{f' pp{r.pp}' if r.pp > 1 else ''}"
                           f"{f' ep{r.ep}' if r.ep > 1 else ''})" for r in p.roles)
        rows.append((f"{model} {prec} on {budget} {gpu}", dt,
                     f"{p.mode} {roles} uses {p.total_gpus} GPUs, {p.predicted.tokens_per_s_per_gpu:,.0f} tok/s/GPU, "
                     f"p90 TTFT {p.predicted.ttft_ms:,.0f} ms, ITL {p.predicted.itl_ms:.1f} ms"))
    return rows


def main() -> None:
    for override, limit in ((None, 1.0), (1024, 5.0)):
        for name, dt, summary in run(override) + run(override, "bf16"):
            flag = "ok" if dt <= limit else f"SLOW (> {limit:g} s)"
            print(f"{dt:6.2f} s  {flag:4}  {name}: {summary}")


if __name__ == "__main__":
    main()
