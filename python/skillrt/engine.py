"""skillrt.Engine: skillrt's C++ engine in-process, with the same gatekeeper, sandboxes,
audit log and events as the CLI (docs/python.md)."""

from __future__ import annotations

import atexit
import datetime as _dt
import os
import threading
import weakref
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import _skillrt
from .approvals import ApprovalRequest, Approver, Decision, PendingApproval, wrap_approver
from .errors import InvalidArgumentError, UnsupportedError
from .run import RunHandle
from .tools import FORMATS, response_to_dict

__all__ = ["Engine", "Outcome", "validate"]

Outcome = _skillrt.Outcome
PathLike = Union[str, "os.PathLike[str]"]

_MIB = 1 << 20
_open_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()
_open_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    # Runs in flight are cancelled while the interpreter can still run a Python approver;
    # once it finalizes, threads can no longer take the GIL.
    with _open_lock:
        engines = list(_open_engines)
    for engine in engines:
        engine.close()


def _path(value: PathLike, what: str) -> str:
    try:
        return os.fspath(value)
    except TypeError:
        raise InvalidArgumentError(f"{what}: expected a path, got {type(value).__name__}") from None


def _timeout_ms(timeout: Optional[float]) -> Optional[int]:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgumentError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    return max(1, round(timeout * 1000))


def _memory_bytes(memory: Optional[int]) -> Optional[int]:
    if memory is None:
        return None
    if isinstance(memory, bool) or not isinstance(memory, int) or memory <= 0:
        raise InvalidArgumentError(f"memory: expected a positive number of MiB, got {memory!r}")
    return memory * _MIB


def _count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{what}: expected a count of 0 or more, got {value!r}")
    return value


def _epoch(value: Union[None, float, _dt.datetime]) -> Optional[float]:
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise InvalidArgumentError("since/until: a datetime must carry its time zone")
        return value.timestamp()
    raise InvalidArgumentError(f"since/until: expected a datetime or epoch seconds, got {value!r}")


def _argv(argv: Sequence[str]) -> list[str]:
    if isinstance(argv, (str, bytes)) or not all(isinstance(a, str) for a in argv):
        raise InvalidArgumentError("argv: expected a list of str, e.g. ['echo', 'hi']")
    return list(argv)


def _stdin(data: Union[None, str, bytes]) -> bytes:
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    raise InvalidArgumentError(f"stdin: expected str or bytes, got {type(data).__name__}")


