# The component's entry: the skillrt world's `run` export, around the skill's own module.
# skillrt build writes the module's name in place of SKILL_MODULE. The module is imported
# when the component is built (componentize-py runs the top level then), so a syntax error or
# a missing run function fails the build, not a call.
import importlib
import json
import traceback

import wit_world
from componentize_py_types import Err

_skill = importlib.import_module("SKILL_MODULE")
if not callable(getattr(_skill, "run", None)):
    raise SystemExit("skillrt build: SKILL_FILE defines no function run(input)")


class WitWorld(wit_world.WitWorld):
    def run(self, input: str) -> str:
        try:
            result = _skill.run(json.loads(input))
            return json.dumps(result)
        except Exception as e:
            frames = traceback.extract_tb(e.__traceback__)
            where = f" ({frames[-1].filename.split('/')[-1]}:{frames[-1].lineno})" if frames else ""
            raise Err(f"{type(e).__name__}: {e}{where}")
