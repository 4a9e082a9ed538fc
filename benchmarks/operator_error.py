"""Roofline operator model vs the measured H100 operator timings: per-operator error, median and max per family.

    python3 benchmarks/operator_error.py          # table + summary with the constants in roofline.H100_FIT
    python3 benchmarks/operator_error.py --fit    # refit the fitted constants (needs scipy) and print them
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

from disagg_pipelines import catalog  # noqa: E402
from disagg_pipelines.domain.calibration import OperatorFit  # noqa: E402
from disagg_pipelines.profile import roofline  # noqa: E402

FITTED = ("gemm_bf16_eff", "gemm_fp8_eff", "hbm_eff", "gemm_m_half_tokens", "isolated_call_us", "overlap_exponent",
          "attn_prefill_eff", "attn_s_half_tokens", "attn_cta_gb_per_s")


def report(fit: OperatorFit, verbose: bool = True) -> dict[str, tuple[float, float]]:
    gpu = catalog.load_gpu("h100-sxm")
    points = roofline.calibration_points(catalog.load_calibration(), gpu, fit)
    families: dict[str, list[float]] = {}
    if verbose:
        print(f"{'family':<13}{'operator':<32}{'measured ms':>12}{'predicted ms':>13}{'error %':>9}")
    for family, label, measured, predicted in points:
        err = predicted / measured - 1
        families.setdefault(family, []).append(abs(err))
        if verbose:
            print(f"{family:<13}{label:<32}{measured:>12.4f}{predicted:>13.4f}{100 * err:>+9.1f}")
    summary = {f: (statistics.median(v), max(v)) for f, v in families.items()}
    every = [e for v in families.values() for e in v]
    summary["all"] = (statistics.median(every), max(every))
    print(f"\n{'family':<13}{'n':>5}{'median |err| %':>16}{'max |err| %':>13}")
    for family, (med, worst) in summary.items():
        n = len(every) if family == "all" else len(families[family])
        print(f"{family:<13}{n:>5}{100 * med:>16.1f}{100 * worst:>13.1f}")
    return summary


def refit() -> OperatorFit:
    from scipy.optimize import minimize

    gpu = catalog.load_gpu("h100-sxm")
    calibration = catalog.load_calibration()
    base = roofline.H100_FIT

    def fit_of(theta: list[float]) -> OperatorFit:
        values = {k: max(1e-6, float(v)) for k, v in zip(FITTED, theta)}
        return base.model_copy(update=values)

    def loss(theta: list[float]) -> float:
        points = roofline.calibration_points(calibration, gpu, fit_of(theta))
        return sum(math.log(p / m) ** 2 for _, _, m, p in points)

    start = [getattr(base, k) for k in FITTED]
    result = minimize(loss, start, method="Nelder-Mead",
                      options={"maxiter": 20000, "maxfev": 20000, "xatol": 1e-5, "fatol": 1e-10})
    fitted = fit_of(result.x)
    for k in FITTED:
        print(f"{k} = {getattr(fitted, k):.4g}")
    return fitted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the constants first (needs scipy)")
    parser.add_argument("-q", "--quiet", action="store_true", help="summary only")
    args = parser.parse_args()
    fit = refit() if args.fit else roofline.H100_FIT
    summary = report(fit, verbose=not args.quiet)
    return 0 if all(med <= 0.10 for med, _ in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
