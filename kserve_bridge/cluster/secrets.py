"""`deploy`'s part of .env delivery: create or update each API's Secret from the project's .env.

The file is parsed with python-dotenv (what `kserve-bridge serve` uses locally). Secrets are
server-side applied with field manager kserve-bridge; one that exists without our managed-by label
is left alone (it is someone else's). Names, never values, appear in output and errors.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

from ..errors import BridgeError, ClusterError, NotFoundError
from ..translator.secrets import referenced_secrets
from .kube import Kube

MANAGED_BY = {"app.kubernetes.io/managed-by": "kserve-bridge"}
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # usable by envFrom and a valid Secret key
MAX_SECRET_BYTES = 1024 * 1024  # Kubernetes' limit on a Secret's data


def read_dotenv(path: Path) -> dict[str, str]:
    """The variables of a .env file; bad names are reported by name and line, values never shown."""
    try:
        from dotenv import dotenv_values
    except ImportError as exc:
        raise BridgeError("reading .env needs python-dotenv: pip install 'kserve-bridge[cluster]'") from exc
    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise BridgeError(f"cannot read {path}: {type(exc).__name__}") from None
    bad = [k for k in values if not ENV_NAME.fullmatch(k)]
    if bad:
        raise BridgeError(f"{path}: {', '.join(repr(k) for k in bad)}: not valid environment variable names "
                          "(letters, digits and '_', not starting with a digit)")
    env = {k: v for k, v in values.items() if v is not None}
    if sum(len(k) + len(v.encode()) for k, v in env.items()) > MAX_SECRET_BYTES:
        raise BridgeError(f"{path} holds more than 1 MiB, Kubernetes' limit for a Secret")
    return env


def secret_object(name: str, namespace: str, env: dict[str, str]) -> dict:
    data = {k: base64.b64encode(v.encode()).decode() for k, v in sorted(env.items())}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
            "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)}}


def apply_env_secrets(kube: Kube, objects: list[dict], dotenv: Path | None) -> list[tuple[str, str, int]]:
    """Create or update every Secret the InferenceServices read; (name, created|configured|unchanged, count)."""
    names = referenced_secrets(objects)
    if not names or dotenv is None:
        return []
    env = read_dotenv(dotenv)
    return [(name, *_apply(kube, secret_object(name, kube.namespace, env), list(env.values()))) for name in names]


def _apply(kube: Kube, secret: dict, values: list[str]) -> tuple[str, int]:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(kube.api.api_client)
    name, namespace = secret["metadata"]["name"], secret["metadata"]["namespace"]
    try:
        with kube._errors(f"GET Secret {name}", None):
            try:
                before = core.read_namespaced_secret(name, namespace)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                before = None
        labels = (before.metadata.labels if before is not None and before.metadata else None) or {}
        if before is not None and labels.get("app.kubernetes.io/managed-by") != "kserve-bridge":
            raise ClusterError(f"Secret {name} in namespace {namespace} exists and is not managed by kserve-bridge; "
                               "rename or delete it (its values are left untouched)")
        stored = kube.apply(secret)
    except (ClusterError, NotFoundError) as exc:
        raise type(exc)(_redact(str(exc), values)) from None
    versions = {stored["metadata"].get("resourceVersion")}
    if before is not None:
        versions.add(getattr(before.metadata, "resource_version", None))
    verb = "created" if before is None else "unchanged" if len(versions) == 1 else "configured"
    return verb, len(secret["data"])


def _redact(text: str, values: list[str]) -> str:
    """An API error never echoes a value back to the terminal."""
    for value in sorted((v for v in values if len(v) >= 3), key=len, reverse=True):
        text = text.replace(value, "***")
    return text
