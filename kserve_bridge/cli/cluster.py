"""`kserve-bridge deploy | get | delete`: APIs on a Kubernetes cluster running KServe."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import BridgeError


def add_cluster_args(p: argparse.ArgumentParser) -> None:
    """--namespace/--kubeconfig/--context, shared by every cluster command."""
    p.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")


def kube_for(args: argparse.Namespace):
    from ..cluster.kube import Kube
    return Kube(namespace=args.namespace, kubeconfig=args.kubeconfig, context=args.context)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deploy", help="convert a spec and apply it to the cluster",
                       description="Translate a cortex.yaml into KServe objects and server-side apply them "
                                   "(field manager kserve-bridge). Re-running with the same inputs changes nothing.")
    p.add_argument("path", help="cortex.yaml or project directory")
    add_cluster_args(p)
    p.add_argument("--storage-uri", help="where projects are uploaded: each deployment gets its own prefix "
                   "<URI>/<deployment id> (s3://, gs://, https://ACCOUNT.blob.core.windows.net/...; default: "
                   "kserve.storage_uri or $KSERVE_BRIDGE_STORAGE_URI)")
    p.add_argument("--no-upload", action="store_true",
                   help="apply without uploading: storageUri is --storage-uri as given (you fill it yourself)")
    p.add_argument("--image", help="model server image (default: the translator's)")
    p.add_argument("--wait", action="store_true", help="wait until every InferenceService is Ready")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait with --wait (default 600)")
    p.add_argument("--canary", type=int, metavar="PERCENT",
                   help="the new version of an API already serving takes PERCENT %% as a canary (Serverless: "
                        "canaryTrafficPercent; RawDeployment: spec.canary), the stable version the rest; then "
                        "`kserve-bridge canary status|promote|rollback|auto`")
    p.add_argument("--stop-on-quota", action="store_true",
                   help="do not apply when an API at max_replicas would not fit the namespace's ResourceQuota")
    p.set_defaults(run=run_deploy)

    p = sub.add_parser("get", help="show APIs: status, URL, traffic split, deployment id")
    p.add_argument("api", nargs="?", help="one API's details (default: a table of all)")
    p.add_argument("--code", action="store_true",
                   help="print the predictor source and spec the API's current revision was deployed from")
    add_cluster_args(p)
    p.set_defaults(run=run_get)

    p = sub.add_parser("delete", help="delete an API")
    p.add_argument("api")
    add_cluster_args(p)
    p.set_defaults(run=run_delete)


def run_deploy(args: argparse.Namespace) -> int:
    from ..cluster.deploy import apply_release, is_isvc, objects_for, wait_ready
    from ..cluster.secrets import apply_env_secrets
    from ..translator.secrets import project_dotenv

    path = Path(args.path)
    project_dir = path if path.is_dir() else path.parent
    kube = kube_for(args)
    objects = objects_for(path, project_dir, namespace=kube.namespace, storage_uri=args.storage_uri,
                          image=args.image, upload=not args.no_upload)
    _warn_quota(kube, objects, args.stop_on_quota)
    for name, verb, count in apply_env_secrets(kube, objects, project_dotenv(project_dir)):
        print(f"Secret/{name} {verb} from .env ({count} variables; values not shown)")
        if verb == "configured":
            print("  running pods keep the old values until they restart (the next revision, or delete the pods)")
    results, notes = apply_release(kube, objects, args.canary)
    for stored, verb in results:
        meta = stored["metadata"]
        print(f"{stored['kind']}/{meta['name']} {verb} (namespace {meta.get('namespace', kube.namespace)})")
    for note in notes:
        print(f"  {note}")
    if args.wait:
        for obj in filter(is_isvc, objects):
            name = obj["metadata"]["name"]
            status = wait_ready(kube, name, args.timeout, on_progress=lambda s: print(
                f"  {s.name}: " + (", ".join(f"{k}={v}" for k, v in s.conditions.items()) or "waiting for status")))
            print(f"{name} is Ready at {status.url or '(no URL yet)'}")
    return 0


def _warn_quota(kube, objects: list[dict], stop: bool) -> None:
    """Say, with figures, which APIs at max_replicas would not fit the ResourceQuota left; stop if asked."""
    import sys

    from ..cluster.quota import check_quota
    from ..errors import BridgeError, ClusterError
    try:
        short = check_quota(kube, objects)
    except ClusterError as exc:
        print(f"note: quota not checked ({exc})", file=sys.stderr)
        return
    for item in short:
        print(f"warning: {item} (sidecars not counted)", file=sys.stderr)
    if short and stop:
        raise BridgeError("not applied (--stop-on-quota): raise the quota, lower max_replicas or compute, "
                          "or deploy without --stop-on-quota")
    if short:
        print("warning: applying anyway; pods beyond the quota will not start (--stop-on-quota stops here)",
              file=sys.stderr)


def run_get(args: argparse.Namespace) -> int:
    from ..cluster.client import Client
    from ..cluster.kube import Ref
    from ..cluster.status import logs_hint

    client = Client(namespace=args.namespace, kubeconfig=args.kubeconfig, context=args.context)
    if args.code:
        if not args.api:
            raise BridgeError("get --code needs an API name")
        return print_code(client.get_code(args.api))
    if args.api:
        from ..cluster.rollout.traffic import RAW, read_state
        s = client.get_api(args.api)
        isvc = client.kube.get(Ref.isvc(s.name, s.namespace))
        try:
            state = read_state(isvc)
            raw = state if state.mode == RAW else None  # RawDeployment: the split comes from spec.canary
        except BridgeError:  # several canaries: the status as KServe reports it
            raw = None
        share = raw.share if raw else s.canary_percent
        rows = [("name", s.name), ("namespace", s.namespace), ("status", f"{s.state} {s.reason}".strip()),
                *([("error", s.failure)] if s.failure else []),
                ("url", s.url or "-"), ("traffic", raw.split if raw else s.split()),
                ("canary percent", "-" if share is None else f"{share}%"),
                ("replicas", "-" if s.copies is None else str(s.copies)),
                ("deployment id", s.deployment_id or "-"),
                *(("registered model", m) for m in s.registered_models)]
        from ..cluster.vpa import vpa_rows
        rows += vpa_rows(client.kube, isvc)
        rows += [(f"condition {k}", v) for k, v in s.conditions.items()]
        for key, value in rows:
            print(f"{key + ':':<24}{value}")
        print(f"\nlogs: {logs_hint(s.name, s.namespace)}")
        return 0
    apis = client.list_apis()
    if not apis:
        print(f"no APIs in namespace {client.namespace}")
        return 0
    table = [("NAME", "STATUS", "URL", "TRAFFIC", "REPLICAS", "DEPLOYMENT-ID")]
    table += [(s.name, s.state, s.url or "-", s.split(), "-" if s.copies is None else str(s.copies),
               s.deployment_id or "-") for s in apis]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    failing = [s for s in apis if s.failure]
    if failing:
        print("\nfailing:")
        for s in failing:
            print(f"  {s.name}: {s.failure}")
    return 0


def print_code(deployment) -> int:
    """The spec then the predictor source of one deployment, as `get --code` shows them."""
    import yaml
    print(f"# deployment {deployment.deployment_id} of {deployment.api}, from {deployment.uri}")
    print(f"# spec (resolved)\n{yaml.safe_dump(deployment.spec, sort_keys=False).rstrip()}")
    print(f"\n# {deployment.predictor_path}\n{deployment.predictor_source.rstrip()}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from ..cluster.kube import Ref
    from ..errors import NotFoundError

    kube = kube_for(args)
    try:
        kube.delete(Ref.isvc(args.api, kube.namespace))
        print(f"InferenceService/{args.api} deleted (namespace {kube.namespace})")
        from ..cluster.vpa import delete_vpa
        if delete_vpa(kube, args.api):
            print(f"VerticalPodAutoscaler/{args.api}-predictor deleted (namespace {kube.namespace})")
    except NotFoundError:
        try:
            kube.delete(Ref("serving.kserve.io", "v1alpha1", "inferencegraphs", kube.namespace, args.api))
        except NotFoundError:
            raise NotFoundError(f"no API named {args.api} in namespace {kube.namespace}") from None
        print(f"InferenceGraph/{args.api} deleted (namespace {kube.namespace})")
    return 0
