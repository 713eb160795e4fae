"""Type stubs of the extension module skillrt._skillrt (src/python/). Users import skillrt;
Outcome is the one class of this module they hold directly."""

from typing import Any, Callable, Optional

class Outcome:
    """What a skill did: the result of Engine.run, Engine.exec and RunHandle.wait. The
    attributes are the fields of the CLI's --json output (docs/cli.md)."""

    @property
    def run_id(self) -> str: ...
    @property
    def skill(self) -> str: ...
    @property
    def status(self) -> str:
        """'ok', 'error', 'timeout', 'killed', 'denied' or 'cancelled'."""
    @property
    def ok(self) -> bool: ...
    @property
    def exit_code(self) -> Optional[int]: ...
    @property
    def signal(self) -> Optional[int]: ...
    @property
    def signal_name(self) -> Optional[str]: ...
    @property
    def output(self) -> Optional[dict[str, Any]]:
        """The JSON object the skill printed, or None."""
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...
    @property
    def stdout_bytes(self) -> bytes: ...
    @property
    def stderr_bytes(self) -> bytes: ...
    @property
    def stdout_truncated(self) -> bool: ...
    @property
    def stderr_truncated(self) -> bool: ...
    @property
    def duration_ms(self) -> float:
        """Wall time, milliseconds."""
    @property
    def cpu_ms(self) -> float:
        """User + system CPU time, milliseconds."""
    @property
    def max_rss_kb(self) -> int:
        """Peak resident memory, KiB."""
    @property
    def limits_hit(self) -> list[str]: ...
    @property
    def layers(self) -> list[str]: ...
    @property
    def message(self) -> str: ...
    @property
    def egress(self) -> list[dict[str, Any]]: ...
    @property
    def limits(self) -> Optional[dict[str, int]]: ...
    def to_dict(self) -> dict[str, Any]:
        """The outcome exactly as the CLI's --json prints it."""

class RunHandle:
    @property
    def run_id(self) -> str: ...
    def done(self) -> bool: ...
    def cancel(self, reason: str = "cancelled") -> bool: ...
    def wait(self, timeout_ms: Optional[int] = None) -> Optional[Outcome]: ...
    def read_events(
        self, after: int, max: int, wait_ms: int
    ) -> tuple[list[dict[str, Any]], int, bool]: ...

class Engine:
    def __init__(
        self,
        home: Optional[str],
        skills: list[str],
        policy: Optional[str],
        user_policy: bool,
        approver: Optional[Callable[[dict[str, Any]], str]],
        approval_timeout_ms: int,
        watch: bool,
        require_lock: bool,
        prepared_sandboxes: int,
    ) -> None: ...
    def run(
        self,
        skill: str,
        input: Optional[Any],
        *,
        timeout_ms: Optional[int] = None,
        memory_bytes: Optional[int] = None,
        run_id: Optional[str] = None,
        workspace: Optional[str] = None,
        best_effort: bool = False,
    ) -> Outcome: ...
    def exec(
        self,
        skill: str,
        argv: list[str],
        stdin: bytes,
        *,
        timeout_ms: Optional[int] = None,
        memory_bytes: Optional[int] = None,
        run_id: Optional[str] = None,
        workspace: Optional[str] = None,
        best_effort: bool = False,
    ) -> Outcome: ...
    def start_run(
        self,
        skill: str,
        input: Optional[Any],
        *,
        timeout_ms: Optional[int] = None,
        memory_bytes: Optional[int] = None,
        run_id: Optional[str] = None,
        workspace: Optional[str] = None,
        best_effort: bool = False,
    ) -> RunHandle: ...
    def start_exec(
        self,
        skill: str,
        argv: list[str],
        stdin: bytes,
        *,
        timeout_ms: Optional[int] = None,
        memory_bytes: Optional[int] = None,
        run_id: Optional[str] = None,
        workspace: Optional[str] = None,
        best_effort: bool = False,
    ) -> RunHandle: ...
    def find_run(self, run_id: str) -> Optional[RunHandle]: ...
    def approve(self, target: str, decision: str, via: str, message: str) -> int: ...
    def pending_approvals(self) -> list[dict[str, Any]]: ...
    def skills(self) -> list[dict[str, Any]]: ...
    def info(self, name: str) -> dict[str, Any]: ...
    def check_policy(self, skill: str, argv: list[str]) -> dict[str, Any]: ...
    def audit_query(
        self,
        skill: Optional[str],
        status: Optional[str],
        event: Optional[str],
        since: Optional[float],
        until: Optional[float],
        limit: int,
    ) -> list[dict[str, Any]]: ...
    def audit_verify(self, pin_seq: Optional[int], pin_hash: Optional[str]) -> dict[str, Any]: ...
    @property
    def home(self) -> str: ...
    @property
    def audit_path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def cancel_all(self, reason: str) -> None: ...
    def close(self) -> None: ...
    def bench_run(self, skill: str, input: Optional[Any], count: int) -> list[float]:
        """Engine::Run `count` times from C++; each call's wall time in microseconds."""

    # Present when the core has the tool API (include/skillrt/tools.h).
    def tool_definitions(self, format: str, only: list[str]) -> list[dict[str, Any]]: ...
    def handle_tool_calls(
        self, response: Any, timeout_ms: Optional[int] = None, max_concurrency: int = 4
    ) -> list[dict[str, Any]]: ...

def validate(path: str) -> list[dict[str, Any]]: ...
def _register_errors(classes: dict[str, type[BaseException]]) -> None: ...
