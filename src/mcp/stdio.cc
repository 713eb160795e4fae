// ServeStdio: one reader (this thread), a worker per request up to a bound, one writer lock.
#include "skillrt/mcp/stdio.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <thread>
#include <vector>

#include "mcp/channel.h"

namespace skillrt::mcp {
namespace {

using nlohmann::json;

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Bounds the requests handled at once.
class Slots {
 public:
  explicit Slots(size_t n) : free_(n) {}
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    ++free_;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t free_;
};

}  // namespace

Result<void> ServeStdio(Server& server, const StdioOptions& options) {
  // A client that closed stdout makes write(2) fail with EPIPE instead of killing the server.
  ::signal(SIGPIPE, SIG_IGN);
  WriterChannel channel([fd = options.out_fd](const json& message) {
    return WriteAll(fd, Dump(message) + "\n");
  });
  Session session("stdio");
  Slots slots(std::max<size_t>(options.max_concurrent_requests, 1));
  // Workers of requests; finished ones are joined before a new one starts, so a long session
  // holds only the threads of requests in flight.
  struct Worker {
    std::shared_ptr<std::atomic<bool>> done;
    std::jthread thread;
  };
  std::vector<Worker> workers;

  // Changes of the skill roots become list_changed notifications once the client is ready.
  std::jthread poller([&](std::stop_token stop) {
    (void)server.PollListChanged();  // The first fingerprint.
    std::mutex mu;
    std::condition_variable_any cv;
    while (!stop.stop_requested()) {
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, options.poll_interval, [] { return false; });
      if (stop.stop_requested()) break;
      for (const json& note : server.PollListChanged()) {
        if (session.initialized()) channel.Send(note);
      }
    }
  });

  auto handle_line = [&](std::string line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded()) {
      channel.Send(Server::ParseErrorResponse("the line is not valid JSON"));
      return;
    }
    if (message.is_object() && !message.contains("method") && message.contains("id") &&
        (message.contains("result") || message.contains("error"))) {
      channel.Deliver(message);  // The client's answer to an elicitation.
      return;
    }
    slots.Acquire();
    std::erase_if(workers, [](const Worker& w) { return w.done->load(); });
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers.push_back({done, std::jthread([&, done, message = std::move(message)] {
                         if (auto response = server.Handle(message, session, channel)) {
                           channel.Send(*response);
                         }
                         slots.Release();
                         done->store(true);
                       })});
  };

  std::string buffer, line;
  bool skipping = false;  // Inside a line that was too long.
  char chunk[64 * 1024];
  Result<void> result = {};
  for (;;) {
    ssize_t n = ::read(options.in_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = FailErrno(ErrorCode::kIo, "read(stdin)", errno);
      break;
    }
    if (n == 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (skipping) {
        skipping = false;
        continue;
      }
      handle_line(buffer.substr(start, nl - start));
    }
    buffer.erase(0, start);
    if (buffer.size() > options.max_message_bytes) {
      if (!skipping) {
        channel.Send(Server::ParseErrorResponse(
            "message over " + std::to_string(options.max_message_bytes) + " bytes"));
      }
      skipping = true;
      buffer.clear();
    }
  }
  if (!skipping && !buffer.empty()) handle_line(buffer);
  // End of input: requests in flight finish and their results are written, since the client
  // may still read them (a pipe closed on one side). A client that is gone entirely is seen
  // when a write fails: the channel closes, and each watch cancels its run.
  channel.EndInput();
  poller.request_stop();
  workers.clear();  // Joins.
  session.CancelAll("the MCP client closed the connection");
  channel.Close();
  return result;
}

}  // namespace skillrt::mcp
