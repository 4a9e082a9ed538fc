#!/usr/bin/env python3
"""End-to-end latency of a dense Llama-style decoder on one GPU: held-out truth for the roofline profiler.

The model (``dense_model.py``, beside this script: random bf16 weights, nothing downloaded, no ``transformers``)
is laid out the way a serving engine lays it out: fused QKV and fused gate_up projections, RMSNorm, RoPE, GQA
attention through ``torch.nn.functional.scaled_dot_product_attention`` (flash backend by default), SiLU-gated MLP,
lm_head on the last token in prefill and on every sequence in decode. By default every op runs as its own eager
kernel; ``--compile`` runs each layer's work before and after attention through torch.compile (Inductor), which
fuses the elementwise ops and keeps cuBLAS for the matmuls.

Measured, with CUDA events (median, p10 and p90 of the timed runs after warm-up):
  * prefill at batch 1: a full causal forward over ISL tokens, last-token logits;
  * decode: one new token per sequence against a pre-filled static KV cache of ``context`` tokens, replayed from a
    CUDA graph (plus eager, no-graph steps at a few batch sizes).
Points whose KV cache does not fit in the memory left after the weights (10 % margin) are recorded as skipped.

Run (one GPU, about 2 to 3 minutes for both configs on an H100):
    python3 benchmarks/gpu/e2e_dense.py --configs llama-3.1-8b,qwen3-8b --out $OUT/e2e_dense.json
Compiled layers, one config (about 2 to 3 minutes, most of it compiling):
    python3 benchmarks/gpu/e2e_dense.py --configs llama-3.1-8b --compile --out $OUT/e2e_dense_compiled.json
GPU kernel time per category (GEMM, attention, fused, norm, other) of a 4k prefill and a batch-64 decode step,
from torch.profiler, without the timed points (README: Kernel breakdown):
    python3 benchmarks/gpu/e2e_dense.py --configs llama-3.1-8b --compile --kernel-breakdown --phases none
CPU smoke run (seconds; with --compile, under a minute):
    python3 benchmarks/gpu/e2e_dense.py --quick --device cpu --out /tmp/e2e_dense.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))     # the model lives beside this script
from dense_model import (  # noqa: E402
    CONFIGS,
    DecoderShape,
    DenseDecoder,
    KvViews,
    LayerCompiler,
    attend,
    kv_views,
)
from kernel_breakdown import breakdown_step, format_breakdown  # noqa: E402

__all__ = ["CONFIGS", "DecoderShape", "DenseDecoder", "KvViews", "LayerCompiler", "attend", "kv_views", "main"]

SCHEMA_VERSION = "v1"
GIB = 1024**3
MAX_COMPILE_FAILURES = 2      # a config whose compiles keep failing stops retrying them (each try costs seconds)
COMPILE_MODE = ("torch.compile default mode, Inductor backend, fullgraph, one compiled function for the work before "
                "attention and one for the work after it, shared by all layers; batch and sequence dims marked "
                "dynamic; decode CUDA graphs captured by this script after compiling")


@dataclass(frozen=True)
class Sweep:
    prefill_isl: tuple[int, ...]
    decode_batches: tuple[int, ...]
    decode_contexts: tuple[int, ...]
    eager_batches: tuple[int, ...]
    prefill_warmup: int
    prefill_iters: int
    decode_warmup: int
    decode_replays: int
    breakdown_isl: int            # --kernel-breakdown: one prefill of this many tokens at batch 1 ...
    breakdown_batch: int          # ... and one decode step of this batch at this context
    breakdown_context: int
    breakdown_warmup: int
    breakdown_reps: int           # profiled steps of each


FULL_SWEEP = Sweep(
    prefill_isl=(512, 1024, 2048, 4096, 8192, 16384),
    decode_batches=(1, 8, 16, 32, 64, 128, 256),
    decode_contexts=(1024, 2048, 4096),
    eager_batches=(1, 64),
    prefill_warmup=3, prefill_iters=10, decode_warmup=3, decode_replays=20,
    breakdown_isl=4096, breakdown_batch=64, breakdown_context=2048, breakdown_warmup=2, breakdown_reps=3,
)
QUICK_SWEEP = Sweep(
    prefill_isl=(64,), decode_batches=(1, 4), decode_contexts=(32,), eager_batches=(1,),
    prefill_warmup=1, prefill_iters=1, decode_warmup=1, decode_replays=1,
    breakdown_isl=64, breakdown_batch=4, breakdown_context=32, breakdown_warmup=1, breakdown_reps=2,
)


# ----------------------------------------------------------------------------------------------------- timing

def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def time_ms(fn: Callable[[], Any], device: torch.device, warmup: int, iters: int) -> list[float]:
    """Wall time of each call, in ms. On CUDA: events around each call, the device idle at the start, so eager
    launch gaps count and queued work from an earlier call does not."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(iters):
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    else:
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def capture_graph(step: Callable[[], torch.Tensor], warmup: int, side: Any) -> tuple[Any, torch.Tensor]:
    """Capture ``step`` (static inputs, fixed shapes) into a CUDA graph; returns the graph and its output tensor.
    Warm-up runs on the side stream first, so lazy initialisation (cuBLAS handles, kernel selection) is not
    captured. Pass the same side stream every time: cuBLAS keeps a workspace per stream."""
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(max(warmup, 1)):
            step()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = step()
    torch.cuda.synchronize()
    return graph, out


