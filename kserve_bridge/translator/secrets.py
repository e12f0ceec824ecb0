"""A project's `.env` reaches its pods as a Kubernetes Secret, never through the bundle.

`package` leaves `.env` out; the InferenceService takes the variables with `envFrom` from a Secret
whose name follows from the API's name; `deploy` creates or updates that Secret from the file
(cluster/secrets.py). Only names ever leave this module: no value is printed, logged or raised.
"""
from __future__ import annotations

import shlex
from pathlib import Path

DOTENV = ".env"
SECRET_SUFFIX = "-dotenv"


def env_secret_name(api_name: str) -> str:
    """The Secret holding an API's .env variables (API names are DNS-1035 labels, so this is a valid name)."""
    return api_name + SECRET_SUFFIX


def project_dotenv(project_dir: Path | None) -> Path | None:
    """The project's .env file, when it has one."""
    if project_dir is None:
        return None
    path = Path(project_dir) / DOTENV
    try:
        return path if path.is_file() else None
    except OSError:
        return None


def env_from(secret: str) -> list[dict]:
    return [{"secretRef": {"name": secret}}]


def referenced_secrets(objects: list[dict]) -> list[str]:
    """Names of the .env Secrets the InferenceServices among `objects` read with envFrom."""
    names = []
    for obj in objects:
        predictor = (obj.get("spec") or {}).get("predictor") or {}
        for container in [predictor.get("model") or {}] + list(predictor.get("containers") or []):
            names += [ref["secretRef"]["name"] for ref in container.get("envFrom") or [] if "secretRef" in ref]
    return sorted(set(names))


def create_hint(dotenv: Path, secrets: list[str], namespace: str | None) -> str:
    """How to create the Secrets `convert` references (printed to stderr, never with values)."""
    ns = f" -n {shlex.quote(namespace)}" if namespace else ""
    lines = [f"note: {dotenv} is not bundled; pods read its variables from Secret{'s' * (len(secrets) > 1)} "
             f"{', '.join(secrets)} (envFrom). `kserve-bridge deploy` creates and updates "
             f"{'them' if len(secrets) > 1 else 'it'}; with kubectl (which keeps quotes in values literally):"]
    lines += [f"  kubectl create secret generic {name} --from-env-file={shlex.quote(str(dotenv))}{ns}"
              for name in secrets]
    return "\n".join(lines) + "\n"
