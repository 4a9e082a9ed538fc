"""Roofline profile vs end-to-end latency measured on a real H100 (benchmarks/gpu/*.json).

Prints predicted vs measured per point, then the median and largest error per file. The measurements are held out:
no constant of the roofline was fitted to them. Files measured with `--compile` (Inductor-fused norms, RoPE and
activations, CUDA-graph decode: what vLLM V1 runs) are the ones that stand for an optimized engine; the plain
PyTorch files show what unfused elementwise kernels cost on top.

    python3 benchmarks/roofline_vs_e2e.py [FILE ...]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from disagg_pipelines import catalog  # noqa: E402
from disagg_pipelines.domain.precision import Precision  # noqa: E402
from disagg_pipelines.profile import profile  # noqa: E402

MODELS = {"llama-3.1-8b": "meta-llama/Llama-3.1-8B", "qwen3-8b": "Qwen/Qwen3-8B"}


def compare(path: Path) -> dict[str, float]:
    doc = json.loads(path.read_text())
    gpu = catalog.load_gpu("h100-sxm")
    profiles = {cfg: profile(catalog.load_model(mid), gpu, Precision()) for cfg, mid in MODELS.items()}
    errors: dict[str, list[float]] = {"prefill": [], "decode": []}
    print(f"== {path.name} ({doc['environment'].get('device_name', '?')}, compiled={doc['settings'].get('compile', False)})")
    print(f"  {'config':13} {'phase':7} {'batch':>5} {'tokens':>6} {'measured':>9} {'predicted':>9} {'error':>7}")
    for pt in doc["points"]:
        prof = profiles.get(pt["config"])
        if prof is None or pt["skipped_reason"] or pt["error"] or pt["ms_median"] is None:
            continue
        if pt["phase"] == "prefill":
            tokens, pred = pt["isl_tokens"], prof.prefill_ms(1, pt["isl_tokens"])
        elif pt["graph"]:
            tokens, pred = pt["context_tokens"], prof.decode_ms(pt["batch"], pt["context_tokens"])
        else:
            continue                          # eager decode: launch-bound, not what an engine runs
        err = (pred - pt["ms_median"]) / pt["ms_median"]
        errors[pt["phase"]].append(abs(err))
        print(f"  {pt['config']:13} {pt['phase']:7} {pt['batch']:>5} {tokens:>6} {pt['ms_median']:>9.2f} "
              f"{pred:>9.2f} {err:>+7.1%}")
    every = errors["prefill"] + errors["decode"]
    summary = {"median": statistics.median(every), "max": max(every),
               "prefill_median": statistics.median(errors["prefill"]),
               "decode_median": statistics.median(errors["decode"])}
    print(f"  median |error| {summary['median']:.1%} (prefill {summary['prefill_median']:.1%}, decode "
          f"{summary['decode_median']:.1%}), max {summary['max']:.1%}, {len(every)} points")
    return summary


def main(argv: list[str]) -> None:
    files = [Path(a) for a in argv] or sorted((ROOT / "benchmarks" / "gpu").glob("h100-e2e-dense-*.json"))
    for f in files:
        compare(f)


if __name__ == "__main__":
    main(sys.argv[1:])
