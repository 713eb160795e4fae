"""skillrt: a secure runtime for AI-agent skills, in-process.

The package binds skillrt's C++ engine (the same gatekeeper, sandboxes, audit log and events
as the ``skillrt`` CLI) with nanobind. Start with :class:`Engine`::

    import skillrt
    with skillrt.Engine(skills=["examples/skills"]) as engine:
        outcome = engine.run("calculator", {"expression": "2*(3+4)"})
        print(outcome.status, outcome.output)

docs/python.md is the reference.
"""

from __future__ import annotations

from . import _skillrt
from .approvals import ApprovalRequest, Approver, Decision, PendingApproval
from .engine import Engine, Outcome, validate
from .errors import (
    ConflictError,
    DeniedError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    ParseError,
    SandboxError,
    SkillrtError,
    SkillrtIOError,
    UnsupportedError,
    ValidationError,
    ERROR_CLASSES as _ERROR_CLASSES,
)
from .run import EventStream, RunHandle
from .tools import response_to_dict

_skillrt._register_errors(_ERROR_CLASSES)

__version__ = "0.1.0"

__all__ = [
    "Engine",
    "Outcome",
    "RunHandle",
    "EventStream",
    "Decision",
    "ApprovalRequest",
    "PendingApproval",
    "Approver",
    "validate",
    "response_to_dict",
    "SkillrtError",
    "InvalidArgumentError",
    "NotFoundError",
    "ParseError",
    "ValidationError",
    "ConflictError",
    "DeniedError",
    "SandboxError",
    "SkillrtIOError",
    "UnsupportedError",
    "InternalError",
]
