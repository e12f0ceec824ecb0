"""`kserve-bridge convert PATH`: spec -> KServe objects as YAML (stdout or one file per object)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="translate a spec into KServe InferenceService YAML",
                       description="Print multi-document YAML for `kubectl apply -f -`, or write one file per "
                                   "object under -o DIR. Exit 2 on an invalid spec.")
    p.add_argument("path", help="cortex.yaml or project directory")
    p.add_argument("-o", "--output-dir", help="write <kind>-<name>.yaml files here instead of stdout")
    p.add_argument("--kustomize", action="store_true", help="with -o DIR: also write DIR/kustomization.yaml "
                                                            "(for Argo CD or Flux; other keys in it are kept)")
    p.add_argument("--namespace", help="metadata.namespace of every object")
    p.add_argument("--image", help="run this model server image as a custom container")
    p.add_argument("--storage-uri", help="where the packaged project is uploaded (s3://, gs://, pvc://, https://)")
    p.add_argument("--deployment-id", help="use this id instead of the project's content hash")
    p.add_argument("--explain", action="store_true", help="print which Cortex fields mapped to what, and what "
                                                          "was dropped and why")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import BridgeError
    from ..manifest import file_name, render
    from ..translator import explain, translate

    options = dict(namespace=args.namespace, image=args.image, storage_uri=args.storage_uri,
                   deployment_id=args.deployment_id)
    if args.explain:
        sys.stdout.write(explain(args.path, **options))
        return 0
    if args.kustomize and not args.output_dir:
        raise BridgeError("--kustomize writes files: add -o DIR")
    objects = translate(args.path, **options)
    if not args.output_dir:
        sys.stdout.write(render(objects))
    elif args.kustomize:
        from ..gitops import write_kustomize
        for path in write_kustomize(objects, Path(args.output_dir)):
            print(path)
    else:
        out = Path(args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        for obj in objects:
            (out / file_name(obj)).write_text(render([obj]))
            print(out / file_name(obj))
    _secret_hint(Path(args.path), objects, args.namespace)
    return 0


def _secret_hint(path: Path, objects: list[dict], namespace: str | None) -> None:
    """On stderr: how to create the Secrets holding the project's .env (names only, never values)."""
    from ..translator.secrets import create_hint, project_dotenv, referenced_secrets

    secrets = referenced_secrets(objects)
    dotenv = project_dotenv(path if path.is_dir() else path.parent)
    if secrets and dotenv is not None:
        sys.stderr.write(create_hint(dotenv, secrets, namespace))
