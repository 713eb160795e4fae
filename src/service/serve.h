// `skillrt serve` and `skillrt worker` as library calls: the HTTP API over an Engine with a
// job queue and its workers (docs/service.md). The CLI parses flags into these options.
#ifndef SKILLRT_SERVICE_SERVE_H_
#define SKILLRT_SERVICE_SERVE_H_

#include <filesystem>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "service/api.h"
#include "service/auth.h"
#include "service/http_server.h"
#include "service/job_runner.h"
#include "service/job_store.h"
#include "service/metrics.h"
#include "service/run_table.h"
#include "service/studio.h"
#include "skillrt/engine.h"

namespace skillrt::service {

/// How `serve` listens and what it runs.
struct ServeOptions {
  /// Address to listen on: a numeric IPv4 or IPv6 address. Loopback by default: the service
  /// speaks plain HTTP, so anything else needs `insecure_listen` (put TLS in front).
  std::string host = "127.0.0.1";
  int port = 8470;  ///< 0: any free port (see Service::port).
  /// Allows a non-loopback `host` without TLS (behind a TLS-terminating reverse proxy).
  bool insecure_listen = false;
  HttpLimits http;
  ApiOptions api;
  /// Run jobs: the queue (OpenJobStore) and `runner.workers` workers in this process. With
  /// `runner.workers` 0 the queue is served but its jobs are run by `skillrt worker`s.
  bool jobs = true;
  std::string queue;  ///< As OpenJobStore's `url`.
  RunnerOptions runner;
  /// Serve the studio (docs/studio.md) from `studio_dir` at /studio/. A directory without
  /// an index.html leaves the studio off: its pages answer 404 saying how to build it.
  bool studio = true;
  std::filesystem::path studio_dir = DefaultStudioDir();
};

/// Opens the job store a queue URL names: "" (the SQLite file <home>/jobs.db),
/// "sqlite:PATH", "sqlite://PATH", or a libpq URI "postgresql://..." (also "postgres://").
/// Errors: kInvalidArgument for another scheme, the store's own errors.
Result<std::unique_ptr<JobStore>> OpenJobStore(const std::string& url,
                                               const std::filesystem::path& home);

/// True when `host` is a loopback address (127.0.0.0/8, ::1) or "localhost".
bool IsLoopbackHost(const std::string& host);

/// The HTTP service, bound and ready to Run. Borrows the Engine, which must outlive it.
class Service {
 public:
  /// Checks the options, opens the queue, binds the listening socket and starts the job
  /// workers. kInvalidArgument (a non-loopback host without insecure_listen), kIo (cannot
  /// bind: the message names the address), the queue's errors.
  static Result<std::unique_ptr<Service>> Open(Engine& engine, ServeOptions options);
  ~Service();

  /// The port bound (useful with port 0).
  int port() const { return port_; }

  /// True when the studio's files were found and are served at /studio/.
  bool studio_served() const { return !studio_.empty(); }

  /// Serves until Stop; then stops the workers (runs in flight cancelled: their jobs go back
  /// to the queue). kIo when listening fails.
  Result<void> Run();

  /// Ends Run from any thread (a signal handler's thread, a test). Idempotent.
  void Stop();

 private:
  Service() = default;
  void Sweep();  // The sweeper thread's loop.

  std::unique_ptr<JobStore> store_;
  std::unique_ptr<TokenStore> tokens_;
  RunTable runs_;
  Metrics metrics_;
  std::unique_ptr<JobRunner> runner_;
  StudioFiles studio_;  // Read by the server's threads: declared before server_.
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<Api> api_;
  int port_ = 0;
  // Counts finished runs into the metrics; stopped by Stop.
  std::thread sweeper_;
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool sweeping_ = true;
};

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_SERVE_H_
