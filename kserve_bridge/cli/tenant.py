"""`kserve-bridge tenant NAME`: print (or apply) a team's namespace, quota, limits, RBAC and policies."""
from __future__ import annotations

import argparse
import sys

OPTIONS = [  # flag, TenantLimits field, type, help
    ("--cpu", "cpu", str, "quota: total CPU requests"),
    ("--memory", "memory", str, "quota: total memory requests and limits"),
    ("--gpus", "gpus", int, "quota: total nvidia.com/gpu"),
    ("--pods", "pods", int, "quota: pods"),
    ("--max-apis", "inference_services", int, "quota: InferenceServices"),
    ("--max-graphs", "inference_graphs", int, "quota: InferenceGraphs (traffic splitters)"),
    ("--default-cpu", "default_cpu", str, "CPU request of a container that sets none"),
    ("--default-memory", "default_memory", str, "memory request/limit of a container that sets none"),
    ("--max-cpu", "max_cpu", str, "largest CPU per container (also the default CPU limit)"),
    ("--max-memory", "max_memory", str, "largest memory per container"),
]


def register(sub: argparse._SubParsersAction) -> None:
    from ..translator.tenant import DEPLOYER, TenantLimits
    defaults = TenantLimits()
    p = sub.add_parser("tenant", help="a team's namespace: quota, limits, deployer RBAC, mTLS policies",
                       description="Print the objects a team needs to deploy APIs in its own namespace "
                                   "(Namespace, ResourceQuota, LimitRange, ServiceAccount, Role, RoleBinding, "
                                   "PeerAuthentication, AuthorizationPolicy), or server-side apply them.")
    p.add_argument("name", help="namespace name (DNS-1123 label)")
    for flag, key, kind, text in OPTIONS:
        p.add_argument(flag, dest=key, type=kind, default=getattr(defaults, key),
                       help=f"{text} (default {getattr(defaults, key)})")
    p.add_argument("--group", action="append", default=[], help="RBAC group allowed to deploy (repeatable)")
    p.add_argument("--service-account", action="append", default=None,
                   help=f"service account allowed to deploy, created in the namespace (repeatable; default "
                        f"{DEPLOYER} unless --group is given)")
    p.add_argument("--apply", action="store_true", help="server-side apply instead of printing")
    p.add_argument("--kubeconfig", help="kubeconfig file (with --apply)")
    p.add_argument("--context", help="kubeconfig context (with --apply)")
    p.set_defaults(run=run_tenant)


def run_tenant(args: argparse.Namespace) -> int:
    from ..manifest import render
    from ..translator.tenant import DEPLOYER, tenant_objects

    accounts = args.service_account if args.service_account is not None else ([] if args.group else [DEPLOYER])
    objects = tenant_objects(args.name, groups=tuple(args.group), service_accounts=tuple(accounts),
                             **{key: getattr(args, key) for _, key, _, _ in OPTIONS})
    if not args.apply:
        sys.stdout.write(render(objects))
        return 0
    from ..cluster.kube import Kube
    from ..cluster.tenant import apply_tenant
    kube = Kube(namespace=args.name, kubeconfig=args.kubeconfig, context=args.context)
    for stored in apply_tenant(kube, objects):
        meta = stored.get("metadata") or {}
        print(f"{stored.get('kind', '?')}/{meta.get('name', '?')} applied"
              + (f" (namespace {meta['namespace']})" if meta.get("namespace") else ""))
    return 0
