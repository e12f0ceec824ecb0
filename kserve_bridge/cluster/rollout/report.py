"""What an automatic rollout decided, step by step, and how it ended (exit codes included)."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .metrics import RevisionHealth

# outcome -> exit code of `kserve-bridge canary auto`
EXIT_CODES = {
    "promoted": 0,          # the canary takes all traffic
    "dry_run": 0,           # nothing written; the plan was printed
    "rolled_back": 3,       # the canary was worse (or failed the smoke check): traffic back on stable
    "aborted": 4,           # undecided with --on-undecided hold, or stopped before any change: traffic left
    "rolled_back_undecided": 5,  # could not decide (no traffic, no metrics, canary replaced): rolled back
    "interrupted": 130,     # Ctrl-C / SIGTERM: traffic left where it was; re-run to resume
}


@dataclass(frozen=True)
class Decision:
    """One step of a rollout: the canary's share, what was done, why, and the figures behind it."""

    percent: int | None
    action: str  # plan, smoke, advance, hold, promote, rollback, abort, interrupted
    reason: str
    canary: RevisionHealth | None = None
    stable: RevisionHealth | None = None
    at: float | None = None  # unix time the figures were taken at

    def describe(self) -> str:
        figures = "".join(f"\n    {role:<6} {h.describe()}" for role, h in
                          (("canary", self.canary), ("stable", self.stable)) if h is not None)
        share = "  -" if self.percent is None else f"{self.percent:>3}"
        return f"[{share}%] {self.action}: {self.reason}{figures}"

    def to_dict(self) -> dict:
        return {"percent": self.percent, "action": self.action, "reason": self.reason, "at": self.at,
                "canary": self.canary and self.canary.to_dict(), "stable": self.stable and self.stable.to_dict()}


@dataclass
class RolloutResult:
    """How a rollout ended; `exit_code` follows EXIT_CODES."""

    api: str
    namespace: str
    outcome: str = "aborted"
    mode: str | None = None
    canary: str | None = None
    stable: str | None = None
    decisions: list[Decision] = field(default_factory=list)

    @property
    def exit_code(self) -> int | None:
        """None while the rollout is still running."""
        return EXIT_CODES.get(self.outcome)

    def to_dict(self) -> dict:
        return {"api": self.api, "namespace": self.namespace, "mode": self.mode, "canary": self.canary,
                "stable": self.stable, "outcome": self.outcome, "exit_code": self.exit_code,
                "decisions": [d.to_dict() for d in self.decisions]}

    def write(self, path: str | Path) -> None:
        """Write the report as JSON, atomically (a reader never sees half a file)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as out:
            json.dump(self.to_dict(), out, indent=2)
            out.write("\n")
        os.replace(tmp, path)
