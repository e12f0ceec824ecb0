"""The kserve and uvicorn versions whose internals modelserver/internals.py was checked against.

pyproject.toml's [server] extra bounds them the same way. `python -m modelserver` checks them first,
before it imports either (an upgrade that moved an import would otherwise fail with a traceback)."""
from __future__ import annotations

from importlib import metadata

from packaging.specifiers import SpecifierSet
from packaging.version import Version

SUPPORTED = {"kserve": SpecifierSet("==0.21.*"), "uvicorn": SpecifierSet(">=0.55,<0.56")}


def check_versions() -> str | None:
    """A clear message when the installed kserve or uvicorn is outside SUPPORTED, else None."""
    wrong = []
    for name, allowed in SUPPORTED.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} is not installed")
            continue
        if Version(version) not in allowed:
            wrong.append(f"{name} {version} is installed; this server supports {name}{allowed}")
    if not wrong:
        return None
    return ("; ".join(wrong) + ". modelserver/internals.py relies on these versions' internals: install "
            "kserve-bridge[server] to get them")
