// Wasmtime loaded at its first call (wasmtime_lazy.h): a process that has not called Wasmtime
// has not mapped it; the first calls, made by several threads at once, all reach the real
// functions with their arguments intact; afterwards the library is mapped once.
#include "wasm/wasmtime_lazy.h"

#include <sys/wait.h>
#include <unistd.h>
#include <wasmtime.h>

#include <barrier>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace skillrt::wasm {
namespace {

// How many mappings of Wasmtime's shared library the process has.
int WasmtimeMappings() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int count = 0;
  while (std::getline(maps, line)) count += line.find("libwasmtime.so") != std::string::npos;
  return count;
}

// A module whose text names `n`, so that each thread's result is its own.
std::string Wat(int n) {
  return "(module (func (export \"f" + std::to_string(n) + "\") (result i32) i32.const " +
         std::to_string(n) + "))";
}

// The first Wasmtime calls of a process, from eight threads released together.
void FirstCallsFromEightThreads() {
  ASSERT_EQ(WasmtimeMappings(), 0) << "Wasmtime was loaded before its first call";
  constexpr int kThreads = 8;
  std::barrier start(kThreads);
  std::vector<std::string> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const std::string wat = Wat(i);
      start.arrive_and_wait();
      wasm_byte_vec_t out;
      wasmtime_error_t* error = wasmtime_wat2wasm(wat.data(), wat.size(), &out);
      if (error != nullptr) {
        wasmtime_error_delete(error);
        return;
      }
      results[i].assign(out.data, out.size);
      wasm_byte_vec_delete(&out);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    // A binary module (magic and version), exporting this thread's name: each call saw its
    // own arguments.
    ASSERT_GE(results[i].size(), 8u) << "thread " << i;
    EXPECT_EQ(results[i].substr(0, 4), std::string("\0asm", 4)) << "thread " << i;
    EXPECT_NE(results[i].find("f" + std::to_string(i)), std::string::npos) << "thread " << i;
  }
  EXPECT_GT(WasmtimeMappings(), 0);
  EXPECT_TRUE(LoadWasmtime().has_value());
  EXPECT_EQ(WasmtimeLibraryPath().empty(), false);
}

TEST(WasmtimeLazyTest, TheFirstCallsFromManyThreadsLoadItOnceAndKeepTheirArguments) {
  if (WasmtimeLibraryPath().empty()) GTEST_SKIP() << "Wasmtime is linked into this build";
  if (std::getenv("SKILLRT_LAZY_TEST_CHILD") != nullptr || WasmtimeMappings() == 0) {
    FirstCallsFromEightThreads();
    return;
  }
  // Earlier tests of this process called Wasmtime already: the check runs in a new process
  // of this test binary, where nothing has.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("SKILLRT_LAZY_TEST_CHILD", "1", 1);
    ::execl("/proc/self/exe", "skillrt_tests",
            "--gtest_filter=WasmtimeLazyTest."
            "TheFirstCallsFromManyThreadsLoadItOnceAndKeepTheirArguments",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the check in a new process failed";
}

}  // namespace
}  // namespace skillrt::wasm