# ----------------------------------------------------------------------------------------------------- attention set-up

SDPA_BACKENDS = {"flash": "FLASH_ATTENTION", "cudnn": "CUDNN_ATTENTION", "efficient": "EFFICIENT_ATTENTION",
                 "math": "MATH"}


def sdpa_context(backend: str) -> contextlib.AbstractContextManager[Any]:
    """Restrict SDPA to one backend ('auto': PyTorch's own choice)."""
    if backend == "auto":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel([getattr(SDPBackend, SDPA_BACKENDS[backend])])


def probe_attention(shape: DecoderShape, device: torch.device, dtype: torch.dtype, backend: str) -> dict[str, Any]:
    """Find a working (backend, gqa_mode) on small tensors of the model's head layout: the requested backend with
    enable_gqa first, then with repeated KV heads, then PyTorch's own choice."""
    h, hkv, d = shape.num_heads, shape.num_kv_heads, shape.head_dim
    failures: list[str] = []
    for use_backend in dict.fromkeys((backend, "auto")):
        for mode in ("enable_gqa", "repeat"):
            try:
                with sdpa_context(use_backend), torch.inference_mode():
                    q1 = torch.randn(2, h, 1, d, device=device, dtype=dtype)       # decode: 1 query vs a cache
                    kv1 = torch.randn(2, hkv, 33, d, device=device, dtype=dtype)
                    attend(q1, kv1, kv1, False, mode)
                    q2 = torch.randn(1, 48, h, d, device=device, dtype=dtype).transpose(1, 2)  # prefill, causal
                    kv2 = torch.randn(1, 48, hkv, d, device=device, dtype=dtype).transpose(1, 2)
                    attend(q2, kv2, kv2, True, mode)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                return {"sdpa_backend": use_backend, "gqa_mode": mode, "probe_failures": failures}
            except Exception as exc:  # noqa: BLE001 - each refusal is recorded and the next option tried
                failures.append(f"{use_backend}/{mode}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    raise RuntimeError("no SDPA configuration works on this device: " + " | ".join(failures))


# ----------------------------------------------------------------------------------------------------- the sweep

def kv_budget_bytes(device: torch.device, override_gib: float | None) -> tuple[int, str]:
    """Bytes the KV cache may take: 90 % of the memory free after the weights, less 1 GiB for decode activations
    and graph pools (or the --kv-budget-gib override)."""
    if override_gib is not None:
        return int(override_gib * GIB), f"--kv-budget-gib {override_gib}"
    if device.type != "cuda":
        return 1 * GIB, "cpu default 1 GiB"
    free, _total = torch.cuda.mem_get_info(device)
    return max(int(0.9 * free) - GIB, 0), f"0.9 x {free / GIB:.2f} GiB free after weights - 1 GiB reserve"


def decode_plan(shape: DecoderShape, sweep: Sweep, budget_bytes: int, dtype_bytes: int
                ) -> dict[tuple[int, int], str | None]:
    """(batch, context) -> None when its KV cache (context + 1 new token per sequence) fits the budget, else why not."""
    plan: dict[tuple[int, int], str | None] = {}
    for ctx in sweep.decode_contexts:
        for batch in sweep.decode_batches:
            need = batch * (ctx + 1) * shape.kv_bytes_per_token(dtype_bytes)
            plan[(batch, ctx)] = None if need <= budget_bytes else (
                f"kv cache needs {need / GIB:.3g} GiB for batch {batch} x context {ctx}+1, "
                f"budget {budget_bytes / GIB:.3g} GiB")
    return plan


def new_point(config: str, phase: str, batch: int, isl: int | None, context: int | None, graph: bool,
              compiled: bool = False) -> dict[str, Any]:
    return {"config": config, "phase": phase, "batch": batch, "isl_tokens": isl, "context_tokens": context,
            "graph": graph, "compiled": compiled, "ms_median": None, "ms_p10": None, "ms_p90": None,
            "iterations": 0, "skipped_reason": None, "error": None, "note": None,
            "graph_vs_eager_max_abs_diff": None, "compiles": 0, "compile_s": 0.0,
            "compiled_vs_eager_max_abs_diff": None, "eager_logits_max_abs": None}


def compare_to_eager(point: dict[str, Any], out: torch.Tensor, reference: torch.Tensor) -> None:
    """Largest |compiled - eager| logit, and the largest |eager| logit for scale."""
    point["compiled_vs_eager_max_abs_diff"] = (out.float() - reference.float()).abs().max().item()
    point["eager_logits_max_abs"] = reference.float().abs().max().item()


def fill_timing(point: dict[str, Any], times: list[float]) -> None:
    point.update(ms_median=round(percentile(times, 50), 4), ms_p10=round(percentile(times, 10), 4),
                 ms_p90=round(percentile(times, 90), 4), iterations=len(times))


class Runner:
    """Runs the sweep, keeps the JSON document and rewrites it after every point (a cut-off run keeps its data)."""

    def __init__(self, args: argparse.Namespace, device: torch.device, dtype: torch.dtype, sweep: Sweep,
                 out: Path, doc: dict[str, Any]) -> None:
        self.args, self.device, self.dtype, self.sweep, self.out, self.doc = args, device, dtype, sweep, out, doc
        self.t0 = time.monotonic()
        self.deadline = self.t0 + args.time_budget_s
        self.side_stream: Any = None              # one warm-up stream for every graph capture
        self.compiler = LayerCompiler() if args.compile else None
        self.compile_failures: dict[str, int] = {}    # per config: points that failed inside Dynamo or Inductor

    def write(self) -> None:
        self.doc["wall_s"] = round(time.monotonic() - self.t0, 2)
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(json.dumps(self.doc, indent=1))
        os.replace(tmp, self.out)

    def measure(self, point: dict[str, Any], fn: Callable[[], list[float]]) -> None:
        if time.monotonic() > self.deadline:
            point["skipped_reason"] = f"time budget of {self.args.time_budget_s:.0f} s used up (--time-budget-s)"
        elif self.compile_failures.get(point["config"], 0) >= MAX_COMPILE_FAILURES:
            point["skipped_reason"] = (f"{MAX_COMPILE_FAILURES} points of this config failed to compile; "
                                       "not compiling again (see their error)")
        elif point["skipped_reason"] is None:
            graphs = self.compiler.total_graphs() if self.compiler else 0
            compile_s = self.compiler.total_first_call_s() if self.compiler else 0.0
            try:
                fill_timing(point, fn())
            except Exception as exc:  # noqa: BLE001 - one failed point must not lose the rest of a one-shot run
                point["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:400]}"   # one line
                if self.compiler and type(exc).__module__.startswith(("torch._dynamo", "torch._inductor")):
                    self.compile_failures[point["config"]] = self.compile_failures.get(point["config"], 0) + 1
                if self.device.type == "cuda":
                    with contextlib.suppress(Exception):
                        torch.cuda.synchronize()
                        torch.cuda.empty_cache()
            if self.compiler:                     # what this point compiled (its first calls of new shapes)
                point["compiles"] = self.compiler.total_graphs() - graphs
                point["compile_s"] = round(self.compiler.total_first_call_s() - compile_s, 3)
                self.doc["configs"][point["config"]]["compile"] = self.compiler.summary()
        self.doc["points"].append(point)
        self.write()
        what = f"isl={point['isl_tokens']}" if point["phase"] == "prefill" else f"ctx={point['context_tokens']}"
        mode = ("graph" if point["graph"] else "eager") + ("+compiled" if point["compiled"] else "")
        result = (f"{point['ms_median']:10.3f} ms" if point["ms_median"] is not None
                  else f"skipped: {point['skipped_reason']}" if point["skipped_reason"] else f"ERROR {point['error']}")
        built = f" (compiled {point['compiles']} graphs in {point['compile_s']:.1f} s)" if point["compiles"] else ""
        print(f"[{time.monotonic() - self.t0:6.1f}s] {point['config']:<13} {point['phase']:<7} B={point['batch']:<4}"
              f"{what:<10} {mode:<5} {result}{built}", flush=True)

    def run_config(self, shape: DecoderShape) -> None:
        dev, sweep, cuda = self.device, self.sweep, self.device.type == "cuda"
        info: dict[str, Any] = {"shape": dataclasses.asdict(shape), "dtype": str(self.dtype).removeprefix("torch.")}
        self.doc["configs"][shape.name] = info
        attn = probe_attention(shape, dev, self.dtype, self.args.sdpa_backend)
        info.update(attn)
        max_positions = max(max(sweep.prefill_isl), max(sweep.decode_contexts) + 1, sweep.breakdown_isl,
                            sweep.breakdown_context + 1)
        model = DenseDecoder(shape, dev, self.dtype, attn["gqa_mode"], max_positions)
        if self.compiler:
            self.compiler.reset()                 # this shape's graphs and counts start from nothing
            model.layer_fns = self.compiler.fns
            info["compile"] = self.compiler.summary()
        dtype_bytes = self.dtype.itemsize if hasattr(self.dtype, "itemsize") else torch.finfo(self.dtype).bits // 8
        info.update(weight_params=model.param_count(), decode_weight_bytes=shape.decode_params * dtype_bytes,
                    kv_bytes_per_token=shape.kv_bytes_per_token(dtype_bytes))
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(dev)
            info["memory_after_weights_bytes"] = torch.cuda.memory_allocated(dev)
        self.write()
        print(f"{shape.name}: {info['weight_params'] / 1e9:.3g} B params, sdpa backend {attn['sdpa_backend']}, "
              f"gqa via {attn['gqa_mode']}" + (f" (refused: {'; '.join(attn['probe_failures'])})"
                                                if attn["probe_failures"] else ""), flush=True)
        gen = torch.Generator(device=dev)
        gen.manual_seed(1)
        with sdpa_context(attn["sdpa_backend"]), torch.inference_mode():
            for isl in sweep.prefill_isl if "prefill" in self.args.phases else ():
                point = new_point(shape.name, "prefill", 1, isl, None, False, self.compiler is not None)
                ids = torch.randint(0, shape.vocab_size, (1, isl), device=dev, generator=gen)
                pos = torch.arange(isl, device=dev)[None]
                self.measure(point, lambda: self.time_prefill(point, model, ids, pos))
            if cuda:
                torch.cuda.empty_cache()
            if "decode" in self.args.phases:
                self.run_decode(shape, model, info, dtype_bytes, gen)
            if self.args.kernel_breakdown:
                if cuda:
                    torch.cuda.empty_cache()
                self.run_breakdown(shape, model, dtype_bytes, gen)
        del model
        if cuda:
            info["peak_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(dev)
            self.write()
            torch.cuda.synchronize()
            torch.cuda.empty_cache()

    def run_decode(self, shape: DecoderShape, model: DenseDecoder, info: dict[str, Any], dtype_bytes: int,
                   gen: torch.Generator) -> None:
        dev, sweep, cuda = self.device, self.sweep, self.device.type == "cuda"
        budget, how = kv_budget_bytes(dev, self.args.kv_budget_gib)
        plan = decode_plan(shape, sweep, budget, dtype_bytes)
        alloc_tokens = max((b * (c + 1) for (b, c), reason in plan.items() if reason is None), default=0)
        info.update(kv_budget_bytes=budget, kv_budget_rule=how, kv_alloc_tokens=alloc_tokens)
        print(f"{shape.name}: kv budget {budget / GIB:.3g} GiB ({how}); allocating {alloc_tokens} tokens", flush=True)
        n_elems = alloc_tokens * shape.kv_size
        k_store = [torch.empty(n_elems, device=dev, dtype=self.dtype) for _ in range(shape.num_layers)]
        v_store = [torch.empty(n_elems, device=dev, dtype=self.dtype) for _ in range(shape.num_layers)]
        for t in k_store + v_store:
            t.normal_(generator=gen)                            # a pre-filled cache: values do not change the cost
        self.write()
        eager_pairs = {(b, c) for b in sweep.eager_batches for c in sweep.decode_contexts}
        for ctx in sweep.decode_contexts:
            for batch in sweep.decode_batches:
                # on cuda: a graph point, plus an eager one for the eager batches or when the graph failed;
                # on cpu: one eager point
                for graph in ((True, False) if cuda else (False,)):
                    point = new_point(shape.name, "decode", batch, None, ctx, graph, self.compiler is not None)
                    if not graph and cuda and (batch, ctx) not in eager_pairs:
                        if not graph_failed:
                            continue
                        point["note"] = "timed eagerly because the graph point failed"
                    if plan[(batch, ctx)] is not None:
                        point["skipped_reason"] = f"{plan[(batch, ctx)]} ({how})"
                    elif not cuda:
                        point["note"] = "cuda graphs need --device cuda; timed eagerly"
                    self.measure(point, lambda: self.time_decode(point, model, k_store, v_store, graph, gen))
                    graph_failed = point["error"] is not None
        del k_store, v_store

    def run_breakdown(self, shape: DecoderShape, model: DenseDecoder, dtype_bytes: int,
                      gen: torch.Generator) -> None:
        """--kernel-breakdown: torch.profiler around a few prefill steps and a few eager-launched decode steps
        (compiled layers with --compile), plus, on CUDA, a few replays of the same decode step's CUDA graph (some
        torch versions show no kernels for a replay; the entry says what the profiler saw). Failures are recorded."""
        dev, sw, cuda = self.device, self.sweep, self.device.type == "cuda"
        entry: dict[str, Any] = {"compiled": self.compiler is not None}
        self.doc["kernel_breakdown"][shape.name] = entry
        t0 = time.monotonic()
        late = (f"time budget of {self.args.time_budget_s:.0f} s used up (--time-budget-s)"
                if time.monotonic() > self.deadline else None)
        isl, batch, ctx = sw.breakdown_isl, sw.breakdown_batch, sw.breakdown_context
        ids = torch.randint(0, shape.vocab_size, (1, isl), device=dev, generator=gen)
        pos = torch.arange(isl, device=dev)[None]
        entry["prefill"] = {"batch": 1, "isl_tokens": isl, "launch": "eager", "skipped_reason": late}
        if late is None:
            entry["prefill"].update(breakdown_step(lambda: model.forward(ids, pos), dev, sw.breakdown_warmup,
                                                   sw.breakdown_reps))
        del ids, pos
        self.write()
        budget, how = kv_budget_bytes(dev, self.args.kv_budget_gib)
        need = batch * (ctx + 1) * shape.kv_bytes_per_token(dtype_bytes)
        common = {"batch": batch, "context_tokens": ctx, "skipped_reason": late or (
            None if need <= budget else f"kv cache needs {need / GIB:.3g} GiB, budget {budget / GIB:.3g} GiB ({how})")}
        entry["decode"] = {**common, "launch": "eager (no graph)"}
        if cuda:
            entry["decode_graph"] = {**common, "launch": "cuda graph replay"}
        if common["skipped_reason"] is None:
            try:
                self.breakdown_decode(entry, shape, model, gen)
            except Exception as exc:  # noqa: BLE001 - e.g. out of memory for the cache: recorded, the run goes on
                entry["decode"]["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:400]}"
                if cuda:
                    with contextlib.suppress(Exception):
                        torch.cuda.synchronize()
                        torch.cuda.empty_cache()
        entry["wall_s"] = round(time.monotonic() - t0, 2)
        self.write()
        print(f"[{time.monotonic() - self.t0:6.1f}s] {shape.name:<13} kernel breakdown in {entry['wall_s']:.1f} s",
              flush=True)

    def breakdown_decode(self, entry: dict[str, Any], shape: DecoderShape, model: DenseDecoder,
                         gen: torch.Generator) -> None:
        dev, sw = self.device, self.sweep
        batch, ctx = sw.breakdown_batch, sw.breakdown_context
        n_elems = batch * (ctx + 1) * shape.kv_size
        k_store = [torch.randn(n_elems, device=dev, dtype=self.dtype, generator=gen)
                   for _ in range(shape.num_layers)]
        v_store = [torch.randn(n_elems, device=dev, dtype=self.dtype, generator=gen)
                   for _ in range(shape.num_layers)]
        cache = kv_views(k_store, v_store, shape, batch, ctx + 1)
        d_ids = torch.randint(0, shape.vocab_size, (batch, 1), device=dev, generator=gen)
        d_pos = torch.full((batch, 1), ctx, device=dev, dtype=torch.long)

        def step() -> torch.Tensor:
            return model.forward(d_ids, d_pos, cache, write_pos=ctx)

        entry["decode"].update(breakdown_step(step, dev, sw.breakdown_warmup, sw.breakdown_reps))
        self.write()
        if dev.type == "cuda":
            self.breakdown_graph(entry, step)
        del k_store, v_store, cache

    def breakdown_graph(self, entry: dict[str, Any], step: Callable[[], torch.Tensor]) -> None:
        """Profile replays of the decode step's CUDA graph; note whether the profiler saw its kernels."""
        graph_entry = entry["decode_graph"]
        try:
            if self.side_stream is None:
                self.side_stream = torch.cuda.Stream()
            cuda_graph, _out = capture_graph(step, self.sweep.breakdown_warmup, self.side_stream)
        except Exception as exc:  # noqa: BLE001 - recorded; the eager breakdown stands
            graph_entry["error"] = f"capture failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            return
        try:
            graph_entry.update(breakdown_step(cuda_graph.replay, self.device, self.sweep.breakdown_warmup,
                                              self.sweep.breakdown_reps))
        finally:
            del cuda_graph, _out
        eager = entry["decode"]
        seen = graph_entry.get("source") == "cuda kernels" and graph_entry.get("events_per_step", 0) > 0
        graph_entry["kernels_visible"] = seen
        if seen and eager.get("events_per_step"):
            graph_entry["note"] = (f"profiler saw {graph_entry['events_per_step']:g} device events per replay "
                                   f"vs {eager['events_per_step']:g} per eager-launched step")
        elif graph_entry.get("error") is None:
            graph_entry["note"] = "profiler saw no kernels inside the graph replays; use the eager-launched entry"

    def time_prefill(self, point: dict[str, Any], model: DenseDecoder, ids: torch.Tensor,
                     pos: torch.Tensor) -> list[float]:
        times = time_ms(lambda: model.forward(ids, pos), self.device, self.sweep.prefill_warmup,
                        self.sweep.prefill_iters)
        if self.compiler:
            compare_to_eager(point, model.forward(ids, pos), model.forward(ids, pos, eager=True))
        return times

    def time_decode(self, point: dict[str, Any], model: DenseDecoder, k_store: list[torch.Tensor],
                    v_store: list[torch.Tensor], graph: bool, gen: torch.Generator) -> list[float]:
        batch, ctx = point["batch"], point["context_tokens"]
        shape, dev, sweep = model.shape, self.device, self.sweep
        cache = kv_views(k_store, v_store, shape, batch, ctx + 1)    # static tensors: the graph keeps their addresses
        ids = torch.randint(0, shape.vocab_size, (batch, 1), device=dev, generator=gen)
        positions = torch.full((batch, 1), ctx, device=dev, dtype=torch.long)

        def step() -> torch.Tensor:
            return model.forward(ids, positions, cache, write_pos=ctx)

        def reference() -> torch.Tensor:         # the same step with the layers run as written
            return model.forward(ids, positions, cache, write_pos=ctx, eager=True)

        if not graph:
            times = time_ms(step, dev, sweep.decode_warmup, sweep.decode_replays)
            if self.compiler:
                compare_to_eager(point, step(), reference())
            return times
        if self.side_stream is None:
            self.side_stream = torch.cuda.Stream()
        cuda_graph, graph_out = capture_graph(step, sweep.decode_warmup, self.side_stream)
        try:
            times = time_ms(cuda_graph.replay, dev, sweep.decode_warmup, sweep.decode_replays)
            eager_out = step()            # same inputs, same cache write: the replayed graph must give the same logits
            torch.cuda.synchronize()
            point["graph_vs_eager_max_abs_diff"] = (graph_out.float() - eager_out.float()).abs().max().item()
            if self.compiler:
                compare_to_eager(point, graph_out, reference())
            return times
        finally:
            del cuda_graph, graph_out


# ----------------------------------------------------------------------------------------------------- report

def environment(device: torch.device) -> dict[str, Any]:
    env: dict[str, Any] = {"torch_version": torch.__version__, "cuda_version": torch.version.cuda,
                           "python_version": platform.python_version(), "platform": platform.platform(),
                           "device_type": device.type, "device_name": platform.processor() or "cpu",
                           "sm_count": None, "compute_capability": None, "total_memory_bytes": None,
                           "cudnn_version": None, "flash_attention_impl": None}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(device_name=props.name, sm_count=props.multi_processor_count,
                   compute_capability=f"{props.major}.{props.minor}", total_memory_bytes=props.total_memory,
                   cudnn_version=torch.backends.cudnn.version())
    with contextlib.suppress(Exception):
        from torch.nn import attention
        env["flash_attention_impl"] = attention.current_flash_attention_impl()
    env["triton_version"] = None
    with contextlib.suppress(Exception):
        import triton
        env["triton_version"] = triton.__version__
    return env


def _sig(x: float) -> float:
    return float(f"{x:.4g}")


def _ok(points: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [p for p in points if p["ms_median"] is not None and all(p[k] == v for k, v in match.items())]


def sanity_figures(doc: dict[str, Any]) -> dict[str, Any]:
    """Achieved TFLOP/s of the 8k prefill (or the longest measured) and GB/s of the batch-1 decode step."""
    out: dict[str, Any] = {}
    for name, info in doc["configs"].items():
        shape = DecoderShape(**info["shape"])
        fig: dict[str, Any] = {}
        prefill = _ok(doc["points"], config=name, phase="prefill")
        if prefill:
            p = next((q for q in prefill if q["isl_tokens"] == 8192), max(prefill, key=lambda q: q["isl_tokens"]))
            flops = shape.prefill_flops(p["isl_tokens"])
            fig.update(prefill_isl_tokens=p["isl_tokens"], prefill_flops=flops,
                       prefill_tflops_per_s=_sig(flops / (p["ms_median"] * 1e-3) / 1e12))
        decode = _ok(doc["points"], config=name, phase="decode", batch=1)
        decode = [q for q in decode if q["graph"]] or decode
        if decode:
            p = min(decode, key=lambda q: q["context_tokens"])
            weights = info["decode_weight_bytes"]
            kv = (p["context_tokens"] + 1) * info["kv_bytes_per_token"]
            seconds = p["ms_median"] * 1e-3
            fig.update(decode_context_tokens=p["context_tokens"], decode_graph=p["graph"],
                       decode_weight_gb_per_s=_sig(weights / seconds / 1e9),
                       decode_weight_plus_kv_gb_per_s=_sig((weights + kv) / seconds / 1e9))
        out[name] = fig
    return out


def _cell(points: list[dict[str, Any]]) -> str:
    if not points:
        return "-"
    p = points[0]
    if p["ms_median"] is not None:
        return f"{p['ms_median']:.2f}"
    return "skip" if p["skipped_reason"] else "ERR"


def print_tables(doc: dict[str, Any], sweep: Sweep) -> None:
    pts = doc["points"]
    for name in doc["configs"]:
        mine = [p for p in pts if p["config"] == name]
        print(f"\n== {name}: prefill, batch 1, ms median")
        print("  isl   " + "".join(f"{s:>10}" for s in sweep.prefill_isl))
        print("  ms    " + "".join(f"{_cell([p for p in mine if p['phase'] == 'prefill' and p['isl_tokens'] == s]):>10}"
                                  for s in sweep.prefill_isl))
        for graph, label in ((True, "CUDA graph"), (False, "eager")):
            rows = sorted({p["batch"] for p in mine if p["phase"] == "decode" and p["graph"] == graph})
            if not rows:
                continue
            print(f"== {name}: decode step, {label}, ms median (rows: batch, columns: context)")
            print("  batch " + "".join(f"{c:>10}" for c in sweep.decode_contexts))
            for b in rows:
                cells = [_cell([p for p in mine if p["phase"] == "decode" and p["graph"] == graph
                                and p["batch"] == b and p["context_tokens"] == c]) for c in sweep.decode_contexts]
                print(f"  {b:>5} " + "".join(f"{c:>10}" for c in cells))
    print("\n== sanity")
    for name, fig in doc["sanity"].items():
        parts = []
        if "prefill_tflops_per_s" in fig:
            parts.append(f"prefill {fig['prefill_isl_tokens']} tokens: {fig['prefill_tflops_per_s']} TFLOP/s")
        if "decode_weight_gb_per_s" in fig:
            parts.append(f"decode B=1 ctx {fig['decode_context_tokens']}: {fig['decode_weight_gb_per_s']} GB/s "
                         f"weights ({fig['decode_weight_plus_kv_gb_per_s']} GB/s with KV)")
        print(f"  {name}: " + "; ".join(parts))
    failed = [p for p in pts if p["error"]]
    skipped = [p for p in pts if p["skipped_reason"]]
    print(f"  points: {len(pts)} total, {len(skipped)} skipped, {len(failed)} failed; wall {doc['wall_s']} s")
    for p in failed[:5]:
        print(f"  failed {p['config']} {p['phase']} B={p['batch']}: {p['error']}")


def print_breakdowns(doc: dict[str, Any]) -> None:
    for name, entry in doc["kernel_breakdown"].items():
        mode = "compiled layers" if entry["compiled"] else "eager layers"
        for key in ("prefill", "decode", "decode_graph"):
            if key not in entry:
                continue
            e = entry[key]
            what = (f"prefill B=1 isl={e['isl_tokens']}" if key == "prefill"
                    else f"decode B={e['batch']} ctx={e['context_tokens']}")
            print("\n" + "\n".join(format_breakdown(f"{name}: kernel breakdown, {what}, {mode}, {e['launch']}", e)))
            if e.get("note"):
                print(f"  note: {e['note']}")


# ----------------------------------------------------------------------------------------------------- entry point

def default_out() -> Path:
    base = os.environ.get("OUT")
    return Path(base) / "e2e_dense.json" if base else Path("e2e_dense.json")


PHASES = ("prefill", "decode")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=None,
                    help=f"comma-separated, from {', '.join(CONFIGS)} (default: llama-3.1-8b,qwen3-8b; tiny with --quick)")
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1-2 points per phase, 1 iteration each")
    ap.add_argument("--out", type=Path, default=None, help="JSON path (default $OUT/e2e_dense.json, else ./e2e_dense.json)")
    ap.add_argument("--dtype", choices=("bfloat16", "float16", "float32"), default="bfloat16")
    ap.add_argument("--sdpa-backend", choices=("flash", "cudnn", "efficient", "math", "auto"), default=None,
                    help="SDPA backend to force (default: flash on cuda, auto on cpu); falls back to auto if refused")
    ap.add_argument("--kv-budget-gib", type=float, default=None,
                    help="override the KV cache budget (default on cuda: 0.9 x free after weights - 1 GiB)")
    ap.add_argument("--time-budget-s", type=float, default=225.0,
                    help="points not started by then are recorded as skipped (default 225)")
    ap.add_argument("--compile", action="store_true",
                    help="run each layer's pre- and post-attention work through torch.compile (Inductor, default "
                         "mode): fused elementwise ops, cuBLAS matmuls; decode graphs are captured after compiling")
    ap.add_argument("--phases", default="prefill,decode",
                    help="comma-separated phases to run, from prefill, decode (default both); 'none' (with "
                         "--kernel-breakdown) times no points and runs the breakdown alone")
    ap.add_argument("--kernel-breakdown", action="store_true",
                    help="after the points, profile a few prefill and decode steps (torch.profiler) and record "
                         "GPU kernel time per category (GEMM, attention, fused, norm, other) and the top kernels")
    args = ap.parse_args(argv)
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    if phases == ("none",) and args.kernel_breakdown:
        phases = ()
    elif not phases or set(phases) - set(PHASES):
        ap.error(f"--phases {args.phases!r}: pick one or both of {', '.join(PHASES)}"
                 " (or 'none' with --kernel-breakdown)")
    args.phases = phases
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in (args.configs or ("tiny" if args.quick else "llama-3.1-8b,qwen3-8b")).split(",")]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or not names:
        print(f"e2e_dense: unknown config {unknown or names}; pick from {', '.join(CONFIGS)}", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"e2e_dense: --device cuda but torch {torch.__version__} sees no CUDA device; use --device cpu",
              file=sys.stderr)
        return 2
    if args.compile and args.device == "cuda" and importlib.util.find_spec("triton") is None:
        print(f"e2e_dense: --compile on cuda needs triton (Inductor's GPU kernels), which torch {torch.__version__} "
              "here lacks; install the triton that matches torch, or drop --compile", file=sys.stderr)
        return 2
    if args.sdpa_backend is None:
        args.sdpa_backend = "flash" if args.device == "cuda" else "auto"
    device = torch.device("cuda", torch.cuda.current_device()) if args.device == "cuda" else torch.device("cpu")
    dtype = getattr(torch, args.dtype)
    sweep = QUICK_SWEEP if args.quick else FULL_SWEEP
    out = args.out or default_out()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "benchmark": "e2e_dense",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": [sys.argv[0], *(argv if argv is not None else sys.argv[1:])],
        "environment": environment(device),
        "settings": {**dataclasses.asdict(sweep), "quick": args.quick, "dtype": args.dtype,
                     "sdpa_backend_requested": args.sdpa_backend, "time_budget_s": args.time_budget_s,
                     "phases": list(args.phases), "compile": args.compile,
                     "kernel_breakdown": args.kernel_breakdown,
                     "compile_mode": COMPILE_MODE if args.compile else None,
                     "kv_margin": "10 % of free memory after weights, plus 1 GiB reserve",
                     "timing": "CUDA events around each call, device synchronised before each; median/p10/p90"},
        "configs": {}, "points": [], "sanity": {}, "kernel_breakdown": {}, "wall_s": None, "complete": False,
    }
    runner = Runner(args, device, dtype, sweep, out, doc)
    env = doc["environment"]
    print(f"e2e_dense: torch {env['torch_version']} cuda {env['cuda_version']} on {env['device_name']} "
          f"(SMs {env['sm_count']}); configs {', '.join(names)}; phases {', '.join(args.phases)}"
          f"{'; layers compiled (Inductor)' if args.compile else ''}; writing {out}", flush=True)
    for name in names:
        try:
            runner.run_config(CONFIGS[name])
        except Exception as exc:  # noqa: BLE001 - record and go on to the next config
            doc["configs"].setdefault(name, {})["error"] = f"{type(exc).__name__}: {exc}"[:500]
            print(f"e2e_dense: config {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            if device.type == "cuda":
                with contextlib.suppress(Exception):
                    torch.cuda.empty_cache()
    doc["sanity"] = sanity_figures({**doc, "configs": {k: v for k, v in doc["configs"].items() if "shape" in v}})
    doc["complete"] = True
    runner.write()
    print_tables(doc, sweep)
    print_breakdowns(doc)
    print(f"e2e_dense: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
