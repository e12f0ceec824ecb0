"""`kserve-bridge package PROJECT_DIR -o OUT [--upload URI]`: deterministic tar.gz named by its
content hash, or the project uploaded to `<URI>/<deployment id>` for each API."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("package", help="bundle a project as a reproducible tar.gz named by its content hash",
                       description="Write the bundle, or with --upload put the project under "
                                   "<URI>/<deployment id> for each API (what deploy does before applying).")
    p.add_argument("project_dir")
    p.add_argument("-o", "--output-dir", default="dist", help="folder for the bundle (default: dist)")
    p.add_argument("--upload", metavar="URI", help="upload to this storage URI (s3://, gs://) instead")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..package import left_out_secrets, package_project
    from ..spec import load_spec

    load_spec(args.project_dir)  # refuse to package an invalid project
    if args.upload:
        from pathlib import Path

        from ..cluster.client import storage_uri_of
        from ..cluster.deploy import objects_for
        objects = objects_for(Path(args.project_dir), Path(args.project_dir), namespace="default",
                              storage_uri=args.upload, upload=True)
        for obj in objects:
            if obj["kind"] == "InferenceService":
                print(f"{obj['metadata']['name']}: {storage_uri_of(obj)}")
        return 0
    print(package_project(args.project_dir, args.output_dir))
    for name in left_out_secrets(args.project_dir):
        print(f"note: {name} left out of the bundle (secrets never go to object storage); convert/deploy deliver "
              "the project's .env as a Kubernetes Secret", file=sys.stderr)
    return 0
