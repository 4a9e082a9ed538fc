"""ModelSpec: the architecture of a transformer LLM, and the figures derived from it (parameters, bytes, KV size).

A ModelSpec is built from a Hugging Face ``config.json`` (see ``disagg_pipelines.catalog``); it holds only what the
cost model needs. Counting follows the module structure of the reference implementations: every linear layer,
embedding, norm and bias is counted once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeInt, PositiveInt, model_validator

from disagg_pipelines.domain.precision import Precision
from disagg_pipelines.domain.strict import Strict


class MoeSpec(Strict):
    """Routed and shared experts of a mixture-of-experts MLP."""

    num_experts: PositiveInt                 # routed experts per MoE layer
    experts_per_token: PositiveInt           # top-k
    expert_intermediate_size: PositiveInt
    num_shared_experts: NonNegativeInt = 0   # always-on experts, each of expert_intermediate_size
    shared_intermediate_size: NonNegativeInt = 0  # 0: num_shared_experts x expert_intermediate_size
    first_dense_layers: NonNegativeInt = 0   # leading layers with a dense MLP (DeepSeek: 3)
    router_bias: bool = False
    expert_bias: bool = False                # bias on expert projections (gpt-oss)

    @model_validator(mode="after")
    def _top_k_fits(self) -> MoeSpec:
        if self.experts_per_token > self.num_experts:
            raise ValueError(
                f"experts_per_token={self.experts_per_token} exceeds num_experts={self.num_experts}; "
                f"pick a value in 1..{self.num_experts}")
        return self

    @property
    def shared_size(self) -> int:
        return self.shared_intermediate_size or self.num_shared_experts * self.expert_intermediate_size


class MlaSpec(Strict):
    """Multi-head latent attention (DeepSeek-V2/V3): a compressed KV latent plus a decoupled RoPE key."""

    kv_lora_rank: PositiveInt
    q_lora_rank: NonNegativeInt = 0          # 0: queries projected directly from hidden
    qk_nope_head_dim: PositiveInt
    qk_rope_head_dim: PositiveInt
    v_head_dim: PositiveInt


class ModelSpec(Strict):
    """A decoder-only transformer: dense (MHA/GQA), MoE (routed + shared experts) and MLA variants."""

    name: str                                # Hugging Face id or a local name
    architecture: str = "LlamaForCausalLM"   # config.json "architectures"[0], for the record
    num_layers: PositiveInt
    hidden_size: PositiveInt
    num_attention_heads: PositiveInt
    num_kv_heads: PositiveInt
    head_dim: PositiveInt
    intermediate_size: PositiveInt           # dense MLP width (gated: gate, up, down)
    vocab_size: PositiveInt
    tie_word_embeddings: bool = False
    attention_bias: bool = False             # q/k/v projections carry a bias
    attention_out_bias: bool = False         # the output projection carries a bias
    qk_norm: bool = False                    # per-head RMSNorm on q and k (Qwen3)
    attention_sinks: bool = False            # one learned sink logit per head and layer (gpt-oss)
    sliding_window_tokens: PositiveInt | None = None
    num_sliding_layers: NonNegativeInt = 0   # layers that attend only to the last sliding_window_tokens
    max_position_embeddings: PositiveInt = 131072
    moe: MoeSpec | None = None
    mla: MlaSpec | None = None
    native_precision: Literal["bf16", "fp8", "fp4"] = "bf16"  # how the published checkpoint stores its weights

    @model_validator(mode="after")
    def _heads_consistent(self) -> ModelSpec:
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError(
                f"num_kv_heads={self.num_kv_heads} does not divide num_attention_heads={self.num_attention_heads}")
        if self.num_sliding_layers > self.num_layers:
            raise ValueError(f"num_sliding_layers={self.num_sliding_layers} exceeds num_layers={self.num_layers}")
        if self.num_sliding_layers and self.sliding_window_tokens is None:
            raise ValueError("num_sliding_layers is set but sliding_window_tokens is not")
        if self.moe is not None and self.moe.first_dense_layers > self.num_layers:
            raise ValueError(f"moe.first_dense_layers={self.moe.first_dense_layers} exceeds num_layers={self.num_layers}")
        return self

    # ---- structure ---------------------------------------------------------------------------------
    @property
    def attention_kind(self) -> Literal["mha", "gqa", "mla"]:
        if self.mla is not None:
            return "mla"
        return "mha" if self.num_kv_heads == self.num_attention_heads else "gqa"

    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    @property
    def num_moe_layers(self) -> int:
        return 0 if self.moe is None else self.num_layers - self.moe.first_dense_layers

    @property
    def num_dense_mlp_layers(self) -> int:
        return self.num_layers - self.num_moe_layers

    # ---- parameter counts (per layer, then totals) ---------------------------------------------------
    @property
    def attention_params_per_layer(self) -> int:
        h = self.hidden_size
        if self.mla is not None:
            m = self.mla
            qk_dim = m.qk_nope_head_dim + m.qk_rope_head_dim
            if m.q_lora_rank:
                q = h * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * self.num_attention_heads * qk_dim
            else:
                q = h * self.num_attention_heads * qk_dim
            kv_a = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
            kv_b = m.kv_lora_rank * self.num_attention_heads * (m.qk_nope_head_dim + m.v_head_dim)
            o = self.num_attention_heads * m.v_head_dim * h
            return q + kv_a + kv_b + o
        q_dim = self.num_attention_heads * self.head_dim
        kv_dim = self.num_kv_heads * self.head_dim
        params = h * q_dim + 2 * h * kv_dim + q_dim * h
        if self.attention_bias:
            params += q_dim + 2 * kv_dim
        if self.attention_out_bias:
            params += h
        if self.qk_norm:
            params += 2 * self.head_dim
        if self.attention_sinks:
            params += self.num_attention_heads
        return params

    @property
    def dense_mlp_params_per_layer(self) -> int:
        return 3 * self.hidden_size * self.intermediate_size

    @property
    def expert_params(self) -> int:
        """Parameters of one routed expert (gated MLP, with biases where the model has them)."""
        if self.moe is None:
            return 0
        h, i = self.hidden_size, self.moe.expert_intermediate_size
        return 3 * h * i + ((2 * i + h) if self.moe.expert_bias else 0)

    @property
    def moe_shared_params_per_layer(self) -> int:
        """Router plus shared experts: the MoE-layer parameters every token uses."""
        if self.moe is None:
            return 0
        router = self.hidden_size * self.moe.num_experts + (self.moe.num_experts if self.moe.router_bias else 0)
        return router + 3 * self.hidden_size * self.moe.shared_size

    @property
    def norm_params_per_layer(self) -> int:
        return 2 * self.hidden_size

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def lm_head_params(self) -> int:
        return 0 if self.tie_word_embeddings else self.vocab_size * self.hidden_size

    @property
    def total_params(self) -> int:
        per_layer = self.attention_params_per_layer + self.norm_params_per_layer
        total = self.num_layers * per_layer
        total += self.num_dense_mlp_layers * self.dense_mlp_params_per_layer
        if self.moe is not None:
            total += self.num_moe_layers * (self.moe_shared_params_per_layer + self.moe.num_experts * self.expert_params)
        return total + self.embedding_params + self.lm_head_params + self.hidden_size  # + final norm

    @property
    def active_params(self) -> int:
        """Parameters one token touches: all but the routed experts it is not sent to (embeddings included)."""
        if self.moe is None:
            return self.total_params
        unused = self.num_moe_layers * (self.moe.num_experts - self.moe.experts_per_token) * self.expert_params
        return self.total_params - unused

    @property
    def active_params_excluding_embedding(self) -> int:
        """Active parameters without the input embedding (a table lookup, not a GEMM); the lm_head stays in.

        This is how DeepSeek (README_WEIGHTS.md: 36.6 B "including 0.9 B for the output Head") and OpenAI (gpt-oss
        model card) count active parameters; Mistral and Qwen quote ``active_params`` (embeddings included).
        """
        return self.active_params - self.embedding_params

    @property
    def linear_params(self) -> int:
        """Parameters of the transformer blocks' linear layers: the part fp8/fp4 quantization applies to."""
        return self.total_params - self.embedding_params - self.lm_head_params - self.hidden_size - \
            self.num_layers * self.norm_params_per_layer

    def weight_bytes(self, precision: Precision) -> int:
        """Bytes of all weights: block linear layers at the weight precision, embeddings/lm_head/norms at bf16."""
        other = self.total_params - self.linear_params
        return int(self.linear_params * precision.weight_bytes_per_param + other * 2)

    # ---- KV cache ------------------------------------------------------------------------------------
    @property
    def kv_elements_per_token_per_layer(self) -> int:
        if self.mla is not None:
            return self.mla.kv_lora_rank + self.mla.qk_rope_head_dim
        return 2 * self.num_kv_heads * self.head_dim

    def kv_bytes_per_token(self, precision: Precision) -> int:
        """KV bytes one token adds across all layers (sliding-window layers counted as full: an upper bound)."""
        return self.num_layers * self.kv_elements_per_token_per_layer * precision.kv_bytes_per_element

    def kv_bytes_for_context(self, context_tokens: int, precision: Precision) -> int:
        """KV bytes held for one sequence of ``context_tokens`` (sliding-window layers keep only their window)."""
        per_layer = self.kv_elements_per_token_per_layer * precision.kv_bytes_per_element
        full_layers = self.num_layers - self.num_sliding_layers
        window = min(context_tokens, self.sliding_window_tokens or context_tokens)
        return per_layer * (full_layers * context_tokens + self.num_sliding_layers * window)
