// `skillrt serve`, `skillrt worker` and `skillrt token create|list|revoke`
// (docs/service.md, docs/cli.md).
#ifndef SKILLRT_CLI_SERVICE_COMMANDS_H_
#define SKILLRT_CLI_SERVICE_COMMANDS_H_

#include <memory>
#include <optional>
#include <vector>

#include "cli/cli.h"

namespace skillrt::cli {

/// The service commands, added to `app` on construction; `app` keeps pointers into this
/// object, which must outlive parsing.
class ServiceCommands {
 public:
  explicit ServiceCommands(CLI::App* app);
  ~ServiceCommands();
  ServiceCommands(const ServiceCommands&) = delete;
  ServiceCommands& operator=(const ServiceCommands&) = delete;

  /// The commands that take the global flags.
  std::vector<CLI::App*> subcommands() const;

  /// After parsing: runs the chosen command and returns its exit code; nullopt if none of
  /// these was chosen.
  std::optional<int> Run(const GlobalOptions& global) const;

  struct Flags;  ///< The parsed flags (service_commands.cc).

 private:
  std::unique_ptr<Flags> flags_;
  CLI::App* serve_ = nullptr;   // Owned by the parent App.
  CLI::App* worker_ = nullptr;  // Owned by the parent App.
  CLI::App* create_ = nullptr;  // Owned by the parent App.
  CLI::App* list_ = nullptr;    // Owned by the parent App.
  CLI::App* revoke_ = nullptr;  // Owned by the parent App.
};

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_SERVICE_COMMANDS_H_
