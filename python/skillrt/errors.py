"""The exceptions of the skillrt package: one class per error code of the C++ core
(include/skillrt/error.h), all under :class:`SkillrtError`.

A skill that fails (exits non-zero, times out, is killed by a limit, is refused by its manifest
or the policy, or is cancelled) is an :class:`skillrt.Outcome`, never an exception: these are
raised only when skillrt itself could not do what was asked.
"""

from __future__ import annotations

__all__ = [
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
    "ERROR_CLASSES",
]


class SkillrtError(Exception):
    """Base class of every skillrt error.

    Attributes:
        message: what went wrong, naming the file, field or call at fault.
        code: the core's error code name ("not_found", "parse", ...).
        errno: the errno of the failing system call, 0 when there was none.
    """

    code_name = "internal"

    def __init__(self, message: str, *, code: str | None = None, errno: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code_name
        self.errno = errno

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(SkillrtError, ValueError):
    """A value the caller gave is malformed: input that does not match the skill's input
    schema, a bad run id, an override that would widen the manifest, a bad keyword value."""

    code_name = "invalid_argument"


class NotFoundError(SkillrtError, LookupError):
    """A skill, instance, file, run or pending approval that was named does not exist."""

    code_name = "not_found"


class ParseError(SkillrtError):
    """A file could not be parsed (SKILL.md, skill.toml, a policy file, JSON)."""

    code_name = "parse"


class ValidationError(SkillrtError):
    """A file parsed but breaks its schema or the specification (a bad manifest)."""

    code_name = "validation"


class ConflictError(SkillrtError):
    """Two things claim one identity, e.g. a run id already in flight."""

    code_name = "conflict"


class DeniedError(SkillrtError, PermissionError):
    """A permission skillrt itself needs was refused (a reserved host path)."""

    code_name = "denied"


class SandboxError(SkillrtError):
    """An isolation layer could not be applied; the run was refused (fail closed)."""

    code_name = "sandbox"


class SkillrtIOError(SkillrtError, OSError):
    """A system call on a file or process failed (``errno`` says which)."""

    code_name = "io"


class UnsupportedError(SkillrtError):
    """The kernel or this build lacks a needed feature, or an engine is used after
    ``os.fork()`` in the child."""

    code_name = "unsupported"


class InternalError(SkillrtError):
    """A broken invariant inside skillrt."""

    code_name = "internal"


ERROR_CLASSES: dict[str, type[SkillrtError]] = {
    cls.code_name: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        ParseError,
        ValidationError,
        ConflictError,
        DeniedError,
        SandboxError,
        SkillrtIOError,
        UnsupportedError,
        InternalError,
    )
}
