// `skillrt build SKILL` (docs/wasm-languages.md).
#include "cli/build_command.h"

#include <CLI/CLI.hpp>

#include "skillrt/engine.h"
#include "skillrt/registry.h"
#include "skillrt/runtime.h"
#include "skillrt/wasm_build.h"

namespace skillrt::cli {

void AddBuildCommand(CLI::App* cmd, BuildFlags* flags) {
  cmd->add_option("SKILL", flags->skill, "Skill name or path to a skill directory")->required();
  cmd->add_flag("--json", flags->json, "Print one JSON object");
}

int BuildCommand(const GlobalOptions& global, const BuildFlags& flags) {
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  auto skill = engine->registry().Load(flags.skill);
  if (!skill) {
    PrintError(skill.error().message);
    return ExitCodeFor(skill.error());
  }
  if (!skill->manifest.wasm) {
    PrintError("build: skill '" + skill->meta.name + "' has nothing to build: only a skill "
               "written in Python or JavaScript (runtime = \"wasm\" with a [wasm] table) is built");
    return kExitUsage;
  }
  const WasmSource& wasm = *skill->manifest.wasm;
  if (!global.quiet && !flags.json) {
    WriteErr("build: " + skill->meta.name + " (" + std::string(WasmLanguageName(wasm.language)) +
             ", " + wasm.source + ")\n");
  }
  // The engine's own WebAssembly options: its compiled-code cache is <home>/cache/wasm.
  WasmRuntimeOptions options;
  options.cache_dir = engine->home() / "cache" / "wasm";
  auto built = BuildWasmSkill(engine->home(), skill->dir, wasm, options);
  if (!built) {
    PrintError(built.error().message);
    return ExitCodeFor(built.error());
  }
  if (flags.json) {
    WriteOut(nlohmann::json{{"skill", skill->meta.name},
                            {"language", WasmLanguageName(wasm.language)},
                            {"component", built->component.string()},
                            {"source_sha256", built->key},
                            {"cached", built->cached},
                            {"build_ms", built->build_time.count()},
                            {"compiled", built->compiled},
                            {"compile_ms", built->compile_time.count()},
                            {"component_bytes", built->component_bytes}}
                 .dump(2) +
             "\n");
  } else if (!global.quiet) {
    std::string line = built->cached
                            ? skill->meta.name + ": up to date (" +
                                  HumanBytes(built->component_bytes) + " component"
                            : "built " + skill->meta.name + ": " +
                                  HumanBytes(built->component_bytes) + " component in " +
                                  HumanDuration(built->build_time);
    line += built->compiled == "compiled"
                ? "; compiled ahead of time in " + HumanDuration(built->compile_time)
                : "; compiled code in the cache";
    WriteOut(line + (built->cached ? ")\n" : "\n"));
  }
  return kExitOk;
}

}  // namespace skillrt::cli
