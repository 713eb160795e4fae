// The container engines the container tests run against, podman and docker, each with the
// local image localhost/skillrt-busybox:1 (scripts/build-container-image.sh).
//
// podman is the host's (it needs no daemon). docker is never the host's daemon: ctest starts
// a private dockerd before the docker tests and stops it after them (fixture "dockerd",
// tests/docker/daemon.sh), and passes its state directory in $SKILLRT_TEST_DOCKER_STATE;
// TestEngineFor("docker") points $DOCKER_HOST of this process at it, so that every docker
// CLI the runtime starts talks to that daemon.
#ifndef SKILLRT_TESTS_CONTAINER_ENGINES_H_
#define SKILLRT_TESTS_CONTAINER_ENGINES_H_

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "container/engine_cli.h"
#include "test_util.h"

namespace skillrt::testing {

/// The image every container test runs.
inline constexpr const char* kContainerTestImage = "localhost/skillrt-busybox:1";

/// One engine as the tests see it: its CLI's path, or why it cannot be tested here.
struct TestEngine {
  std::string name;         ///< "podman" or "docker".
  std::string path;         ///< Absolute path of the CLI; empty when skipped.
  std::string skip_reason;  ///< Non-empty when this engine's tests skip here.
};

/// Finds `name` ("podman" or "docker") and checks that the test image is in its store.
/// Not thread-safe (it may set $DOCKER_HOST): call it from test set-up.
inline TestEngine TestEngineFor(std::string_view name) {
  TestEngine engine;
  engine.name = std::string(name);
  if (name == "docker") {
    const char* state = ::getenv("SKILLRT_TEST_DOCKER_STATE");
    if (state == nullptr || *state == '\0') {
      engine.skip_reason =
          "no docker daemon of the tests' own: run through ctest (fixture dockerd), or start "
          "one with tests/docker/daemon.sh start DIR and set SKILLRT_TEST_DOCKER_STATE=DIR";
      return engine;
    }
    const std::filesystem::path dir(state);
    if (std::filesystem::exists(dir / "unavailable")) {
      engine.skip_reason =
          "docker daemon: " + container::LastLine(ReadFile(dir / "unavailable"));
      return engine;
    }
    const std::string host = container::LastLine(ReadFile(dir / "host"));
    if (host.empty()) {
      engine.skip_reason = "the tests' docker daemon is not running (" + dir.string() +
                           "/host is missing; tests/docker/daemon.sh start failed?)";
      return engine;
    }
    ::setenv("DOCKER_HOST", host.c_str(), 1);
  }
  auto path = container::FindEngine(name);
  if (!path) {
    engine.skip_reason = path.error().message;
    return engine;
  }
  auto exists = container::RunEngineCommand({*path, "image", "inspect", kContainerTestImage},
                                            std::chrono::seconds(30));
  if (!exists || exists->exit_code != 0) {
    engine.skip_reason = std::string("image ") + kContainerTestImage + " is not in " +
                         std::string(name) + "'s store (scripts/build-container-image.sh)";
    return engine;
  }
  engine.path = *path;
  return engine;
}

}  // namespace skillrt::testing

#endif  // SKILLRT_TESTS_CONTAINER_ENGINES_H_
