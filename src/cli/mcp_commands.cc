// `skillrt mcp`: the MCP server over stdio (docs/mcp.md). stdout carries only protocol
// messages; everything else goes to stderr.
#include "cli/cli.h"
#include "cli/serving.h"
#include "skillrt/mcp/server.h"
#include "skillrt/mcp/stdio.h"

namespace skillrt::cli {

int McpCommand(const GlobalOptions& global, const McpFlags& flags) {
  if constexpr (!kServesHttp) {
    if (flags.http) return HandOffServing();  // serving.h
  }
  EngineOptions options;
  options.home = global.home;
  options.skill_roots = global.skill_roots;
  options.policy.file = global.policy_file;
  options.policy.project = true;
  // A long-lived process: keep the catalogue of the skill roots under a watch, and let a
  // call the policy asks about wait for this server's answer (an elicitation, or an
  // immediate refusal with the approval key).
  options.watch_skill_roots = true;
  options.native.prepared_sandboxes = flags.prepared_sandboxes;
  mcp::ServerOptions server_options;
  server_options.expose_skills = flags.expose;
  server_options.expose_all_max = flags.expose_all_max;
  server_options.elicit_approvals = flags.elicit_approvals;
  server_options.instructions_focus = flags.focus;
  if (flags.page_size > 0) server_options.page_size = flags.page_size;
  options.approval_timeout =
      server_options.elicitation_timeout + std::chrono::seconds(30);
  options.approver_name = "mcp";
  // Many clients over one engine: a call denied again and again is refused on its own,
  // without shutting approvals off for every other call.
  options.repeated_denial_aborts = false;
  auto engine = Engine::Open(std::move(options));
  if (!engine) {
    PrintError(engine.error().message);
    return ExitCodeFor(engine.error());
  }
  mcp::Server server(**engine, server_options);
  if constexpr (kServesHttp) {
    if (flags.http) return McpHttpCommand(global, flags, server);
  }
  if (!global.quiet) {
    WriteErr("skillrt mcp: serving MCP on stdio (" +
             std::string(server_options.elicit_approvals ? "approvals by elicitation"
                                                         : "no approvals through the client") +
             ")\n");
  }
  auto served = mcp::ServeStdio(server, {});
  if (!served) {
    PrintError(served.error().message);
    return ExitCodeFor(served.error());
  }
  return kExitOk;
}

}  // namespace skillrt::cli
