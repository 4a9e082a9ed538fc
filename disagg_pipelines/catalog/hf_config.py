"""Hugging Face ``config.json`` (a dict) -> ModelSpec, for the dense, MoE and MLA architectures the cost model knows."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from disagg_pipelines.domain.errors import InvalidModelConfig
from disagg_pipelines.domain.model import ModelSpec


def _need(config: dict[str, Any], key: str, name: str) -> Any:
    if key not in config:
        raise InvalidModelConfig(f"model config of {name!r} lacks {key!r}; is it a decoder-only transformer config.json?")
    return config[key]


def model_from_hf_config(config: dict[str, Any], name: str) -> ModelSpec:
    """Dense Llama-style configs for now; MoE and MLA families are added by the catalog work."""
    cfg = config.get("text_config", config)
    heads = _need(cfg, "num_attention_heads", name)
    hidden = _need(cfg, "hidden_size", name)
    fields = dict(
        name=name,
        architecture=(cfg.get("architectures") or ["unknown"])[0],
        num_layers=_need(cfg, "num_hidden_layers", name),
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=cfg.get("num_key_value_heads") or heads,
        head_dim=cfg.get("head_dim") or (hidden // heads if isinstance(hidden, int) and isinstance(heads, int) else 0),
        intermediate_size=_need(cfg, "intermediate_size", name),
        vocab_size=_need(cfg, "vocab_size", name),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        attention_bias=bool(cfg.get("attention_bias", False)),
        max_position_embeddings=cfg.get("max_position_embeddings", 131072),
    )
    try:
        return ModelSpec.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidModelConfig(f"model config of {name!r} is malformed: {loc}: "
                                 f"{first['msg'].removeprefix('Value error, ')} (got {first.get('input')!r})") from err
