"""docs/architecture.md describes the package tree as it is, and no module grows past the size we keep to."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "disagg_pipelines"
DOC = (REPO / "docs" / "architecture.md").read_text()
MAX_LINES = 600


def _packages() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


@pytest.mark.parametrize("package", _packages(), ids=lambda p: p.name)
def test_every_package_is_in_the_documented_tree(package: Path) -> None:
    assert f"{package.name}/" in DOC, f"docs/architecture.md does not mention {package.name}/"


@pytest.mark.parametrize("package", [p for p in _packages() if p.name in ("profile", "plan", "render", "track")],
                         ids=lambda p: p.name)
def test_every_step_module_is_documented(package: Path) -> None:
    missing = [m.stem for m in package.glob("*.py") if m.stem != "__init__" and m.stem not in DOC]
    assert not missing, f"docs/architecture.md does not mention {package.name}/{missing}"


def test_no_module_over_the_size_limit() -> None:
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    big = {p: n for p, n in sizes.items() if n > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"
