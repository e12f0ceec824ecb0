"""One error hierarchy for the whole project.

Every error a user can cause derives from `BridgeError`; the CLI prints its
message (never a traceback) and exits with its `exit_code`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_MISSING = object()


def describe_value(value: Any, limit: int = 60) -> str:
    """A short, always-printable rendering of an offending value."""
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where it is, what is wrong, what was found."""

    path: str
    message: str
    file: str = "<spec>"
    line: int | None = None
    value: Any = _MISSING

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        got = "" if self.value is _MISSING else f" (got {describe_value(self.value)})"
        path = f"{self.path}: " if self.path else ""
        return f"{where}: {path}{self.message}{got}"


class BridgeError(Exception):
    """Base of every error kserve-bridge raises on purpose."""

    exit_code = 1


class SpecError(BridgeError):
    """A spec is invalid; `problems` lists every problem found, in file order."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.path))
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in spec:"
        super().__init__("\n".join([header] + ["  " + p.format() for p in self.problems]))


class TranslationError(BridgeError):
    """A valid spec asks for something KServe cannot express."""

    exit_code = 2


class ClusterError(BridgeError):
    """The Kubernetes API refused or failed a request."""


class NotFoundError(ClusterError):
    """An object the command needs does not exist in the cluster."""


class PredictorError(BridgeError):
    """The user's predictor cannot be loaded or breaks the Cortex contract."""


class StorageError(BridgeError):
    """The project cannot be written to (or read from) its storage URI."""
