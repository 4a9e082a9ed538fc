"""Hugging Face ``config.json`` (a dict) -> ModelSpec, for the dense, MoE and MLA families the cost model knows.

Each supported ``architectures[0]`` has one small reader that maps its config keys onto ModelSpec fields. A config
this module cannot describe faithfully (unknown architecture, missing or non-positive numbers, a layer layout
ModelSpec has no field for) raises ``InvalidModelConfig`` naming the key and value, rather than being approximated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from disagg_pipelines.domain.errors import InvalidModelConfig
from disagg_pipelines.domain.model import ModelSpec

_MISSING = object()

# model_type -> architecture, for configs that omit "architectures"
_MODEL_TYPES = {
    "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen3": "Qwen3ForCausalLM",
    "qwen3_moe": "Qwen3MoeForCausalLM", "deepseek_v3": "DeepseekV3ForCausalLM", "mixtral": "MixtralForCausalLM",
    "gpt_oss": "GptOssForCausalLM",
}


class _Reader:
    """Typed access to one config dict; every failure names the model, the key and the value."""

    def __init__(self, cfg: dict[str, Any], name: str) -> None:
        self.cfg, self.name = cfg, name

    def fail(self, what: str) -> InvalidModelConfig:
        return InvalidModelConfig(f"model config of {self.name!r}: {what}")

    def int(self, key: str, default: Any = _MISSING, *, minimum: int = 1) -> int:
        value = self.cfg.get(key, default)
        if value is _MISSING:
            raise self.fail(f"lacks {key!r}; is it a decoder-only transformer config.json?")
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise self.fail(f"{key}={value!r} must be {kind}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.cfg.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"{key}={value!r} must be true or false")
        return value

    def base(self, architecture: str) -> dict[str, Any]:
        """Fields every family shares: sizes, heads, vocabulary, embeddings, context, sliding-window layers."""
        hidden = self.int("hidden_size")
        heads = self.int("num_attention_heads")
        head_dim = None if self.cfg.get("head_dim") is None else self.int("head_dim")
        if head_dim is None:
            if hidden % heads:
                raise self.fail(f"hidden_size={hidden} is not divisible by num_attention_heads={heads} "
                                f"and there is no head_dim; add head_dim")
            head_dim = hidden // heads
        kv_heads = self.int("num_key_value_heads", heads)
        if heads % kv_heads:
            raise self.fail(f"num_key_value_heads={kv_heads} does not divide num_attention_heads={heads}; "
                            f"grouped-query attention needs a divisor of {heads}")
        return dict(
            architecture=architecture,
            num_layers=self.int("num_hidden_layers"),
            hidden_size=hidden,
            num_attention_heads=heads,
            num_kv_heads=kv_heads,
            head_dim=head_dim,
            vocab_size=self.int("vocab_size"),
            tie_word_embeddings=self.flag("tie_word_embeddings"),
            attention_bias=self.flag("attention_bias"),
            max_position_embeddings=self.int("max_position_embeddings", 131072),
            **self.sliding(),
        )

    def sliding(self) -> dict[str, Any]:
        """Sliding-window layers from ``layer_types`` (gpt-oss, newer Qwen3) or ``use_sliding_window`` (Qwen)."""
        window = self.cfg.get("sliding_window")
        layer_types = self.cfg.get("layer_types")
        if layer_types is not None:
            if not isinstance(layer_types, list) or not all(isinstance(t, str) for t in layer_types):
                raise self.fail(f"layer_types={layer_types!r} must be a list of strings")
            layers = self.int("num_hidden_layers")
            if len(layer_types) != layers:
                raise self.fail(f"layer_types has {len(layer_types)} entries but num_hidden_layers={layers}")
            unknown = sorted(set(layer_types) - {"full_attention", "sliding_attention"})
            if unknown:
                raise self.fail(f"layer_types holds {unknown[0]!r}; only full_attention and sliding_attention "
                                f"are supported")
            n_sliding = layer_types.count("sliding_attention")
            if n_sliding == 0:
                return {}
            return dict(sliding_window_tokens=self.int("sliding_window"), num_sliding_layers=n_sliding)
        if "use_sliding_window" in self.cfg:          # Qwen: window only when switched on, above max_window_layers
            if not self.flag("use_sliding_window") or window is None:
                return {}
            layers = self.int("num_hidden_layers")
            below = min(self.int("max_window_layers", layers, minimum=0), layers)
            return dict(sliding_window_tokens=self.int("sliding_window"), num_sliding_layers=layers - below)
        if window is None:
            return {}
        return dict(sliding_window_tokens=self.int("sliding_window"), num_sliding_layers=self.int("num_hidden_layers"))


def _no_mlp_bias(r: _Reader) -> None:
    if r.flag("mlp_bias"):
        raise r.fail("mlp_bias=true is not supported (the cost model counts bias-free gated MLPs); "
                     "use a config with mlp_bias=false")


def _llama(r: _Reader, arch: str) -> dict[str, Any]:
    _no_mlp_bias(r)
    return dict(r.base(arch), intermediate_size=r.int("intermediate_size"))


def _qwen3(r: _Reader, arch: str) -> dict[str, Any]:
    return dict(r.base(arch), intermediate_size=r.int("intermediate_size"), qk_norm=True)


def _qwen3_moe(r: _Reader, arch: str) -> dict[str, Any]:
    layers = r.int("num_hidden_layers")
    step = r.int("decoder_sparse_step", 1)
    dense = r.cfg.get("mlp_only_layers") or []
    if not isinstance(dense, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in dense):
        raise r.fail(f"mlp_only_layers={dense!r} must be a list of layer indices")
    moe_layers = [i for i in range(layers) if i not in dense and (i + 1) % step == 0]
    leading = layers - len(moe_layers)
    if moe_layers != list(range(leading, layers)):
        raise r.fail(f"decoder_sparse_step={step} with mlp_only_layers={dense} interleaves dense and MoE layers; "
                     f"only leading dense layers are supported (decoder_sparse_step=1, mlp_only_layers=[0..k-1])")
    moe = dict(num_experts=r.int("num_experts"), experts_per_token=r.int("num_experts_per_tok"),
               expert_intermediate_size=r.int("moe_intermediate_size"), first_dense_layers=leading)
    return dict(r.base(arch), intermediate_size=r.int("intermediate_size"), qk_norm=True, moe=moe)


def _deepseek_v3(r: _Reader, arch: str) -> dict[str, Any]:
    freq = r.int("moe_layer_freq", 1)
    if freq != 1:
        raise r.fail(f"moe_layer_freq={freq} is not supported; only every-layer MoE after first_k_dense_replace "
                     f"(moe_layer_freq=1) is")
    nope, rope = r.int("qk_nope_head_dim"), r.int("qk_rope_head_dim")
    q_lora = 0 if r.cfg.get("q_lora_rank") is None else r.int("q_lora_rank", minimum=0)  # None: no q compression
    mla = dict(kv_lora_rank=r.int("kv_lora_rank"), q_lora_rank=q_lora, qk_nope_head_dim=nope,
               qk_rope_head_dim=rope, v_head_dim=r.int("v_head_dim"))
    moe = dict(num_experts=r.int("n_routed_experts"), experts_per_token=r.int("num_experts_per_tok"),
               expert_intermediate_size=r.int("moe_intermediate_size"),
               num_shared_experts=r.int("n_shared_experts", 0, minimum=0),
               first_dense_layers=r.int("first_k_dense_replace", 0, minimum=0),
               router_bias=r.cfg.get("topk_method") == "noaux_tc")   # e_score_correction_bias, one per expert
    # num_nextn_predict_layers (the MTP module) is a speculative-decoding head, not part of the served model.
    fields = r.base(arch)
    fields.update(head_dim=nope + rope, num_kv_heads=fields["num_attention_heads"])
    return dict(fields, intermediate_size=r.int("intermediate_size"), mla=mla, moe=moe)


def _mixtral(r: _Reader, arch: str) -> dict[str, Any]:
    expert = r.int("intermediate_size")
    moe = dict(num_experts=r.int("num_local_experts"), experts_per_token=r.int("num_experts_per_tok"),
               expert_intermediate_size=expert)
    return dict(r.base(arch), intermediate_size=expert, moe=moe)


def _gpt_oss(r: _Reader, arch: str) -> dict[str, Any]:
    expert = r.int("intermediate_size")
    top_k = r.int("experts_per_token") if "experts_per_token" in r.cfg else r.int("num_experts_per_tok")
    moe = dict(num_experts=r.int("num_local_experts"), experts_per_token=top_k, expert_intermediate_size=expert,
               router_bias=True, expert_bias=True)
    fields = r.base(arch)
    bias = fields["attention_bias"]
    return dict(fields, intermediate_size=expert, attention_out_bias=bias, attention_sinks=True, moe=moe)


_FAMILIES: dict[str, Callable[[_Reader, str], dict[str, Any]]] = {
    "LlamaForCausalLM": _llama,
    "MistralForCausalLM": _llama,
    "Qwen3ForCausalLM": _qwen3,
    "Qwen3MoeForCausalLM": _qwen3_moe,
    "DeepseekV3ForCausalLM": _deepseek_v3,
    "MixtralForCausalLM": _mixtral,
    "GptOssForCausalLM": _gpt_oss,
}
SUPPORTED_ARCHITECTURES = tuple(_FAMILIES)


def _architecture(config: dict[str, Any], r: _Reader) -> str:
    archs = config.get("architectures")
    if archs is None:
        model_type = config.get("model_type")
        if model_type in _MODEL_TYPES:
            return _MODEL_TYPES[model_type]
        raise r.fail(f"lacks 'architectures' (model_type={model_type!r}); supported: "
                     f"{', '.join(SUPPORTED_ARCHITECTURES)}")
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        raise r.fail(f"architectures={archs!r} must be a non-empty list of class names")
    if archs[0] not in _FAMILIES:
        raise r.fail(f"architecture {archs[0]!r} is not supported; supported: {', '.join(SUPPORTED_ARCHITECTURES)}")
    return archs[0]


def _native_precision(config: dict[str, Any], r: _Reader) -> str:
    quant = config.get("quantization_config")
    if quant is None:
        return "bf16"
    if not isinstance(quant, dict):
        raise r.fail(f"quantization_config={quant!r} must be an object")
    method = str(quant.get("quant_method") or quant.get("quant_algo") or "").lower()
    if method == "fp8":
        return "fp8"
    if method in ("mxfp4", "nvfp4"):
        return "fp4"
    raise r.fail(f"quantization_config.quant_method={method or None!r} is not supported; "
                 f"use a bf16 checkpoint or one quantized with fp8, mxfp4 or nvfp4")


def model_from_hf_config(config: dict[str, Any], name: str) -> ModelSpec:
    """A ModelSpec from a Hugging Face ``config.json`` of a supported architecture (see SUPPORTED_ARCHITECTURES)."""
    if not isinstance(config, dict):
        raise InvalidModelConfig(f"model config of {name!r} is a {type(config).__name__}, not a JSON object; "
                                 f"give a Hugging Face config.json")
    top = _Reader(config, name)
    arch = _architecture(config, top)
    text = config.get("text_config")
    cfg = text if isinstance(text, dict) else config
    fields = _FAMILIES[arch](_Reader(cfg, name), arch)
    fields.update(name=name, native_precision=_native_precision(config, top))
    try:
        return ModelSpec.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidModelConfig(f"model config of {name!r} is malformed: {loc}: "
                                 f"{first['msg'].removeprefix('Value error, ')} (got {first.get('input')!r})") from err
