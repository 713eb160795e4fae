// `skillrt serve`, `worker` and `token` (service_commands.h): flags into the options of
// src/service, signals into a clean stop.
#include "cli/service_commands.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/serving.h"
#include "service/auth.h"
#include "service/serve.h"

namespace skillrt::cli {

struct ServiceCommands::Flags {
  // serve
  std::string listen = "127.0.0.1:8470";
  std::string port_file;
  bool insecure_listen = false;
  std::vector<std::string> allow_hosts;
  std::vector<std::string> allow_origins;
  std::string studio_dir;  // Empty: service::DefaultStudioDir().
  bool no_studio = false;
  size_t workers = 4;
  bool no_jobs = false;
  std::string queue;
  std::vector<std::string> skill_limits;
  size_t threads = 32;
  size_t max_streams = 16;
  double approval_timeout_s = 300;
  size_t prepared_sandboxes = 4;  ///< `--prepared-sandboxes N` (NativeRuntimeOptions).
  double lease_s = 10;
  // token
  std::string scope;
  std::string name;
  std::string revoke_id;
  bool json = false;
};

namespace {

// "HOST:PORT", "[V6]:PORT" or ":PORT" (loopback).
bool SplitListen(const std::string& text, std::string* host, int* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  *host = text.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "127.0.0.1";
  try {
    size_t used = 0;
    *port = std::stoi(text.substr(colon + 1), &used);
    return used == text.size() - colon - 1;
  } catch (const std::exception&) {
    return false;
  }
}

Result<std::map<std::string, size_t>> SkillLimits(const std::vector<std::string>& items) {
  std::map<std::string, size_t> limits;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    size_t n = 0;
    try {
      if (eq == std::string::npos || eq == 0) throw std::invalid_argument("");
      size_t used = 0;
      n = std::stoul(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1 || n == 0) throw std::invalid_argument("");
    } catch (const std::exception&) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--skill-limit '" + item + "': expected SKILL=N with N at least 1");
    }
    limits[item.substr(0, eq)] = n;
  }
  return limits;
}

std::unique_ptr<Engine> OpenServiceEngine(const GlobalOptions& global, double approval_timeout_s,
                                          size_t prepared_sandboxes, int* exit_code) {
  EngineOptions options;
  options.native.prepared_sandboxes = prepared_sandboxes;
  options.home = global.home;
  options.skill_roots = global.skill_roots;
  options.policy.file = global.policy_file;
  options.policy.project = false;  // A service has no project directory of its callers.
  // Approval requests wait for POST /v1/approvals/{run}; past this they count as denied.
  options.approval_timeout = std::chrono::milliseconds(static_cast<int64_t>(approval_timeout_s * 1000));
  // Many clients over one engine: a call denied again and again is refused on its own,
  // without shutting approvals off for every other client's calls.
  options.repeated_denial_aborts = false;
  auto engine = Engine::Open(std::move(options));
  if (!engine) {
    PrintError(engine.error().message);
    *exit_code = ExitCodeFor(engine.error());
    return nullptr;
  }
  return std::move(*engine);
}

// SIGINT and SIGTERM, which stop the service cleanly.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks the stop signals in the calling thread, and so in every thread it makes later. Called
// first, before the engine or the service starts a thread: a signal must never reach a
// thread that does not block it, where its default action would end the process at once.
void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // A peer that hung up is an error value, never a signal.
}

