"""`kserve-bridge validate PATH`: check a spec, list every problem at once."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a cortex.yaml and report every problem",
                       description="Validate a spec (a cortex.yaml, or a directory holding one). Exit 0 when "
                                   "valid, 2 with every problem listed when not.")
    p.add_argument("path", help="cortex.yaml or project directory")
    p.add_argument("--show-resolved", action="store_true", help="print the spec with every default filled in")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..spec import load_spec
    from ..spec.loader import spelling_notes
    from ..spec.models import RealtimeAPI
    from ..translator.runtime import choose_runtime

    spec = load_spec(args.path)
    notes = spelling_notes(spec.source) if spec.source is not None else []
    for note in notes:  # older spellings still work; name the modern one
        print(f"note: {note.format()}", file=sys.stderr)
    if args.show_resolved:
        import yaml
        print(yaml.safe_dump(spec.resolved(), sort_keys=False, default_flow_style=False), end="")
        return 0
    for api in spec.apis:
        if isinstance(api, RealtimeAPI):
            auto = api.autoscaling
            print(f"ok  {api.name:<24} RealtimeAPI      {api.predictor.type:<10} {api.endpoint:<20} "
                  f"replicas {auto.min_replicas}..{auto.max_replicas}  {api.kserve.deployment_mode}")
            if not (api.kserve.runtime or api.predictor.image):
                for warning in choose_runtime(api, spec.project_dir).warnings:
                    print(f"warning: {api.name}: {warning}", file=sys.stderr)
        else:
            split = ", ".join(f"{t.name} {t.weight}%{' (shadow)' if t.shadow else ''}" for t in api.apis)
            print(f"ok  {api.name:<24} TrafficSplitter  {api.endpoint:<31} {split}")
    return 0