class Engine:
    """skillrt's engine: loads skills, asks the policy (and an approver), runs each call in its
    sandbox and appends the audit record.

    Thread-safe: any number of Python threads may run skills at once; the GIL is released
    while a run executes. Close it with :meth:`close` or a ``with`` block; open engines are
    closed at interpreter exit.

    fork: an engine belongs to the process that opened it. After ``os.fork()`` the parent's
    engine goes on working; in the child, every method raises UnsupportedError (the engine's
    threads do not exist there). Open a new Engine in the child instead.
    """

    def __init__(
        self,
        home: Optional[PathLike] = None,
        skills: Iterable[PathLike] = (),
        policy: Optional[PathLike] = None,
        approver: Optional[Approver] = None,
        *,
        approval_timeout: float = 0.0,
        user_policy: bool = True,
        watch: bool = True,
        require_lock: bool = False,
        prepared_sandboxes: int = 4,
    ) -> None:
        """Opens an engine.

        Args:
            home: the state directory (audit log, approvals, locks); None: $SKILLRT_HOME,
                else ~/.skillrt. Created (mode 0700) when missing.
            skills: extra skill directories, searched before $SKILLRT_PATH and <home>/skills.
            policy: a policy file read instead of a project's (docs/policy.md); must exist.
            approver: called as ``approver(request: ApprovalRequest)`` when the policy asks,
                with the GIL held, on the thread of the asking run, one request at a time;
                returns a Decision (or "once", "session", "always", "deny", "abort"), True
                (once) or False (deny). An exception or anything else denies. It must not call
                back into the same engine. None: calls the policy asks about wait
                ``approval_timeout`` seconds for :meth:`approve`, then are denied.
            approval_timeout: seconds a call waits for :meth:`approve` without an approver;
                0 denies at once.
            user_policy: read <home>/policy.toml when it exists.
            watch: keep the skill catalogue current with inotify (a long-lived process).
            require_lock: refuse every skill without an entry in <home>/skills.lock.
            prepared_sandboxes: sandboxes kept prepared for native skills run before, each
                for the very same plan and one run (docs/sandbox.md, "Prepared sandboxes");
                a Python script's with its interpreter started. 0: none.

        Raises:
            SkillrtIOError: the home directory cannot be made or written.
            ParseError, ValidationError: a bad policy file. NotFoundError: ``policy`` missing.
            UnsupportedError: the kernel lacks what the sandbox needs.
        """
        if approver is not None and not callable(approver):
            raise InvalidArgumentError("approver: expected a callable or None")
        if isinstance(skills, (str, bytes, os.PathLike)):
            skills = [skills]  # One directory given on its own.
        self._pid = os.getpid()
        self._core = _skillrt.Engine(
            home=None if home is None else _path(home, "home"),
            skills=[_path(s, "skills") for s in skills],
            policy=None if policy is None else _path(policy, "policy"),
            user_policy=bool(user_policy),
            approver=None if approver is None else wrap_approver(approver),
            approval_timeout_ms=int(float(approval_timeout) * 1000),
            watch=bool(watch),
            require_lock=bool(require_lock),
            prepared_sandboxes=_count(prepared_sandboxes, "prepared_sandboxes"),
        )
        with _open_lock:
            _open_engines.add(self)

    # Running skills.

    def run(
        self,
        skill: str,
        input: Optional[Mapping[str, Any]] = None,
        *,
        timeout: Optional[float] = None,
        memory: Optional[int] = None,
        run_id: Optional[str] = None,
        workspace: Optional[PathLike] = None,
        best_effort: bool = False,
    ) -> Outcome:
        """Runs the skill's entry point with ``input`` and returns its Outcome. Blocks, the GIL
        released, until the run ends (use :meth:`start` to watch or cancel it).

        Args:
            skill: a name, or a path to a skill directory; "name@instance" picks an instance.
            input: the JSON object given to the skill (dicts, lists, str, int, float, bool,
                None); checked against the skill's input schema. None: {}.
            timeout: wall-clock limit in seconds; may only narrow the manifest's.
            memory: memory limit in MiB; may only narrow the manifest's.
            run_id: 1-64 characters of [A-Za-z0-9_-]; None: the engine makes one.
            workspace: an absolute host directory the run may read and write, its working
                directory (native skills; judged by the policy).
            best_effort: run with the isolation layers the kernel offers instead of refusing
                when one is missing.

        Returns:
            An Outcome: ``status`` "ok", "error", "timeout", "killed", "denied" (the manifest,
            the lock or the policy refused; ``message`` says why) or "cancelled".

        Raises:
            NotFoundError: unknown skill or instance, a required secret without a value.
            ParseError, ValidationError: a bad SKILL.md, skill.toml or instances.toml.
            InvalidArgumentError: input not matching the input schema or not JSON, a widening
                override, a bad run id.
            SandboxError: an isolation layer could not be applied.
        """
        return self._core.run(
            skill,
            input,
            timeout_ms=_timeout_ms(timeout),
            memory_bytes=_memory_bytes(memory),
            run_id=run_id,
            workspace=None if workspace is None else _path(workspace, "workspace"),
            best_effort=best_effort,
        )

    def exec(
        self,
        skill: str,
        argv: Sequence[str],
        *,
        stdin: Union[None, str, bytes] = None,
        timeout: Optional[float] = None,
        memory: Optional[int] = None,
        run_id: Optional[str] = None,
        workspace: Optional[PathLike] = None,
        best_effort: bool = False,
    ) -> Outcome:
        """Runs ``argv`` inside the skill's sandbox and returns its Outcome. The command guard
        checks it first (docs/risk-guard.md): every command must be one the skill allows, and
        critical risks are refused (status "denied"). Other arguments, errors as :meth:`run`;
        ``stdin`` is given to the program (str as UTF-8)."""
        return self._core.exec(
            skill,
            _argv(argv),
            _stdin(stdin),
            timeout_ms=_timeout_ms(timeout),
            memory_bytes=_memory_bytes(memory),
            run_id=run_id,
            workspace=None if workspace is None else _path(workspace, "workspace"),
            best_effort=best_effort,
        )

    def start(
        self,
        skill: str,
        input: Optional[Mapping[str, Any]] = None,
        *,
        argv: Optional[Sequence[str]] = None,
        stdin: Union[None, str, bytes] = None,
        timeout: Optional[float] = None,
        memory: Optional[int] = None,
        run_id: Optional[str] = None,
        workspace: Optional[PathLike] = None,
        best_effort: bool = False,
    ) -> RunHandle:
        """Starts a run (or, with ``argv``, an exec) on a thread of its own and returns its
        RunHandle at once: watch it with ``events()``, stop it with ``cancel()``, get its
        Outcome with ``wait()``. When the policy asks, it waits for the approver (or
        :meth:`approve`) while other runs go on.

        Raises, before anything runs: InvalidArgumentError (a malformed run id, input that is
        not JSON, both ``input`` and ``argv``), ConflictError (the run id is in flight).
        Every other failure is raised by ``wait()``, as run() would raise it.
        """
        workspace_path = None if workspace is None else _path(workspace, "workspace")
        if argv is None:
            if stdin is not None:
                raise InvalidArgumentError("stdin: only with argv (an exec)")
            core = self._core.start_run(
                skill,
                input,
                timeout_ms=_timeout_ms(timeout),
                memory_bytes=_memory_bytes(memory),
                run_id=run_id,
                workspace=workspace_path,
                best_effort=best_effort,
            )
        else:
            if input is not None:
                raise InvalidArgumentError("input and argv: give one (a run or an exec)")
            core = self._core.start_exec(
                skill,
                _argv(argv),
                _stdin(stdin),
                timeout_ms=_timeout_ms(timeout),
                memory_bytes=_memory_bytes(memory),
                run_id=run_id,
                workspace=workspace_path,
                best_effort=best_effort,
            )
        return RunHandle(core)

    def find_run(self, run_id: str) -> Optional[RunHandle]:
        """The handle of the run in flight with this id, or None."""
        core = self._core.find_run(run_id)
        return None if core is None else RunHandle(core)

    def cancel_all(self, reason: str = "cancelled") -> None:
        """Cancels every run in flight with ``reason``."""
        self._core.cancel_all(reason)

    # Approvals.

    def approve(
        self,
        run_id_or_key: str,
        decision: Union[Decision, str] = Decision.ONCE,
        *,
        via: str = "python",
        message: str = "",
    ) -> int:
        """Answers the approval that run ``run_id_or_key`` waits for (or, given an approval
        key, every pending request with it). SESSION and ALWAYS also answer other pending
        requests with the same key. ``via`` names who answered in events and the audit log.
        Returns how many requests were answered.

        Raises NotFoundError when nothing is pending under that name, InvalidArgumentError for
        an unknown decision or an empty ``via``.
        """
        name = decision.value if isinstance(decision, Decision) else decision
        if not isinstance(name, str):
            raise InvalidArgumentError(f"decision: expected a Decision or str, got {decision!r}")
        return self._core.approve(run_id_or_key, name, via, message)

    def pending_approvals(self) -> list[PendingApproval]:
        """The approval requests now waiting for :meth:`approve`, oldest first."""
        out = []
        for p in self._core.pending_approvals():
            out.append(
                PendingApproval(
                    run_id=p["run_id"],
                    since=p["since"],
                    deadline=p["deadline"],
                    request=ApprovalRequest(**p["request"]),
                )
            )
        return out

    def check_policy(self, skill: str, argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
        """What the policy says about ``run`` of ``skill`` (or ``exec`` of ``argv``) without
        running it: {"skill", "kind", "effect": "allow"|"ask"|"deny", "summary", "rules",
        "risk", "approval_key", "stored_approval"}. Errors as run()."""
        return self._core.check_policy(skill, [] if argv is None else _argv(argv))

    # The catalogue.

    def skills(self) -> list[dict[str, Any]]:
        """Every skill the engine can find, by name: [{"name", "path", "root", "shadowed":
        [paths of directories with the same name that this one hides]}], sorted by name."""
        return self._core.skills()

    def info(self, name: str) -> dict[str, Any]:
        """What the engine knows of one skill: name, display_name, description, path, license,
        compatibility, metadata, allowed_tools, tree_sha256, runtime ("native", "wasm",
        "container"), inferred, entry, input_schema, capabilities, limits, warnings.

        Raises NotFoundError (unknown), ParseError or ValidationError (a bad skill)."""
        return self._core.info(name)

    def validate(self, path: PathLike) -> list[dict[str, Any]]:
        """As :func:`skillrt.validate`."""
        return validate(path)

    # Tools for language models.

    def tools(self, format: str = "openai", *, only: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
        """The skills as tool definitions for an LLM API: ``format`` "openai" (Chat
        Completions), "responses" (OpenAI Responses), "anthropic" (Messages) or "mcp".

        Raises InvalidArgumentError for another format, UnsupportedError when this build has
        no tool API (include/skillrt/tools.h)."""
        if format not in FORMATS:
            raise InvalidArgumentError(
                f"format: expected one of {', '.join(FORMATS)}, got {format!r}"
            )
        tool_definitions = self._tool_api("tool_definitions")
        return tool_definitions(format, [] if only is None else list(only))

    def handle_tool_calls(
        self, response: Any, *, timeout: Optional[float] = None, max_concurrency: int = 4
    ) -> list[dict[str, Any]]:
        """Runs the tool calls of a model's ``response`` through the engine (the policy, the
        approver, the sandbox, the audit log) and returns the messages to append to the
        conversation, in the provider's format: for OpenAI Chat ``role: tool`` messages, for
        Responses ``function_call_output`` items, for Anthropic one ``user`` message of
        ``tool_result`` blocks. A response without calls gives [].

        ``response``: an ``openai`` ChatCompletion (or its message), a Responses ``Response``
        (or its output items), an ``anthropic`` Message (or its content), the same as dicts,
        or JSON text (skillrt.response_to_dict). ``timeout`` (seconds) narrows every call's
        wall time; at most ``max_concurrency`` calls run at once. An unknown tool, bad
        arguments or a refused call is an error result for the model, not an exception.

        Raises InvalidArgumentError for a response of no known shape, UnsupportedError when
        this build has no tool API."""
        payload = response_to_dict(response)
        handle = self._tool_api("handle_tool_calls")
        return handle(payload, timeout_ms=_timeout_ms(timeout), max_concurrency=max_concurrency)

    def _tool_api(self, name: str) -> Any:
        function = getattr(self._core, name, None)
        if function is None:
            raise UnsupportedError(
                f"Engine.{name.replace('tool_definitions', 'tools')}: this build of skillrt has "
                "no tool API (include/skillrt/tools.h)"
            )
        return function

    # The audit log.

    def audit_query(
        self,
        *,
        skill: Optional[str] = None,
        status: Optional[str] = None,
        event: Optional[str] = None,
        since: Union[None, float, _dt.datetime] = None,
        until: Union[None, float, _dt.datetime] = None,
        limit: int = 0,
    ) -> list[dict[str, Any]]:
        """The audit records (docs/audit.md) that match every filter given, oldest first:
        ``skill`` and ``status`` ("ok", "denied", ...) equal, ``event`` ("run", "refusal",
        "approval", "egress"), ``since``/``until`` as aware datetimes or epoch seconds;
        ``limit`` keeps the last N (0: all). Raises NotFoundError when there is no log yet,
        ParseError naming a line that is not a JSON object."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidArgumentError(f"limit: expected a non-negative int, got {limit!r}")
        return self._core.audit_query(skill, status, event, _epoch(since), _epoch(until), limit)

    def audit_verify(self, pin: Optional[tuple[int, str]] = None) -> dict[str, Any]:
        """Checks the audit log's hash chain: {"ok", "records", "head_seq", "head_hash", "line",
        "seq", "problem", "message", "interrupted_append"}. ``pin`` = (seq, hash) recorded
        earlier where the log's writers cannot reach: the log must still hold that record. A
        log that fails is ``ok`` False, not an exception."""
        if pin is None:
            return self._core.audit_verify(None, None)
        seq, digest = pin
        return self._core.audit_verify(seq, digest)

    # Life cycle.

    @property
    def home(self) -> str:
        """The state directory in use."""
        return self._core.home

    @property
    def audit_path(self) -> str:
        """The audit log's path, <home>/audit.log."""
        return self._core.audit_path

    @property
    def closed(self) -> bool:
        return self._core.closed

    def close(self) -> None:
        """Cancels the runs in flight ("engine closed") and lets go of the engine; handles
        keep their events and outcomes. Later calls raise InvalidArgumentError. Idempotent;
        does nothing in a process forked from the one that opened it."""
        if os.getpid() != self._pid:
            return
        self._core.close()
        with _open_lock:
            _open_engines.discard(self)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "Engine(closed)"
        return f"Engine(home={self.home!r})"


def validate(path: PathLike) -> list[dict[str, Any]]:
    """Checks the skill directory ``path`` strictly against the Agent Skills specification and
    the manifest schema. Returns every problem found, each {"severity": "error"|"warning",
    "file", "line", "field", "message", "text"}; an empty list means valid. Never raises for a
    bad skill (only for a ``path`` that is not a path)."""
    return _skillrt.validate(_path(path, "path"))
