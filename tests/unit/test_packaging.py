"""Every data file the package reads at run time is declared as package data (a wheel install carries it)."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "disagg_pipelines"


def test_every_non_python_file_is_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["disagg_pipelines"]
    data = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts]
    assert data, "no data files found"
    missing = [str(p.relative_to(PACKAGE)) for p in data if not any(p.relative_to(PACKAGE).match(g) for g in globs)]
    assert missing == []
