"""`disagg catalog models|gpus`: the bundled model and GPU catalogs as a table or JSON."""

from __future__ import annotations

import json

import click


@click.group("catalog")
def catalog() -> None:
    """List bundled models and GPUs."""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)


@catalog.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def models_cmd(as_json: bool) -> None:
    """Bundled models: architecture, attention, size and KV cache per token."""
    from disagg_pipelines import catalog as cat
    from disagg_pipelines.domain.precision import Precision

    bf16 = Precision()
    records = []
    for hf_id in cat.list_models():
        m = cat.load_model(hf_id)
        records.append(dict(id=hf_id, architecture=m.architecture, attention=m.attention_kind, layers=m.num_layers,
                            total_params_b=round(m.total_params / 1e9, 2), active_params_b=round(m.active_params / 1e9, 2),
                            kv_kib_per_token_bf16=round(m.kv_bytes_per_token(bf16) / 1024, 2),
                            native_precision=m.native_precision))
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    headers = ["id", "arch", "attn", "layers", "total B", "active B", "KV KiB/tok bf16"]
    rows = [[r["id"], r["architecture"].removesuffix("ForCausalLM"), r["attention"], str(r["layers"]),
             f"{r['total_params_b']:.1f}", f"{r['active_params_b']:.1f}", f"{r['kv_kib_per_token_bf16']:g}"]
            for r in records]
    click.echo(_table(headers, rows))


@catalog.command("gpus")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def gpus_cmd(as_json: bool) -> None:
    """Bundled GPUs: dense throughput, memory, node shape and scale-up domain."""
    from disagg_pipelines import catalog as cat

    specs = [cat.load_gpu(name) for name in cat.list_gpus()]
    if as_json:
        click.echo(json.dumps([s.model_dump(mode="json") for s in specs], indent=2))
        return
    headers = ["name", "bf16 TFLOP/s", "fp8 TFLOP/s", "HBM GiB", "TB/s", "per node", "NVLink domain"]
    rows = [[s.name, f"{s.bf16_dense_tflops:g}", f"{s.fp8_dense_tflops:g}" + ("" if s.fp8_native else "*"),
             f"{s.hbm_gib:g}", f"{s.hbm_bw_gb_per_s / 1000:g}", str(s.gpus_per_node), str(s.nvlink_domain_gpus)]
            for s in specs]
    click.echo(_table(headers, rows))
    if not all(s.fp8_native for s in specs):
        click.echo("* no fp8 tensor cores: fp8 weights run at the bf16 rate")
