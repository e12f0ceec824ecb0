"""`kserve-bridge package PROJECT_DIR -o OUT`: deterministic tar.gz named by its content hash."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("package", help="bundle a project as a reproducible tar.gz named by its content hash",
                       description="Upload the bundle (unpacked) to your storage and pass its URI to convert "
                                   "--storage-uri.")
    p.add_argument("project_dir")
    p.add_argument("-o", "--output-dir", default="dist", help="folder for the bundle (default: dist)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..package import left_out_secrets, package_project
    from ..spec import load_spec

    load_spec(args.project_dir)  # refuse to package an invalid project
    print(package_project(args.project_dir, args.output_dir))
    for name in left_out_secrets(args.project_dir):
        print(f"note: {name} left out of the bundle (secrets never go to object storage); convert/deploy deliver "
              "the project's .env as a Kubernetes Secret", file=sys.stderr)
    return 0
