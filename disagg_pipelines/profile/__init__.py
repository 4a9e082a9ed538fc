"""Step 1, profile: (model, GPU, precision, TP x PP x EP) -> Profile, the cost tables of one engine instance.

``analytic`` builds it from the operator roofline (``roofline``, calibrated on real H100 operator timings); the
measured profilers (torch on the target GPU, a live endpoint) produce the same ``Profile``.
"""

from disagg_pipelines.profile.analytic import (
                                               HEADROOM_FRACTION,
                                               MIN_KV_TOKENS,
                                               check_parallelism,
                                               memory_budget,
                                               profile,
                                               smallest_fitting_tp,
                                               valid_tp,
)

__all__ = ["HEADROOM_FRACTION", "MIN_KV_TOKENS", "check_parallelism", "memory_budget", "profile",
           "smallest_fitting_tp", "valid_tp"]
