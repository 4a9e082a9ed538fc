"""KV-cache transfer time from a prefill instance to a decode instance (disaggregated serving)."""

from __future__ import annotations

from disagg_pipelines.domain.gpu import GpuSpec
from disagg_pipelines.domain.model import ModelSpec
from disagg_pipelines.domain.precision import Precision

# Per-transfer fixed cost: connector handshake, block-table exchange and completion notification. NIXL/UCX
# round trips are tens of microseconds; engines batch per-layer or per-request transfers, ~1 ms end to end is the
# order reported for NixlConnector (vLLM docs, disaggregated prefill) and Mooncake (Qin et al., FAST'25).
TRANSFER_LATENCY_MS = 1.0
# Share of link bandwidth a transfer achieves (many block-sized RDMA writes, not one large copy).
LINK_EFFICIENCY = 0.7


def kv_transfer_ms(model: ModelSpec, precision: Precision, isl_tokens: int, prefill_gpu: GpuSpec,
                   decode_gpu: GpuSpec, prefill_gpus: int, same_nvlink_domain: bool) -> float:
    """Time to move one request's KV cache: bytes over NVLink inside a domain, else over the RDMA NICs.

    The bytes leave through every GPU of the prefill instance in parallel (each holds its KV shard), so the
    aggregate bandwidth is per-GPU bandwidth times the instance's GPUs.
    """
    kv_bytes = model.kv_bytes_for_context(isl_tokens, precision)
    if same_nvlink_domain:
        per_gpu = min(prefill_gpu.scale_up_bw_gb_per_s, decode_gpu.scale_up_bw_gb_per_s)
    else:
        per_gpu = min(prefill_gpu.scale_out_bw_gb_per_s, decode_gpu.scale_out_bw_gb_per_s)
    bw_bytes_per_ms = per_gpu * 1e9 / 1e3 * LINK_EFFICIENCY * max(1, prefill_gpus)
    return TRANSFER_LATENCY_MS + kv_bytes / bw_bytes_per_ms
