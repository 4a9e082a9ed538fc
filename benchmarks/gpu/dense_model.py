"""The dense Llama/Qwen3-style decoder that ``e2e_dense.py`` times, and the torch.compile set-up for it.

Plain tensors, random weights, nothing downloaded. Each decoder layer runs as two functions, the work before and the
work after attention. They run either as written (eager: one kernel per op) or compiled by torch.compile with
Inductor (``LayerCompiler``), which fuses the elementwise ops (RMSNorm, RoPE, SiLU-mul, residual adds) and leaves
the matmuls to cuBLAS. Attention and the KV-cache write stay eager between the two, so SDPA keeps the forced
backend, and the same two compiled functions serve every layer.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class DecoderShape:
    """The architecture figures the benchmark needs (all projections bias-free, untied lm_head)."""

    name: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    qk_norm: bool
    rope_theta: float
    rms_norm_eps: float

    @property
    def q_size(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        return self.num_kv_heads * self.head_dim

    @property
    def linear_params_per_layer(self) -> int:
        qkv = self.hidden_size * (self.q_size + 2 * self.kv_size)
        out = self.q_size * self.hidden_size
        mlp = 3 * self.hidden_size * self.intermediate_size
        return qkv + out + mlp

    @property
    def norm_params_per_layer(self) -> int:
        return 2 * self.hidden_size + (2 * self.head_dim if self.qk_norm else 0)

    @property
    def decode_params(self) -> int:
        """Parameters read by one decode step: every layer, the final norm and lm_head (the embedding is a gather)."""
        per_layer = self.linear_params_per_layer + self.norm_params_per_layer
        return self.num_layers * per_layer + self.hidden_size + self.vocab_size * self.hidden_size

    @property
    def total_params(self) -> int:
        return self.decode_params + self.vocab_size * self.hidden_size

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        return 2 * self.num_layers * self.kv_size * dtype_bytes

    def prefill_flops(self, isl_tokens: int) -> int:
        """Matmul FLOPs of one batch-1 prefill: linears over all tokens, causal attention (half of S x S),
        lm_head on the last token."""
        linear = 2 * isl_tokens * self.num_layers * self.linear_params_per_layer
        attention = 2 * isl_tokens * isl_tokens * self.num_heads * self.head_dim * self.num_layers
        return linear + attention + 2 * self.hidden_size * self.vocab_size


# Shapes from the published config.json files:
#   https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/config.json
#   https://huggingface.co/Qwen/Qwen3-8B/blob/main/config.json
# Llama 3.1's "llama3" RoPE frequency scaling is left out: it changes the values, not the cost.
CONFIGS: dict[str, DecoderShape] = {
    "llama-3.1-8b": DecoderShape("llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, 128256, False, 500000.0, 1e-5),
    "qwen3-8b": DecoderShape("qwen3-8b", 36, 4096, 32, 8, 128, 12288, 151936, True, 1000000.0, 1e-6),
    "tiny": DecoderShape("tiny", 2, 64, 4, 2, 16, 128, 256, False, 10000.0, 1e-5),
    "tiny-qk": DecoderShape("tiny-qk", 2, 64, 4, 2, 16, 96, 320, True, 10000.0, 1e-6),
}


# ----------------------------------------------------------------------------------------------------- the model

def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    if hasattr(F, "rms_norm"):
        return F.rms_norm(x, (x.shape[-1],), weight, eps)
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * weight


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [B, heads, S, D]; cos/sin: [B, 1, S, D] (rotate-half convention)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, gqa_mode: str) -> torch.Tensor:
    """q: [B, H, Sq, D]; k, v: [B, Hkv, Skv, D]. GQA through SDPA's enable_gqa, or by repeating each KV head for
    its query group (a copy, inside the graph) where enable_gqa is missing or refused by the backend."""
    heads, kv_heads = q.shape[1], k.shape[1]
    if heads != kv_heads and gqa_mode == "enable_gqa":
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
    if heads != kv_heads:
        b, _, length, d = k.shape
        group = heads // kv_heads
        k = k[:, :, None].expand(b, kv_heads, group, length, d).reshape(b, heads, length, d)
        v = v[:, :, None].expand(b, kv_heads, group, length, d).reshape(b, heads, length, d)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


@dataclass
class KvViews:
    """Per-layer K and V views of shape [B, kv_heads, L, head_dim] into preallocated storage."""

    k: list[torch.Tensor]
    v: list[torch.Tensor]


@dataclass
class Layer:
    attn_norm: torch.Tensor
    w_qkv: torch.Tensor        # [q + 2 kv, hidden]  (fused)
    q_norm: torch.Tensor | None
    k_norm: torch.Tensor | None
    w_o: torch.Tensor          # [hidden, q]
    mlp_norm: torch.Tensor
    w_gate_up: torch.Tensor    # [2 inter, hidden]  (fused)
    w_down: torch.Tensor       # [hidden, inter]


def attn_in(s: DecoderShape, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, attn_norm: torch.Tensor,
            w_qkv: torch.Tensor, q_norm: torch.Tensor | None, k_norm: torch.Tensor | None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A layer up to attention. x: [B, S, hidden]; returns q [B, H, S, D] and k, v [B, Hkv, S, D], RoPE applied."""
    b, seq = x.shape[0], x.shape[1]
    h = rms_norm(x, attn_norm, s.rms_norm_eps)
    q, k, v = F.linear(h, w_qkv).split([s.q_size, s.kv_size, s.kv_size], dim=-1)
    q = q.view(b, seq, s.num_heads, s.head_dim)
    k = k.view(b, seq, s.num_kv_heads, s.head_dim)
    v = v.view(b, seq, s.num_kv_heads, s.head_dim)
    if q_norm is not None and k_norm is not None:
        q = rms_norm(q, q_norm, s.rms_norm_eps)
        k = rms_norm(k, k_norm, s.rms_norm_eps)
    q = apply_rope(q.transpose(1, 2), cos, sin)                # [B, H, S, D]
    k = apply_rope(k.transpose(1, 2), cos, sin)                # [B, Hkv, S, D]
    return q, k, v.transpose(1, 2)