// Waits for a stop signal (blocked by BlockStopSignals; one that came earlier is pending) on
// a thread of its own, and calls `stop` once.
class SignalWaiter {
 public:
  explicit SignalWaiter(std::function<void()> stop) {
    const sigset_t set = StopSignals();
    thread_ = std::thread([this, set, stop = std::move(stop)] {
      int sig = 0;
      while (!done_) {
        timespec tick{0, 200'000'000};
        siginfo_t info;
        sig = sigtimedwait(&set, &info, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
          stop();
          return;
        }
      }
    });
  }
  ~SignalWaiter() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

int Serve(const GlobalOptions& global, const ServiceCommands::Flags& f) {
  BlockStopSignals();
  service::ServeOptions options;
  if (!SplitListen(f.listen, &options.host, &options.port)) {
    PrintError("--listen '" + f.listen + "': expected HOST:PORT");
    return kExitUsage;
  }
  auto limits = SkillLimits(f.skill_limits);
  if (!limits) {
    PrintError(limits.error().message);
    return kExitUsage;
  }
  if (f.threads < 2 || f.max_streams >= f.threads) {
    PrintError("--threads must be at least 2 and above --max-streams");
    return kExitUsage;
  }
  options.insecure_listen = f.insecure_listen;
  options.api.allowed_hosts = f.allow_hosts;
  options.api.allowed_origins = f.allow_origins;
  options.studio = !f.no_studio;
  if (!f.studio_dir.empty()) options.studio_dir = f.studio_dir;
  options.api.max_event_streams = f.max_streams;
  options.http.threads = f.threads;
  options.jobs = !f.no_jobs;
  options.queue = f.queue;
  options.runner.workers = f.workers;
  options.runner.skill_limits = std::move(*limits);
  options.runner.lease = std::chrono::milliseconds(static_cast<int64_t>(f.lease_s * 1000));
  options.runner.heartbeat = std::max(options.runner.lease / 4, std::chrono::milliseconds(50));
  int exit_code = 0;
  std::unique_ptr<Engine> engine =
      OpenServiceEngine(global, f.approval_timeout_s, f.prepared_sandboxes, &exit_code);
  if (!engine) return exit_code;
  auto service = service::Service::Open(*engine, std::move(options));
  if (!service) {
    PrintError(service.error().message);
    return ExitCodeFor(service.error());
  }
  if (!f.port_file.empty()) {
    std::ofstream(f.port_file) << (*service)->port() << "\n";
  }
  if (!global.quiet) {
    const std::string host = f.listen.substr(0, f.listen.rfind(':'));
    std::fprintf(stderr, "skillrt: serving http://%s:%d/v1 (stop with Ctrl-C)\n", host.c_str(),
                 (*service)->port());
    if ((*service)->studio_served()) {
      std::fprintf(stderr, "skillrt: studio at http://%s:%d/studio/ (paste a token to sign in)\n",
                   host.c_str(), (*service)->port());
    } else if (!f.no_studio) {
      std::fprintf(stderr, "skillrt: the studio is not built (scripts/build-studio.sh)\n");
    }
  }
  SignalWaiter waiter([&] { (*service)->Stop(); });
  auto ran = (*service)->Run();
  if (!ran) {
    PrintError(ran.error().message);
    return ExitCodeFor(ran.error());
  }
  return kExitOk;
}

int Worker(const GlobalOptions& global, const ServiceCommands::Flags& f) {
  BlockStopSignals();
  auto limits = SkillLimits(f.skill_limits);
  if (!limits) {
    PrintError(limits.error().message);
    return kExitUsage;
  }
  int exit_code = 0;
  std::unique_ptr<Engine> engine =
      OpenServiceEngine(global, f.approval_timeout_s, f.prepared_sandboxes, &exit_code);
  if (!engine) return exit_code;
  auto store = service::OpenJobStore(f.queue, engine->home());
  if (!store) {
    PrintError(store.error().message);
    return ExitCodeFor(store.error());
  }
  service::RunnerOptions options;
  options.workers = std::max<size_t>(f.workers, 1);
  options.skill_limits = std::move(*limits);
  options.lease = std::chrono::milliseconds(static_cast<int64_t>(f.lease_s * 1000));
  options.heartbeat = std::max(options.lease / 4, std::chrono::milliseconds(50));
  service::JobRunner runner(*engine, **store, options, nullptr, nullptr);
  std::atomic<bool> stop{false};
  SignalWaiter waiter([&] { stop = true; });
  if (auto ok = runner.Start(); !ok) {
    PrintError(ok.error().message);
    return ExitCodeFor(ok.error());
  }
  if (!global.quiet) std::fprintf(stderr, "skillrt: worker %s running jobs\n", runner.name().c_str());
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  runner.Stop(/*cancel_running=*/true);
  return kExitOk;
}

service::TokenStore Tokens(const GlobalOptions& global) {
  return service::TokenStore(global.home.empty() ? DefaultHome() : global.home);
}

int TokenCreate(const GlobalOptions& global, const ServiceCommands::Flags& f) {
  auto scope = service::ParseScope(f.scope);
  if (!scope) {
    PrintError("--scope: " + scope.error().message);
    return kExitUsage;
  }
  service::TokenStore tokens = Tokens(global);
  auto made = tokens.Create(*scope, f.name);
  if (!made) {
    PrintError(made.error().message);
    return ExitCodeFor(made.error());
  }
  if (f.json) {
    WriteOut(Dump({{"token", made->token}, {"id", made->record.id},
                   {"scope", service::ScopeName(made->record.scope)}, {"name", made->record.name}}) + "\n");
  } else {
    WriteOut(made->token + "\n");
    if (!global.quiet) {
      std::fprintf(stderr, "skillrt: token %s (%s) created; it is shown only now\n",
                   made->record.id.c_str(), std::string(service::ScopeName(*scope)).c_str());
    }
  }
  return kExitOk;
}

int TokenList(const GlobalOptions& global, const ServiceCommands::Flags& f) {
  auto list = Tokens(global).List();
  if (!list) {
    PrintError(list.error().message);
    return ExitCodeFor(list.error());
  }
  nlohmann::json out = nlohmann::json::array();
  for (const service::TokenRecord& r : *list) {
    const std::string created = service::FormatTime(r.created);
    if (f.json) {
      out.push_back({{"id", r.id}, {"name", r.name}, {"scope", service::ScopeName(r.scope)},
                     {"created", created}});
    } else {
      std::string scope(service::ScopeName(r.scope));
      scope.resize(std::max<size_t>(scope.size(), 8), ' ');
      std::string name = r.name.empty() ? "-" : r.name;
      name.resize(std::max<size_t>(name.size(), 20), ' ');
      WriteOut(r.id + "  " + scope + " " + name + " " + created + "\n");
    }
  }
  if (f.json) WriteOut(Dump(out) + "\n");
  return kExitOk;
}

int TokenRevoke(const GlobalOptions& global, const ServiceCommands::Flags& f) {
  service::TokenStore tokens = Tokens(global);
  auto removed = tokens.Revoke(f.revoke_id);
  if (!removed) {
    PrintError(removed.error().message);
    return ExitCodeFor(removed.error());
  }
  if (!global.quiet) std::fprintf(stderr, "skillrt: token %s revoked\n", removed->id.c_str());
  return kExitOk;
}

}  // namespace

