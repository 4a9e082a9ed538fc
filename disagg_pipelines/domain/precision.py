"""Precision: the number formats of weights (and the GEMMs that read them) and of the KV cache."""

from __future__ import annotations

from typing import Literal

from disagg_pipelines.domain.strict import Strict

WeightFormat = Literal["bf16", "fp8", "fp4"]
KvFormat = Literal["bf16", "fp8"]

_WEIGHT_BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5 + 1 / 32}  # fp4: MXFP4, one 8-bit scale per 32 values
_KV_BYTES = {"bf16": 2, "fp8": 1}
NAMES = ("bf16", "fp8", "fp4")


class Precision(Strict):
    """Weight format (also the GEMM input format) and KV-cache format."""

    weights: WeightFormat = "bf16"
    kv_cache: KvFormat = "bf16"

    @classmethod
    def parse(cls, text: str) -> Precision:
        """``bf16`` | ``fp8`` | ``fp4``, optionally ``/kv=bf16|fp8``; the KV cache follows the weights (fp4 -> fp8)."""
        from disagg_pipelines.domain.errors import InvalidInput

        weights, _, kv = text.strip().lower().partition("/kv=")
        if weights not in _WEIGHT_BYTES:
            raise InvalidInput(f"unknown precision {text!r}; use one of {', '.join(NAMES)} (optionally '/kv=bf16|fp8')")
        if kv and kv not in _KV_BYTES:
            raise InvalidInput(f"unknown KV-cache precision {kv!r} in {text!r}; use bf16 or fp8")
        kv_format = kv or ("bf16" if weights == "bf16" else "fp8")
        return cls(weights=weights, kv_cache=kv_format)

    @property
    def label(self) -> str:
        default_kv = "bf16" if self.weights == "bf16" else "fp8"
        return self.weights if self.kv_cache == default_kv else f"{self.weights}/kv={self.kv_cache}"

    @property
    def weight_bytes_per_param(self) -> float:
        return _WEIGHT_BYTES[self.weights]

    @property
    def kv_bytes_per_element(self) -> int:
        return _KV_BYTES[self.kv_cache]
