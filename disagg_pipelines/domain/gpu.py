"""GpuSpec: one accelerator type as the cost model and the renderers need it (loaded from catalog/gpus/<name>.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import PositiveFloat, PositiveInt, model_validator

from disagg_pipelines.domain.strict import Strict


class GpuSpec(Strict):
    """Datasheet figures (dense, no sparsity) plus the node and interconnect shape of the usual system."""

    name: str                                   # catalog key, e.g. h100-sxm
    display_name: str
    vendor: Literal["nvidia", "amd"]
    bf16_dense_tflops: PositiveFloat
    fp8_dense_tflops: PositiveFloat             # without native fp8 (A100): the bf16 rate fp8 weights are upcast to
    fp8_native: bool = True                     # fp8 tensor cores (Hopper, Ada, Blackwell, CDNA3)
    fp4_dense_tflops: PositiveFloat | None = None   # None: no native fp4 tensor cores (fp4 weights are upcast)
    hbm_gib: PositiveFloat                      # usable device memory as reported by the driver
    hbm_bw_gb_per_s: PositiveFloat              # peak HBM bandwidth
    gpus_per_node: PositiveInt
    nvlink_domain_gpus: PositiveInt             # GPUs in one scale-up (NVLink / Infinity Fabric) domain
    scale_up_bw_gb_per_s: PositiveFloat         # per GPU, one direction
    scale_out_bw_gb_per_s: PositiveFloat        # per GPU, one direction (RDMA NIC)
    tdp_w: PositiveInt | None = None
    resource_name: str = "nvidia.com/gpu"       # the extended resource pods request
    product_label_key: str = "nvidia.com/gpu.product"
    product_labels: tuple[str, ...]             # node-label values of this GPU (GPU feature discovery)
    topology_label_key: str | None = None       # node label naming the NVLink domain, e.g. nvidia.com/gpu.clique
    sources: tuple[str, ...]                    # where each figure comes from

    @model_validator(mode="after")
    def _domain_shape(self) -> GpuSpec:
        if self.nvlink_domain_gpus < self.gpus_per_node and self.gpus_per_node % self.nvlink_domain_gpus:
            raise ValueError(
                f"{self.name}: nvlink_domain_gpus={self.nvlink_domain_gpus} must divide gpus_per_node={self.gpus_per_node}")
        if not self.product_labels:
            raise ValueError(f"{self.name}: product_labels is empty; give the nvidia.com/gpu.product value(s)")
        return self

    def dense_tflops(self, weights: str) -> float:
        """Peak dense tensor throughput for GEMMs whose inputs are in ``weights`` format."""
        if weights == "fp4" and self.fp4_dense_tflops is not None:
            return self.fp4_dense_tflops
        if weights in ("fp8", "fp4"):
            return self.fp8_dense_tflops
        return self.bf16_dense_tflops

    @property
    def hbm_bytes(self) -> float:
        return self.hbm_gib * 2**30

    @property
    def tp_domain_gpus(self) -> int:
        """Largest tensor-parallel group that stays on the scale-up fabric."""
        return self.nvlink_domain_gpus
