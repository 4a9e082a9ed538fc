"""Fixtures for contract tests: the upstream CRD schemas live outside the repository (../shared/schemas/crds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from disagg_pipelines.render import schemas


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    """The folder holding the upstream CRD schemas; the test is skipped when it is absent."""
    folder = schemas.default_schemas_dir()
    if folder is None or not folder.is_dir():
        pytest.skip(f"upstream CRD schemas not found: set ${schemas.SCHEMAS_DIR_ENV} or provide ../shared/schemas "
                    f"next to the repository (got {folder})")
    return folder


@pytest.fixture(scope="session")
def crd_dir(schemas_dir: Path) -> Path:
    """The folder of extracted `<group>_<version>_<Kind>.json` files (`crds/` below the schemas folder, or itself)."""
    return schemas_dir / "crds" if (schemas_dir / "crds").is_dir() else schemas_dir


@pytest.fixture(scope="session")
def crd_schemas(schemas_dir: Path) -> schemas.SchemaSet:
    """All upstream CRD schemas, loaded once per session (compiled validators are cached inside)."""
    return schemas.load_crd_schemas(schemas_dir)