ServiceCommands::ServiceCommands(CLI::App* app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  serve_ = app->add_subcommand("serve", "Serve the HTTP API and run jobs (docs/service.md)");
  serve_->add_option("--listen", f.listen, "HOST:PORT to listen on (default 127.0.0.1:8470; "
                                            "port 0 picks a free one)");
  serve_->add_option("--port-file", f.port_file, "Write the port listened on to this file");
  serve_->add_flag("--insecure-listen", f.insecure_listen,
                   "Allow a non-loopback address without TLS (behind a TLS reverse proxy)");
  serve_->add_option("--allow-host", f.allow_hosts,
                     "A Host name requests may use (repeatable; default: the loopback names)");
  serve_->add_option("--allow-origin", f.allow_origins,
                     "A browser Origin allowed to call the API (repeatable; default: none)");
  serve_->add_option("--studio", f.studio_dir,
                     "Serve the studio (docs/studio.md) from this directory (default: the "
                     "build's studio/)");
  serve_->add_flag("--no-studio", f.no_studio, "Do not serve the studio at /studio/");
  serve_->add_option("--workers", f.workers, "Jobs run at once in this process (default 4; 0: "
                                             "leave them to `skillrt worker`)");
  serve_->add_flag("--no-jobs", f.no_jobs, "Serve runs only: no job queue");
  serve_->add_option("--queue", f.queue, "The job queue: postgresql://... (shared by many "
                                         "hosts) or sqlite:PATH (default $SKILLRT_HOME/jobs.db)");
  serve_->add_option("--skill-limit", f.skill_limits,
                     "SKILL=N: at most N jobs of SKILL at once in this process (repeatable)");
  serve_->add_option("--threads", f.threads, "HTTP connections served at once (default 32)");
  serve_->add_option("--max-streams", f.max_streams, "Event streams open at once (default 16)");
  serve_->add_option("--approval-timeout", f.approval_timeout_s,
                     "Seconds a run waits for an approval over HTTP before it is denied "
                     "(default 300)");
  serve_->add_option("--lease", f.lease_s, "Seconds a job's claim holds without a heartbeat "
                                           "(default 10)");
  serve_->add_option("--prepared-sandboxes", f.prepared_sandboxes,
                     "Sandboxes kept prepared for native skills run before (default 4; 0: "
                     "none; docs/sandbox.md)")
      ->check(CLI::Range(size_t{0}, skillrt::kMaxPreparedSandboxes));

  worker_ = app->add_subcommand("worker", "Run jobs from a shared queue (docs/service.md)");
  worker_->add_option("--queue", f.queue, "The job queue: postgresql://... or sqlite:PATH "
                                          "(default $SKILLRT_HOME/jobs.db)");
  worker_->add_option("--workers", f.workers, "Jobs run at once (default 4)");
  worker_->add_option("--skill-limit", f.skill_limits, "SKILL=N (repeatable)");
  worker_->add_option("--approval-timeout", f.approval_timeout_s,
                      "Seconds a run waits for an approval (default 300)");
  worker_->add_option("--lease", f.lease_s, "Seconds a job's claim holds (default 10)");
  worker_->add_option("--prepared-sandboxes", f.prepared_sandboxes,
                      "Sandboxes kept prepared for native skills run before (default 4; 0: none)")
      ->check(CLI::Range(size_t{0}, skillrt::kMaxPreparedSandboxes));

  CLI::App* token = app->add_subcommand("token", "Make, list and revoke API tokens");
  token->require_subcommand(1);
  create_ = token->add_subcommand("create", "Make a token; it is printed once, stored hashed");
  create_->add_option("--scope", f.scope, "read, run, approve or admin")->required();
  create_->add_option("--name", f.name, "A name to recognise it by");
  create_->add_flag("--json", f.json, "Print a JSON object");
  list_ = token->add_subcommand("list", "List tokens (never their secrets)");
  list_->add_flag("--json", f.json, "Print a JSON array");
  revoke_ = token->add_subcommand("revoke", "Revoke a token; a running service sees it at once");
  revoke_->add_option("ID", f.revoke_id, "The token's id or name")->required();
}

ServiceCommands::~ServiceCommands() = default;

std::vector<CLI::App*> ServiceCommands::subcommands() const {
  return {serve_, worker_, create_, list_, revoke_};
}

std::optional<int> ServiceCommands::Run(const GlobalOptions& global) const {
  if (*serve_) {
    // Only skillrt-serve holds the HTTP server (serving.h).
    if constexpr (kServesHttp) return Serve(global, *flags_);
    else return HandOffServing();
  }
  if (*worker_) return Worker(global, *flags_);
  if (*create_) return TokenCreate(global, *flags_);
  if (*list_) return TokenList(global, *flags_);
  if (*revoke_) return TokenRevoke(global, *flags_);
  return std::nullopt;
}

}  // namespace skillrt::cli
