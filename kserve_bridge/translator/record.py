"""`Record`: what each Cortex field became, kept while translating (for --explain)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Record:
    """Per-API log of mapped and dropped fields; translation writes, explain reads."""

    api: str
    mapped: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def map(self, source: str, target: str) -> None:
        self.mapped.append((source, target))

    def drop(self, source: str, why: str) -> None:
        self.dropped.append((source, why))

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def text(self) -> str:
        lines = [f"{self.api}:"]
        lines += [f"  {src:<48} -> {dst}" for src, dst in self.mapped]
        if self.dropped:
            lines.append("  not carried over:")
            lines += [f"    {src:<46} {why}" for src, why in self.dropped]
        if self.warnings:
            lines.append("  warnings:")
            lines += [f"    {text}" for text in self.warnings]
        return "\n".join(lines)
