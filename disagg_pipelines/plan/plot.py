"""Pareto plot: Plan -> PNG of tokens/s per GPU vs tokens/s per user (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

from pathlib import Path

from disagg_pipelines.domain.plan import Plan


def save_pareto(plan: Plan, path: Path) -> Path:
    """Draw the plan's Pareto frontier per mode, mark the chosen configuration, and write a PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for mode, marker in (("agg", "o"), ("disagg", "s")):
        pts = sorted((p.tokens_per_s_per_user, p.tokens_per_s_per_gpu) for p in plan.pareto if p.mode == mode)
        if pts:
            ax.plot([u for u, _ in pts], [g for _, g in pts], marker=marker, label=f"{mode} frontier")
    chosen = plan.predicted
    ax.scatter([chosen.tokens_per_s_per_user], [chosen.tokens_per_s_per_gpu], s=120, marker="*", color="crimson",
               zorder=5, label=f"chosen ({plan.mode})")
    ax.axvline(1000 / plan.slo.itl_ms, color="grey", linestyle="--", linewidth=1, label="ITL target")
    ax.set_xlabel("output tokens/s per user")
    ax.set_ylabel("output tokens/s per GPU")
    ax.set_title(f"{plan.model.name} on {plan.gpu.name} ({plan.engine}, {plan.precision.label})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
