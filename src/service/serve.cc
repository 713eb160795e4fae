// Opening, running and stopping the service (serve.h).
#include "service/serve.h"

#include <arpa/inet.h>

namespace skillrt::service {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

Result<std::unique_ptr<Service>> Service::Open(Engine& engine, ServeOptions options) {
  if (!IsLoopbackHost(options.host) && !options.insecure_listen) {
    return Fail(ErrorCode::kInvalidArgument,
                "listening on " + options.host + " would expose plain HTTP beyond this host: "
                "put a TLS reverse proxy in front and allow it explicitly (docs/service.md)");
  }
  if (options.port < 0 || options.port > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "port " + std::to_string(options.port) + ": 0-65535");
  }
  std::unique_ptr<Service> service(new Service());
  service->tokens_ = std::make_unique<TokenStore>(engine.home());
  // Fail closed at startup: a tokens file that cannot be read would refuse every request.
  if (auto listed = service->tokens_->List(); !listed) return std::unexpected(listed.error());
  if (options.jobs) {
    auto store = OpenJobStore(options.queue, engine.home());
    if (!store) return std::unexpected(store.error());
    service->store_ = std::move(*store);
    // Leases that ran out while no process watched them (this service was down).
    if (auto n = service->store_->Reclaim(false); !n) return std::unexpected(n.error());
    if (options.runner.workers > 0) {
      service->runner_ = std::make_unique<JobRunner>(engine, *service->store_, options.runner,
                                                     &service->runs_, &service->metrics_);
    }
  }
  if (options.studio) {
    auto studio = StudioFiles::Load(options.studio_dir);
    if (studio) service->studio_ = std::move(*studio);
    else if (studio.error().code != ErrorCode::kNotFound) return std::unexpected(studio.error());
    // The studio's files carry no data: they are served without a token (the API they call
    // asks for one).
    for (const char* path : {"/", "/studio", "/studio/*"}) options.api.public_paths.push_back(path);
  }
  service->server_ = std::make_unique<HttpServer>(options.http);
  service->api_ = std::make_unique<Api>(engine, *service->tokens_, service->store_.get(),
                                        service->runner_.get(), service->runs_,
                                        service->metrics_, options.api);
  service->api_->Register(*service->server_);
  if (options.studio) RegisterStudio(*service->server_, service->studio_);
  if (options.port == 0) {
    service->port_ = service->server_->bind_to_any_port(options.host);
    if (service->port_ < 0) service->port_ = 0;
  } else if (service->server_->bind_to_port(options.host, options.port)) {
    service->port_ = options.port;
  }
  if (service->port_ <= 0) {
    return Fail(ErrorCode::kIo, "cannot listen on " + options.host + ":" +
                                    std::to_string(options.port) + " (in use, or not an address "
                                    "of this host)");
  }
  if (service->runner_) {
    if (auto ok = service->runner_->Start(); !ok) return std::unexpected(ok.error());
  }
  service->sweeper_ = std::thread([s = service.get()] { s->Sweep(); });
  return service;
}

Service::~Service() {
  Stop();
  if (runner_) runner_->Stop(true);
  {
    std::lock_guard lock(sweep_mu_);
    sweeping_ = false;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void Service::Sweep() {
  using namespace std::chrono_literals;
  for (;;) {
    {
      std::unique_lock lock(sweep_mu_);
      if (sweep_cv_.wait_for(lock, 100ms, [&] { return !sweeping_; })) return;
    }
    for (const RunHandle& handle : runs_.TakeFinished()) {
      std::string runtime = "unknown";
      for (const RunEvent& event : handle.ReadEvents(0, 8).events) {
        if (const auto* planned = std::get_if<PlannedEvent>(&event.payload)) runtime = planned->runtime;
      }
      Result<Outcome> outcome = handle.Wait();
      if (outcome) {
        metrics_.RunEnded(runtime, std::string(StatusName(outcome->status)), outcome->duration);
      } else {
        metrics_.RunEnded(runtime, "error", std::chrono::microseconds(0));
      }
    }
  }
}

Result<void> Service::Run() {
  const bool ok = server_->listen_after_bind();
  if (runner_) runner_->Stop(/*cancel_running=*/true);
  if (!ok) return Fail(ErrorCode::kIo, "the HTTP server stopped listening unexpectedly");
  return {};
}

void Service::Stop() {
  if (api_) api_->StopStreams();
  if (server_) server_->stop();
}

}  // namespace skillrt::service