def attn_out_mlp(s: DecoderShape, x: torch.Tensor, o: torch.Tensor, w_o: torch.Tensor, mlp_norm: torch.Tensor,
                 w_gate_up: torch.Tensor, w_down: torch.Tensor) -> torch.Tensor:
    """A layer after attention. x: the layer's input [B, S, hidden]; o: attention output [B, H, S, D]."""
    b, seq = x.shape[0], x.shape[1]
    x = x + F.linear(o.transpose(1, 2).reshape(b, seq, s.q_size), w_o)
    h = rms_norm(x, mlp_norm, s.rms_norm_eps)
    gate, up = F.linear(h, w_gate_up).chunk(2, dim=-1)
    return x + F.linear(F.silu(gate) * up, w_down)


@dataclass(frozen=True)
class LayerFns:
    attn_in: Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    attn_out_mlp: Callable[..., torch.Tensor]
    compiled: bool


EAGER_LAYER_FNS = LayerFns(attn_in, attn_out_mlp, compiled=False)

# (argument index, batch dim, sequence dim) of the inputs whose size follows the batch and the sequence length
_VARYING_DIMS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "attn_in": ((1, 0, 1), (2, 0, 2), (3, 0, 2)),             # x [B, S, hidden], cos and sin [B, 1, S, D]
    "attn_out_mlp": ((1, 0, 1), (2, 0, 2)),                    # x [B, S, hidden], o [B, H, S, D]
}


