"""Start-up time of the CLI: median wall seconds of `python3 -m disagg_pipelines --help` over N runs (target <= 0.3 s).

    python3 benchmarks/cli_startup.py [--runs 10] [--importtime]

``--importtime`` also prints the ten slowest imports of one start (``python3 -X importtime``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3


def startup_seconds(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "disagg_pipelines", "--help"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def slowest_imports(n: int = 10) -> list[tuple[int, str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "disagg_pipelines", "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    times = startup_seconds(args.runs)
    median = statistics.median(times)
    print(f"disagg --help: median {median:.3f} s over {args.runs} runs (min {min(times):.3f}, max {max(times):.3f}; "
          f"target <= {TARGET_S} s)")
    if args.importtime or median > TARGET_S:
        print("slowest imports (cumulative us):")
        for us, name in slowest_imports():
            print(f"  {us:>9,}  {name}")
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
