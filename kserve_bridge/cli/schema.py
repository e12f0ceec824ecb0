"""`kserve-bridge schema`: print the spec's JSON Schema (for editors)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of cortex.yaml (for editor validation)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..spec.schema import schema_text
    print(schema_text(), end="")
    return 0