class LayerCompiler:
    """Compiles ``attn_in`` and ``attn_out_mlp`` once each with torch.compile (Inductor, default mode, fullgraph)
    and counts what it compiles.

    The batch and sequence dims are marked dynamic on every call where they are above 1 (Dynamo specialises sizes
    0 and 1), and automatic dynamic shapes are off, so nothing else becomes symbolic: the weights' shapes and the
    head counts stay static. All layers share one compiled graph, since their weights have the same shapes and
    are passed as arguments (Dynamo guards on a tensor's shape, dtype and strides, not its identity). A sweep
    with batch-1 prefills of several lengths and decode steps of several batch sizes compiles three graphs per
    function: [1, S>1], [1, 1] and [B>1, 1].
    """

    def __init__(self, recompile_limit: int = 64) -> None:
        import torch._dynamo
        config = torch._dynamo.config
        for name in ("recompile_limit", "cache_size_limit"):     # renamed in newer torch; set whichever exists
            if hasattr(config, name):
                setattr(config, name, recompile_limit)
        config.automatic_dynamic_shapes = False
        self.recompile_limit = recompile_limit
        self.graphs = {name: 0 for name in _VARYING_DIMS}          # graphs compiled, per function
        self.inductor_s = {name: 0.0 for name in _VARYING_DIMS}    # AOT + Inductor (codegen, kernel builds)
        self.first_call_s = {name: 0.0 for name in _VARYING_DIMS}  # host time of calls that compiled
        self.fns = LayerFns(self._wrap("attn_in", attn_in), self._wrap("attn_out_mlp", attn_out_mlp),
                            compiled=True)

    def reset(self) -> None:
        """Drop every compiled graph (a new model shape starts from nothing) and zero the counts."""
        torch._dynamo.reset()
        for name in _VARYING_DIMS:
            self.graphs[name], self.inductor_s[name], self.first_call_s[name] = 0, 0.0, 0.0

    def total_graphs(self) -> int:
        return sum(self.graphs.values())

    def total_first_call_s(self) -> float:
        return sum(self.first_call_s.values())

    def summary(self) -> dict[str, Any]:
        return {"graphs": dict(self.graphs),
                "recompiles": {name: max(n - 1, 0) for name, n in self.graphs.items()},
                "inductor_s": {name: round(t, 3) for name, t in self.inductor_s.items()},
                "first_call_s": {name: round(t, 3) for name, t in self.first_call_s.items()},
                "total_compile_s": round(self.total_first_call_s(), 3),
                "recompile_limit": self.recompile_limit}

    def _backend(self, name: str) -> Callable[..., Any]:
        def inductor(gm: torch.fx.GraphModule, example_inputs: list[Any]) -> Any:
            from torch._inductor.compile_fx import compile_fx
            t0 = time.perf_counter()
            try:
                return compile_fx(gm, example_inputs)
            finally:
                self.graphs[name] += 1
                self.inductor_s[name] += time.perf_counter() - t0
        return inductor

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        compiled = torch.compile(fn, backend=self._backend(name), fullgraph=True)
        varying = _VARYING_DIMS[name]

        def call(*args: Any) -> Any:
            for index, batch_dim, seq_dim in varying:
                t = args[index]
                for dim in (batch_dim, seq_dim):
                    if t.shape[dim] > 1:
                        torch._dynamo.mark_dynamic(t, dim)
            before = self.graphs[name]
            t0 = time.perf_counter()
            out = compiled(*args)
            if self.graphs[name] != before:
                self.first_call_s[name] += time.perf_counter() - t0
            return out
        return call


