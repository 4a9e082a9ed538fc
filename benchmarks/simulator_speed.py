"""Simulator speed: requests simulated per second for 100k and 1M requests, aggregated and disaggregated.

Targets (issue 3): 100k requests in <= 10 s and 1M requests in <= 60 s on one core. Run:

    python benchmarks/simulator_speed.py            # 100k and 1M
    python benchmarks/simulator_speed.py --quick    # 100k only

Setup: Llama-3.1-8B bf16 on H100-SXM (roofline profile), vLLM engine, ISL lognormal(2000, 800), OSL
normal(256, 64), Poisson arrivals at about 70 % of the plan's capacity; 8 aggregated tp1 replicas, or 3 prefill + 5
decode tp1 replicas. Wall time and CPU time of this process are both printed (the CPU time is what one core spends).
"""

from __future__ import annotations

import argparse
import time

from disagg_pipelines import catalog
from disagg_pipelines import profile as profile_step
from disagg_pipelines.domain.plan import RolePlan
from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.workload import LengthDist, Slo, Workload
from disagg_pipelines.plan import simulate

TARGETS_S = {100_000: 10.0, 1_000_000: 60.0}


def _role(role: str, replicas: int) -> RolePlan:
    return RolePlan(role=role, gpu="h100-sxm", tp=1, replicas=replicas, gpus_per_replica=1, max_batch=256,
                    max_num_batched_tokens=8192)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k requests only")
    args = parser.parse_args()
    prof = profile_step.profile(catalog.load_model("meta-llama/Llama-3.1-8B"), catalog.load_gpu("h100-sxm"),
                                Precision(), tp=1)
    engine = catalog.load_engine("vllm")
    slo = Slo(ttft_ms=1000, itl_ms=30)
    cases = {
        "agg": ((_role("aggregated", 8),), {"aggregated": prof}, 80.0),
        "disagg": ((_role("prefill", 3), _role("decode", 5)), {"prefill": prof, "decode": prof}, 60.0),
    }
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    print(f"{'case':<8}{'requests':>10}{'wall s':>9}{'cpu s':>8}{'req/s':>10}{'target s':>10}{'cpu/target':>12}"
          f"{'TTFT p90':>10}{'ITL p90':>9}")
    for n in sizes:
        for name, (roles, profiles, rate) in cases.items():
            wl = Workload(isl=LengthDist(kind="lognormal", mean_tokens=2000, stddev_tokens=800, max_tokens=16000),
                          osl=LengthDist(kind="normal", mean_tokens=256, stddev_tokens=64), request_rate_per_s=rate)
            w0, c0 = time.perf_counter(), time.process_time()
            res = simulate(roles, profiles, engine, wl, slo, requests=n, seed=0)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            print(f"{name:<8}{n:>10,}{wall:>9.2f}{cpu:>8.2f}{n / cpu:>10,.0f}{TARGETS_S[n]:>10.0f}"
                  f"{cpu / TARGETS_S[n]:>12.2f}{res.ttft_ms.p90:>10.1f}{res.itl_ms.p90:>9.2f}")


if __name__ == "__main__":
    main()
