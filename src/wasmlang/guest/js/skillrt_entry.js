// The component's entry: the skillrt world's `run` export, around the skill's own module
// (skillrt build bundles the two with esbuild; SKILL_MODULE is the skill's source file).
import * as skill from "SKILL_MODULE";

if (typeof skill.run !== "function") {
  throw new Error("skillrt build: SKILL_FILE does not export a function run(input)");
}

export function run(input) {
  let result;
  try {
    result = skill.run(JSON.parse(input));
  } catch (e) {
    throw `${e && e.name ? e.name : "Error"}: ${e && e.message !== undefined ? e.message : e}`;
  }
  if (result && typeof result.then === "function") {
    throw "run returned a Promise: a skill's run is synchronous (skillrt's fetch is too)";
  }
  return JSON.stringify(result);
}
