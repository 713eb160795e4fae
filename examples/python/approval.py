"""An approval callback: a policy asks about every call of the calculator, and a Python
function decides (here: allow small expressions once, deny the rest).

Run: <build>/pyenv/bin/python examples/python/approval.py   (after scripts/setup.sh)
"""

import pathlib
import tempfile

import skillrt

root = pathlib.Path(__file__).resolve().parents[2]


def approver(request: skillrt.ApprovalRequest) -> skillrt.Decision:
    """Called with the GIL held on the asking run's thread, one request at a time."""
    print(f"asked: {request.kind} {request.skill} (risk {request.risk['level']}),"
          f" key {request.key[:12]}...")
    if request.previous_denials:
        return skillrt.Decision.ABORT
    return skillrt.Decision.ONCE


with tempfile.TemporaryDirectory() as home:
    policy = pathlib.Path(home) / "policy.toml"
    policy.write_text('[[rule]]\nname = "ask-calculator"\neffect = "ask"\nskills = ["calculator"]\n')
    policy.chmod(0o600)
    with skillrt.Engine(home=home, skills=[root / "examples" / "skills"],
                        approver=approver) as engine:
        outcome = engine.run("calculator", {"expression": "6*7"})
        print(f"calculator: {outcome.status} {outcome.output}")
        for record in engine.audit_query(skill="calculator", event="run"):
            decision = record["decision"]
            print(f"audit: {record['status']} policy={decision['policy']}"
                  f" result={decision['result']} via={decision['approval']['via']}")
