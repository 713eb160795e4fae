// `skillrt tools`: the skills as tool definitions for an LLM API or MCP (docs/tools.md).
#include <algorithm>

#include "cli/cli.h"
#include "skillrt/instance.h"
#include "skillrt/tools.h"

namespace skillrt::cli {
namespace {

// The first line of `text`, at most `width` bytes (whole UTF-8 sequences), "..." when cut.
std::string FirstLine(std::string_view text, size_t width = 72) {
  std::string line(text.substr(0, text.find('\n')));
  if (line.size() <= width) return line;
  size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return line.substr(0, cut) + "...";
}

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

}  // namespace

int ToolsCommand(const GlobalOptions& global, const ToolsFlags& flags) {
  auto format = ParseToolFormat(flags.format);
  if (!format) {
    PrintError("--format: " + format.error().message);
    return kExitUsage;
  }
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  auto instances = ReadInstanceFile(InstanceFilePath(engine->home()));
  if (!instances && !global.quiet) {
    PrintError("instances are not offered as tools: " + instances.error().message);
  }
  auto tools = BuildToolSet(engine->registry(), instances ? &*instances : nullptr,
                            ToolSetOptions{.only = flags.skills});
  if (!tools) {
    PrintError(tools.error().message);
    return ExitCodeFor(tools.error());
  }
  // Renamed tools and skipped skills go to stderr, so that stdout stays the definitions.
  for (const ToolNameCollision& c : tools->collisions) {
    std::string line = "tool name '" + c.base_name + "' is shared by";
    for (size_t i = 0; i < c.selectors.size(); ++i) {
      line += (i ? ", " : " ") + c.selectors[i] + " (as " + c.names[i] + ")";
    }
    PrintError(line);
  }
  for (const std::string& skipped : tools->skipped) PrintError("not offered: " + skipped);
  if (flags.json) {
    WriteOut(Dump(ToolDefinitions(*tools, *format), 2) + "\n");
    return kExitOk;
  }
  size_t width = 4;
  for (const ToolEntry& t : tools->tools) width = std::max(width, t.name.size());
  std::string out = Pad("TOOL", width) + "  " + Pad("SKILL", width) + "  STRICT  READ-ONLY  " +
                    "DESCRIPTION\n";
  for (const ToolEntry& t : tools->tools) {
    out += Pad(t.name, width) + "  " + Pad(t.Selector(), width) + "  " +
           Pad(t.strict ? "yes" : "no", 6) + "  " + Pad(t.hints.read_only ? "yes" : "no", 9) +
           "  " + FirstLine(t.description) + "\n";
  }
  WriteOut(out);
  if (!global.quiet) {
    WriteErr(std::to_string(tools->tools.size()) + " tools; --json prints the " +
             std::string(ToolFormatName(*format)) + " definitions\n");
  }
  return kExitOk;
}

}  // namespace skillrt::cli
