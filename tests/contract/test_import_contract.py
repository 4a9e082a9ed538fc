"""Importing the CLI and the pure steps must not import any heavy optional dependency."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec

import pytest

HEAVY = ("mlflow", "kubernetes", "hera", "torch")
STEPS = [m for m in ("disagg_pipelines.render", "disagg_pipelines.plan", "disagg_pipelines.profile",
                     "disagg_pipelines.render.validate", "disagg_pipelines.render.schemas", "disagg_pipelines.track",
                     "disagg_pipelines.cli.validate_cmd")
         if find_spec(m) is not None]


def _loaded_heavy(modules: list[str]) -> list[str]:
    imports = "; ".join(f"import {m}" for m in modules)
    code = f"{imports}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_cli_import_loads_no_heavy_module() -> None:
    assert _loaded_heavy(["disagg_pipelines.cli"]) == []


@pytest.mark.parametrize("module", STEPS)
def test_step_import_loads_no_heavy_module(module: str) -> None:
    assert _loaded_heavy(["disagg_pipelines.cli", module]) == []


def test_validate_help_loads_no_heavy_module() -> None:
    code = ("import sys; from click.testing import CliRunner; from disagg_pipelines.cli import cli; "
            "r = CliRunner().invoke(cli, ['validate', '--help']); assert r.exit_code == 0, r.output; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""
