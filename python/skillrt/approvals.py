"""Approvals in Python: the decisions an approver returns and what it is shown
(docs/approvals.md)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Union

__all__ = ["Decision", "ApprovalRequest", "PendingApproval", "Approver"]


class Decision(str, enum.Enum):
    """An approver's answer. A plain string with the same value works too."""

    ONCE = "once"
    """Run this call, this time only."""
    SESSION = "session"
    """Run it, and every call with the same approval key while the engine lives."""
    ALWAYS = "always"
    """As SESSION, and store the key in <home>/approvals.json."""
    DENY = "deny"
    """Do not run it. The third denial of one key in a session aborts."""
    ABORT = "abort"
    """Do not run it, and refuse every later call that would ask."""


@dataclass(frozen=True)
class ApprovalRequest:
    """What the policy asks an approver about. The approval key changes whenever the skill's
    files, the call (argv, a hash of the input) or its capabilities and limits do."""

    key: str
    skill: str
    skill_dir: str
    tree_sha256: str
    invocation: dict[str, Any]
    """{"kind": "run"|"exec", "instance", "argv", "argv_sha256", "input_sha256"}."""
    request: dict[str, Any]
    """{"runtime", "sandbox_level", "capabilities": {...}, "limits": {...}}: no values."""
    risk: dict[str, Any]
    """{"level": "low"|"medium"|"high"|"critical", "reasons": [...]}."""
    policy: dict[str, Any]
    """{"effect": "ask", "summary", "rules": [...]}: the rules that asked."""
    previous_denials: int
    prompt: str
    """The text an interactive approver shows (control characters escaped)."""

    @property
    def kind(self) -> str:
        """'run' or 'exec'."""
        return str(self.invocation.get("kind", ""))


@dataclass(frozen=True)
class PendingApproval:
    """A request waiting for Engine.approve (engines opened without an approver and with an
    approval_timeout)."""

    run_id: str
    since: float
    """When it began waiting, in seconds since the epoch."""
    deadline: float
    """When it counts as denied, in seconds since the epoch."""
    request: ApprovalRequest = field(repr=False)


Approver = Callable[[ApprovalRequest], Union[Decision, str, bool]]
"""A callable deciding one request: a Decision (or its string), True (ONCE) or False (DENY)."""


def decision_name(answer: object) -> str:
    """The core's name for an approver's answer; anything unknown denies (and is reported
    by the core through sys.unraisablehook)."""
    if answer is True:
        return Decision.ONCE.value
    if answer is False or answer is None:
        return Decision.DENY.value
    if isinstance(answer, Decision):
        return answer.value
    if isinstance(answer, str):
        return answer
    return repr(answer)


def wrap_approver(approver: Approver) -> Callable[[dict[str, Any]], str]:
    """The callable the core calls: it builds the ApprovalRequest and names the answer."""

    def ask(request: dict[str, Any]) -> str:
        return decision_name(approver(ApprovalRequest(**request)))

    return ask
