"""The layer contracts in pyproject.toml hold (``lint-imports``), and break when a step imports the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def lint_available() -> None:
    if not LINT.exists():
        pytest.skip(f"import-linter is not installed beside {sys.executable} (it is in the 'test' extra)")


def test_layer_contracts_are_kept(lint_available: None) -> None:
    out = _lint(REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_a_step_importing_the_cli_breaks_the_layers(lint_available: None, tmp_path: Path) -> None:
    shutil.copytree(REPO / "disagg_pipelines", tmp_path / "disagg_pipelines",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    planner = tmp_path / "disagg_pipelines" / "plan" / "planner.py"
    planner.write_text(planner.read_text() + "\n\ndef _bad() -> None:\n    from disagg_pipelines.cli import main\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "disagg_pipelines.plan.planner -> disagg_pipelines.cli" in out.stdout
    assert "1 broken" in out.stdout
