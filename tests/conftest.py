"""Shared fixtures for the CoWorks test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The folder of the ASL conformance corpus, beside the project checkout.
CONFORMANCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "asl-conformance"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """Return the ASL conformance corpus folder, skipping when it is absent."""
    if not CONFORMANCE_DIR.is_dir():
        pytest.skip(f"the conformance corpus is not at {CONFORMANCE_DIR}")
    return CONFORMANCE_DIR
