"""hf_config: each supported family maps onto ModelSpec; malformed configs fail with the key and value named."""

from __future__ import annotations

import pytest

from disagg_pipelines import catalog
from disagg_pipelines.catalog.hf_config import (
    SUPPORTED_ARCHITECTURES,
    model_from_hf_config,
)
from disagg_pipelines.domain.errors import InvalidModelConfig

LLAMA = dict(catalog.model_entry("meta-llama/Llama-3.1-8B")["config"])


def _cfg(base: dict, **changes) -> dict:
    out = dict(base)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def test_llama_head_dim_derived_and_no_moe() -> None:
    m = model_from_hf_config(LLAMA, "x")
    assert (m.head_dim, m.num_kv_heads, m.attention_kind, m.moe, m.native_precision) == (128, 8, "gqa", None, "bf16")


def test_model_type_used_when_architectures_missing() -> None:
    assert model_from_hf_config(_cfg(LLAMA, architectures=None, model_type="llama"), "x").architecture == \
        "LlamaForCausalLM"


def test_qwen3_qk_norm_and_tied_small_model() -> None:
    cfg = _cfg(catalog.model_entry("Qwen/Qwen3-8B")["config"], tie_word_embeddings=True)
    m = model_from_hf_config(cfg, "x")
    assert m.qk_norm and m.lm_head_params == 0
    untied = model_from_hf_config(catalog.model_entry("Qwen/Qwen3-8B")["config"], "x")
    assert untied.total_params - m.total_params == m.embedding_params


def test_qwen3_moe_leading_dense_layers_and_interleave_rejected() -> None:
    base = catalog.model_entry("Qwen/Qwen3-30B-A3B")["config"]
    m = model_from_hf_config(_cfg(base, mlp_only_layers=[0, 1]), "x")
    assert m.moe.first_dense_layers == 2 and m.num_moe_layers == 46
    with pytest.raises(InvalidModelConfig, match=r"decoder_sparse_step=2 .* interleaves dense and MoE layers"):
        model_from_hf_config(_cfg(base, decoder_sparse_step=2), "x")


def test_deepseek_mtp_ignored_and_moe_freq_checked() -> None:
    base = catalog.model_entry("deepseek-ai/DeepSeek-V3")["config"]
    assert model_from_hf_config(_cfg(base, num_nextn_predict_layers=3), "x").total_params == \
        model_from_hf_config(base, "x").total_params
    with pytest.raises(InvalidModelConfig, match="moe_layer_freq=2 is not supported"):
        model_from_hf_config(_cfg(base, moe_layer_freq=2), "x")


def test_mixtral_sliding_window_applies_to_all_layers() -> None:
    base = catalog.model_entry("mistralai/Mixtral-8x7B-v0.1")["config"]
    m = model_from_hf_config(_cfg(base, sliding_window=4096), "x")
    assert (m.num_sliding_layers, m.sliding_window_tokens) == (32, 4096)
    assert model_from_hf_config(base, "x").num_sliding_layers == 0


@pytest.mark.parametrize("quant,expected", [({"quant_method": "fp8"}, "fp8"), ({"quant_method": "mxfp4"}, "fp4"),
                                            ({"quant_algo": "NVFP4"}, "fp4")])
def test_native_precision(quant: dict, expected: str) -> None:
    assert model_from_hf_config(_cfg(LLAMA, quantization_config=quant), "x").native_precision == expected


@pytest.mark.parametrize("changes,needle", [
    (dict(architectures=["T5ForConditionalGeneration"]), "architecture 'T5ForConditionalGeneration' is not supported"),
    (dict(architectures=None), "lacks 'architectures' (model_type=None)"),
    (dict(architectures="LlamaForCausalLM"), "architectures='LlamaForCausalLM' must be a non-empty list"),
    (dict(num_hidden_layers=None), "lacks 'num_hidden_layers'"),
    (dict(hidden_size=0), "hidden_size=0 must be a positive integer"),
    (dict(num_hidden_layers=-4), "num_hidden_layers=-4 must be a positive integer"),
    (dict(vocab_size="big"), "vocab_size='big' must be a positive integer"),
    (dict(num_key_value_heads=5), "num_key_value_heads=5 does not divide num_attention_heads=32"),
    (dict(hidden_size=4100), "hidden_size=4100 is not divisible by num_attention_heads=32"),
    (dict(mlp_bias=True), "mlp_bias=true is not supported"),
    (dict(tie_word_embeddings="yes"), "tie_word_embeddings='yes' must be true or false"),
    (dict(quantization_config={"quant_method": "awq"}), "quant_method='awq' is not supported"),
])
def test_invalid_configs_name_the_value(changes: dict, needle: str) -> None:
    with pytest.raises(InvalidModelConfig) as info:
        model_from_hf_config(_cfg(LLAMA, **changes), "acme/m")
    message = str(info.value)
    assert needle in message and "'acme/m'" in message and "\n" not in message


def test_unknown_architecture_lists_supported() -> None:
    with pytest.raises(InvalidModelConfig) as info:
        model_from_hf_config(_cfg(LLAMA, architectures=["BertModel"]), "x")
    assert all(a in str(info.value) for a in SUPPORTED_ARCHITECTURES)


def test_non_dict_and_moe_top_k_too_large() -> None:
    with pytest.raises(InvalidModelConfig, match="is a list, not a JSON object"):
        model_from_hf_config([1], "x")  # type: ignore[arg-type]
    base = catalog.model_entry("mistralai/Mixtral-8x7B-v0.1")["config"]
    with pytest.raises(InvalidModelConfig, match="experts_per_token=9 exceeds num_experts=8"):
        model_from_hf_config(_cfg(base, num_experts_per_tok=9), "x")


def test_layer_types_checked() -> None:
    base = catalog.model_entry("openai/gpt-oss-20b")["config"]
    with pytest.raises(InvalidModelConfig, match="layer_types has 2 entries but num_hidden_layers=24"):
        model_from_hf_config(_cfg(base, layer_types=["full_attention"] * 2), "x")
    with pytest.raises(InvalidModelConfig, match="layer_types holds 'linear_attention'"):
        model_from_hf_config(_cfg(base, layer_types=["linear_attention"] * 24), "x")
