"""The auditor's verdict: named checks, each with whether it holds and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Check:
    """One verified property: its name, whether it holds, and why."""

    name: str
    ok: bool
    detail: str


@dataclass
class AuditReport:
    """Everything the auditor checked about one session."""

    session: int
    state: str
    result: list[int] | None
    checks: list[Check] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # what the auditor could not check

    @property
    def passed(self) -> bool:
        """True iff every check holds."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        """The checks that do not hold."""
        return [c for c in self.checks if not c.ok]

    def check(self, name: str) -> Check | None:
        """The check called ``name``, if it was made."""
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "passed": self.passed}
