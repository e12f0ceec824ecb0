"""Shared fixtures. Test folders are packages (tests.spec, tests.cluster, ...):
import helpers from siblings as `from tests.cluster.fake_kube import ...`."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (reference material and the strict validator); skips when absent."""
    if not (SHARED / "tools" / "k8s-strict-validate").exists():
        pytest.skip("../shared is not present; strict-validation checks skipped")
    return SHARED