class DenseDecoder:
    """A Llama/Qwen3-style decoder over plain tensors (no nn.Module: nothing but the forward is needed)."""

    def __init__(self, shape: DecoderShape, device: torch.device, dtype: torch.dtype, gqa_mode: str,
                 max_positions: int, seed: int = 0) -> None:
        if gqa_mode not in ("enable_gqa", "repeat"):
            raise ValueError(f"gqa_mode={gqa_mode!r}; pick 'enable_gqa' or 'repeat'")
        self.shape, self.gqa_mode, self.dtype = shape, gqa_mode, dtype
        self.layer_fns = EAGER_LAYER_FNS          # LayerCompiler.fns to run the layers compiled
        gen = torch.Generator(device=device)
        gen.manual_seed(seed)

        def weight(rows: int, cols: int) -> torch.Tensor:
            return torch.empty(rows, cols, device=device, dtype=dtype).normal_(0.0, cols**-0.5, generator=gen)

        def ones(n: int) -> torch.Tensor:
            return torch.ones(n, device=device, dtype=dtype)

        s = shape
        self.embed = torch.empty(s.vocab_size, s.hidden_size, device=device, dtype=dtype).normal_(generator=gen)
        self.layers = [
            Layer(attn_norm=ones(s.hidden_size),
                  w_qkv=weight(s.q_size + 2 * s.kv_size, s.hidden_size),
                  q_norm=ones(s.head_dim) if s.qk_norm else None,
                  k_norm=ones(s.head_dim) if s.qk_norm else None,
                  w_o=weight(s.hidden_size, s.q_size),
                  mlp_norm=ones(s.hidden_size),
                  w_gate_up=weight(2 * s.intermediate_size, s.hidden_size),
                  w_down=weight(s.hidden_size, s.intermediate_size))
            for _ in range(s.num_layers)]
        self.final_norm = ones(s.hidden_size)
        self.lm_head = weight(s.vocab_size, s.hidden_size)
        inv_freq = 1.0 / (s.rope_theta ** (torch.arange(0, s.head_dim, 2, device=device, dtype=torch.float32)
                                           / s.head_dim))
        angles = torch.outer(torch.arange(max_positions, device=device, dtype=torch.float32), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)                   # [max_positions, D]
        self.cos_table, self.sin_table = angles.cos().to(dtype), angles.sin().to(dtype)

    def param_count(self) -> int:
        tensors = [self.embed, self.final_norm, self.lm_head]
        for layer in self.layers:
            tensors += [t for t in dataclasses.astuple(layer) if t is not None]
        return sum(t.numel() for t in tensors)

    def forward(self, ids: torch.Tensor, positions: torch.Tensor, cache: KvViews | None = None,
                write_pos: int = 0, eager: bool = False) -> torch.Tensor:
        """ids, positions: [B, S] int64. Returns logits [B, vocab] of the last token of each sequence.

        cache=None: self-attention over the S tokens (causal when S > 1), nothing stored.
        cache given: K/V of the S tokens are written at [write_pos, write_pos + S) and the queries attend to
        [0, write_pos + S). S > 1 with a cache needs write_pos == 0 (a fresh prefill).
        eager=True runs the layers as written even when ``layer_fns`` holds compiled ones (the reference).
        """
        s = self.shape
        b, seq = ids.shape
        if cache is not None and seq > 1 and write_pos != 0:
            raise ValueError(f"multi-token forward with a cache needs write_pos=0, got {write_pos}")
        x = F.embedding(ids, self.embed)                               # [B, S, hidden]
        cos = F.embedding(positions, self.cos_table).unsqueeze(1)      # [B, 1, S, D]
        sin = F.embedding(positions, self.sin_table).unsqueeze(1)
        fns = EAGER_LAYER_FNS if eager else self.layer_fns
        for i, layer in enumerate(self.layers):
            q, k, v = fns.attn_in(s, x, cos, sin, layer.attn_norm, layer.w_qkv, layer.q_norm, layer.k_norm)
            if cache is not None:
                k_cache, v_cache = cache.k[i], cache.v[i]
                k_cache[:, :, write_pos:write_pos + seq].copy_(k)
                v_cache[:, :, write_pos:write_pos + seq].copy_(v)
                k, v = k_cache[:, :, :write_pos + seq], v_cache[:, :, :write_pos + seq]
            o = attend(q, k, v, seq > 1, self.gqa_mode)
            x = fns.attn_out_mlp(s, x, o, layer.w_o, layer.mlp_norm, layer.w_gate_up, layer.w_down)
        last = rms_norm(x[:, -1], self.final_norm, s.rms_norm_eps)     # [B, hidden]: lm_head on last tokens only
        return F.linear(last, self.lm_head)


def kv_views(k_store: list[torch.Tensor], v_store: list[torch.Tensor], shape: DecoderShape, batch: int,
             length: int) -> KvViews:
    """Contiguous [batch, kv_heads, length, head_dim] views over the front of flat per-layer buffers."""
    n = batch * shape.num_kv_heads * length * shape.head_dim
    dims = (batch, shape.num_kv_heads, length, shape.head_dim)
    return KvViews([t[:n].view(dims) for t in k_store], [t[:n].view(dims) for t in v_store])
