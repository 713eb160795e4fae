// `skillrt agent "task"` and `skillrt runs list|show|tail|replay` (docs/agent.md).
#ifndef SKILLRT_CLI_AGENT_COMMANDS_H_
#define SKILLRT_CLI_AGENT_COMMANDS_H_

#include <memory>
#include <optional>
#include <vector>

#include "cli/cli.h"

namespace skillrt::cli {

/// The agent commands, added to `app` on construction; `app` keeps pointers into this object,
/// which must outlive parsing.
class AgentCommands {
 public:
  explicit AgentCommands(CLI::App* app);
  ~AgentCommands();
  AgentCommands(const AgentCommands&) = delete;
  AgentCommands& operator=(const AgentCommands&) = delete;

  /// The commands that take the global flags.
  std::vector<CLI::App*> subcommands() const;

  /// After parsing: runs the chosen command and returns its exit code; nullopt if none of
  /// these was chosen.
  std::optional<int> Run(const GlobalOptions& global) const;

  struct Flags;  ///< The parsed flags (agent_commands.cc).

 private:
  std::unique_ptr<Flags> flags_;
  CLI::App* agent_ = nullptr;   // Owned by the parent App.
  CLI::App* list_ = nullptr;    // Owned by the parent App.
  CLI::App* show_ = nullptr;    // Owned by the parent App.
  CLI::App* tail_ = nullptr;    // Owned by the parent App.
  CLI::App* replay_ = nullptr;  // Owned by the parent App.
};

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_AGENT_COMMANDS_H_
