"""`disagg profile`: model + GPU + precision + parallelism -> Profile, printed as a prefill/decode grid or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


class SizeList(click.ParamType):
    """A comma-separated list of positive integers, e.g. ``512,2048,8192``."""

    name = "LIST"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        from disagg_pipelines.domain.errors import InvalidInput

        if isinstance(value, tuple):
            return value
        flag = f"{param.opts[0]}: " if param is not None and param.opts else ""
        sizes = []
        for part in str(value).split(","):
            text = part.strip().replace("_", "")
            if not text.lstrip("-").isdigit():
                raise InvalidInput(f"{flag}{part.strip()!r} in {value!r} is not a whole number; "
                                   f"give positive sizes like 512,2048")
            n = int(text)
            if n <= 0:
                raise InvalidInput(f"{flag}{n} in {value!r} is not a positive size; give sizes >= 1 like 512,2048")
            sizes.append(n)
        return tuple(sizes)


SIZES = SizeList()


@click.command("profile")
@click.option("--model", "model_ref", required=True, help="Hugging Face id or path to a config.json (or its folder).")
@click.option("--gpu", required=True, help="GPU name from the catalog, e.g. h100-sxm.")
@click.option("--precision", default="bf16", show_default=True, help="bf16 | fp8 | fp4, optionally /kv=bf16|fp8.")
@click.option("--tp", type=click.IntRange(min=1), default=1, show_default=True, help="Tensor-parallel degree.")
@click.option("--pp", type=click.IntRange(min=1), default=1, show_default=True, help="Pipeline-parallel degree.")
@click.option("--ep", type=click.IntRange(min=1), default=1, show_default=True, help="Expert-parallel degree (MoE).")
@click.option("--method", type=click.Choice(["roofline"]), default="roofline", show_default=True)
@click.option("--isl", type=SIZES, default="512,2048,8192", show_default=True, help="Prompt lengths to predict.")
@click.option("--batch", type=SIZES, default="1,16,64", show_default=True, help="Decode batch sizes.")
@click.option("--context", type=SIZES, default="1024,4096", show_default=True, help="Decode KV lengths (tokens).")
@click.option("--json", "as_json", is_flag=True, help="Print the grid, memory and the Profile as JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the Profile JSON here.")
def profile_cmd(model_ref: str, gpu: str, precision: str, tp: int, pp: int, ep: int, method: str,
                isl: tuple[int, ...], batch: tuple[int, ...], context: tuple[int, ...], as_json: bool,
                output: Path | None) -> None:
    """Predict prefill and decode cost of a model on a GPU."""
    from disagg_pipelines import catalog
    from disagg_pipelines import profile as profile_step
    from disagg_pipelines.cli import load_model_ref
    from disagg_pipelines.domain.precision import Precision

    spec = load_model_ref(model_ref)
    result = profile_step.profile(spec, catalog.load_gpu(gpu), Precision.parse(precision), tp=tp, pp=pp, ep=ep,
                                  method=method)
    grid = {
        "prefill": [{"batch": 1, "isl": s, "ms": round(result.prefill_ms(1, s), 4)} for s in isl],
        "decode": [{"batch": b, "context": c, "ms": round(result.decode_ms(b, c), 4), "fits": result.kv_fits(b, c)}
                   for b in batch for c in context],
        "memory": result.memory.model_dump(),
    }
    if output is not None:
        _emit_text(output, result.model_dump_json(indent=2))
    if as_json:
        click.echo(json.dumps({**grid, "profile": result.model_dump(mode="json")}, indent=2))
        return
    _print_table(result, grid)
    if output is not None:
        click.echo(f"wrote {output}")


def _emit_text(path: Path, text: str) -> None:
    from disagg_pipelines.render import emit

    emit.write_text(path, text)


def _print_table(result: Any, grid: dict[str, Any]) -> None:
    mem = result.memory
    parallel = f"tp={result.tp} pp={result.pp} ep={result.ep}"
    click.echo(f"{result.model.name} on {result.gpu.name} ({result.precision.label}, {parallel}, {result.method}, "
               f"{result.provenance.get('token_ms', '?')})")
    click.echo(f"memory per GPU: weights {mem.weights_gib:.1f} GiB, reserve {mem.activation_reserve_gib:.1f} GiB, "
               f"KV {mem.kv_bytes_per_token / 1024:.0f} KiB/token -> {mem.kv_tokens_capacity:,} tokens "
               f"of {mem.hbm_gib:.1f} GiB")
    click.echo("\nprefill (batch 1)\n  isl        ms    tok/s")
    for p in grid["prefill"]:
        click.echo(f"  {p['isl']:<7}{p['ms']:>8.2f}{1000 * p['isl'] / p['ms']:>9.0f}")
    click.echo("\ndecode step\n  batch  context        ms    tok/s  fits")
    for d in grid["decode"]:
        click.echo(f"  {d['batch']:<7}{d['context']:<9}{d['ms']:>8.3f}{1000 * d['batch'] / d['ms']:>9.0f}  "
                   f"{'yes' if d['fits'] else 'no'}")
