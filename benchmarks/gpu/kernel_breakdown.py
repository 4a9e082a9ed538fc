"""Per-category kernel time of one benchmark step from torch.profiler (for e2e_dense.py --kernel-breakdown).

On CUDA the profiler's device events are the GPU kernels (and memcpy/memset), each with its own duration; their
sum per step is the GPU busy time of the step. On CPU there are no device events: the CPU op events are used
instead, each counted by its *self* time (the time not spent in a child op), so nested ops (``aten::linear`` ->
``aten::addmm``) are not counted twice and the self times add up to the profiled thread's busy time.

Categories are assigned from the event name, first match wins, in this order:
  attention  flash, fmha, attention, sdpa (checked first: flash and fmha kernels are often built on cutlass)
  gemm       gemm, gemv, cutlass, xmma, sm90, cublas, nvjet, Inductor matmul templates (triton_tem); on CPU
             aten::mm / addmm / bmm / linear / matmul and oneDNN (mkldnn)
  fused      Inductor-generated kernels: triton_ on CUDA; on CPU cpp_fused, or the self time of Inductor's
             "## Call CompiledFxGraph ##" event, inside which its C++ kernels run unprofiled (CUDA runs count
             device events only, so that CPU-side event never counts there)
  norm       norm, rsqrt
  other      everything else
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any, Callable

import torch

CATEGORIES = ("gemm", "attention", "fused", "norm", "other")
CATEGORY_LABELS = {"gemm": "GEMM", "attention": "attention", "fused": "fused elementwise (Inductor)",
                   "norm": "norm", "other": "other"}
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("attention", ("flash", "fmha", "attention", "sdpa")),
    ("gemm", ("gemm", "gemv", "cutlass", "xmma", "sm90", "cublas", "nvjet", "triton_tem", "aten::mm",
              "aten::addmm", "aten::bmm", "aten::linear", "aten::matmul", "mkldnn")),
    ("fused", ("triton_", "cpp_fused", "compiledfxgraph")),
    ("norm", ("norm", "rsqrt")),
)
TOP_N = 15


def categorise(name: str) -> str:
    """The category of one kernel (or, on CPU, op) name."""
    low = name.lower()
    for category, patterns in _RULES:
        if any(p in low for p in patterns):
            return category
    return "other"


def summarise(events: list[tuple[str, float]], reps: int, top_n: int = TOP_N) -> dict[str, Any]:
    """(name, microseconds) per event, over ``reps`` profiled steps -> ms per step and share per category, and the
    top ``top_n`` names by time. Shares are of the summed event time (they add up to 1 when anything was seen)."""
    total_us = sum(us for _, us in events)
    by_cat: dict[str, list[float]] = {c: [0.0, 0] for c in CATEGORIES}       # [us, count]
    by_name: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for name, us in events:
        for acc in (by_cat[categorise(name)], by_name[name]):
            acc[0] += us
            acc[1] += 1
    per_step = 1e-3 / max(reps, 1)

    def share(us: float) -> float:
        return round(us / total_us, 6) if total_us > 0 else 0.0

    categories = {c: {"ms_per_step": round(us * per_step, 6), "share": share(us),
                      "calls_per_step": round(n / max(reps, 1), 2)} for c, (us, n) in by_cat.items()}
    top = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:top_n]
    return {"total_ms_per_step": round(total_us * per_step, 6), "events_per_step": round(len(events) / max(reps, 1), 2),
            "categories": categories,
            "top_kernels": [{"name": name[:300], "category": categorise(name), "ms_per_step": round(us * per_step, 6),
                             "share": share(us), "calls_per_step": round(n / max(reps, 1), 2)}
                            for name, (us, n) in top]}


def _is_device_event(evt: Any) -> bool:
    kind = getattr(evt, "device_type", None)
    return kind is not None and getattr(kind, "name", str(kind)).upper() not in ("CPU", "DEVICETYPE.CPU")


def _duration_us(evt: Any) -> float:
    with contextlib.suppress(Exception):
        return float(evt.time_range.elapsed_us())
    return float(getattr(evt, "device_time_total", 0.0) or getattr(evt, "cuda_time_total", 0.0) or 0.0)


def profile_events(step: Callable[[], Any], device: torch.device, warmup: int, reps: int
                   ) -> tuple[list[tuple[str, float]], str]:
    """Run ``step`` ``warmup`` times, then ``reps`` times under ``torch.profiler``. Returns (name, us) per event and
    where they came from: 'cuda kernels' (device events) or 'cpu ops (self time)' when there are none."""
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(reps):
            step()
        if cuda:
            torch.cuda.synchronize()
    events = list(prof.events())
    device_events = [(e.name, _duration_us(e)) for e in events if _is_device_event(e)]
    if device_events:
        return device_events, f"{device.type} kernels"
    return [(e.name, float(e.self_cpu_time_total)) for e in events if not _is_device_event(e)], "cpu ops (self time)"


def breakdown_step(step: Callable[[], Any], device: torch.device, warmup: int, reps: int) -> dict[str, Any]:
    """Profile one step and summarise it; a failure is recorded under 'error' instead of raised."""
    result: dict[str, Any] = {"reps": reps, "warmup": warmup, "source": None, "error": None}
    try:
        events, source = profile_events(step, device, warmup, reps)
        result.update(source=source, **summarise(events, reps))
    except Exception as exc:  # noqa: BLE001 - the profiler is optional extra information; the run goes on
        result["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:400]}"
    return result


def format_breakdown(title: str, entry: dict[str, Any]) -> list[str]:
    """Text table of one profiled step."""
    if entry.get("error"):
        return [f"== {title}: profiler failed: {entry['error']}"]
    if entry.get("skipped_reason"):
        return [f"== {title}: skipped: {entry['skipped_reason']}"]
    lines = [f"== {title}: {entry['total_ms_per_step']:.3f} ms/step of {entry['source']}, "
             f"{entry['events_per_step']:g} events/step over {entry['reps']} steps"]
    lines.append(f"  {'category':<30}{'ms/step':>10}{'share':>8}{'calls':>8}")
    for cat in CATEGORIES:
        c = entry["categories"][cat]
        lines.append(f"  {CATEGORY_LABELS[cat]:<30}{c['ms_per_step']:>10.3f}{100 * c['share']:>7.1f}%"
                     f"{c['calls_per_step']:>8g}")
    lines.append(f"  top {len(entry['top_kernels'])} by time:")
    for k in entry["top_kernels"]:
        name = k["name"] if len(k["name"]) <= 90 else k["name"][:87] + "..."
        lines.append(f"  {k['ms_per_step']:>9.3f} ms {100 * k['share']:>5.1f}% {k['calls_per_step']:>6g}x "
                     f"{k['category']:<9} {name}")
    return lines
