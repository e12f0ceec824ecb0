"""examples/*/expected/ holds exactly what convert produces (regenerate with scripts/update_goldens.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("update_goldens", REPO / "scripts" / "update_goldens.py")
update_goldens = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update_goldens)

HINT = "goldens are stale: run `python scripts/update_goldens.py` and review the diff"
EXAMPLES = update_goldens.examples()


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_golden(example: Path) -> None:
    wanted = update_goldens.expected_files(example)
    expected_dir = example / "expected"
    found = {p.name: p.read_text() for p in expected_dir.glob("*.yaml")} if expected_dir.is_dir() else {}
    assert sorted(found) == sorted(wanted), HINT
    for name, text in wanted.items():
        assert found[name] == text, f"{example.name}/expected/{name}: {HINT}"
