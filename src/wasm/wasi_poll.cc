// The bounded poll_oneoff (wasi_poll.h). Layouts and numbers are WASI preview 1's
// (wasi_snapshot_preview1 witx): subscription 48 bytes, event 32 bytes, little-endian.
#include "wasm/wasi_poll.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>
#include <thread>

#include "wasm/call_state.h"
#include "wasm/wasmtime_util.h"

namespace skillrt::wasm {
namespace {

constexpr uint32_t kSubscriptionBytes = 48;
constexpr uint32_t kEventBytes = 32;
// eventtype
constexpr uint8_t kEventClock = 0;
constexpr uint8_t kEventFdRead = 1;
constexpr uint8_t kEventFdWrite = 2;
// subclockflags: subscription_clock_abstime
constexpr uint16_t kAbsoluteTime = 1;
// clockid
constexpr uint32_t kClockRealtime = 0;
constexpr uint32_t kClockMonotonic = 1;
// errno
constexpr int32_t kErrnoSuccess = 0;
constexpr int32_t kErrnoFault = 21;
constexpr int32_t kErrnoInval = 28;

template <typename T>
T Load(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof value);  // WebAssembly memory is little-endian, as is x86.
  return value;
}

template <typename T>
void StoreValue(uint8_t* at, T value) {
  std::memcpy(at, &value, sizeof value);
}

void WriteEvent(uint8_t* event, uint64_t userdata, uint8_t type) {
  std::memset(event, 0, kEventBytes);
  StoreValue<uint64_t>(event, userdata);     // userdata
  StoreValue<uint16_t>(event + 8, 0);        // error: success
  StoreValue<uint8_t>(event + 10, type);     // type
}

int64_t ClockNs(clockid_t id) {
  struct timespec ts;
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// How long from now until a clock subscription expires, in nanoseconds (0 if it has).
int64_t WaitNs(uint32_t clock, uint64_t timeout, uint16_t flags) {
  const int64_t value = static_cast<int64_t>(std::min<uint64_t>(timeout, INT64_MAX));
  if ((flags & kAbsoluteTime) == 0) return value;
  if (clock == kClockRealtime) return std::max<int64_t>(0, value - ClockNs(CLOCK_REALTIME));
  if (clock == kClockMonotonic) return std::max<int64_t>(0, value - ClockNs(CLOCK_MONOTONIC));
  return value;  // CPU-time clocks: waited for as wall time, the most a sleep can mean.
}

wasm_trap_t* PollOneoff(void*, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                        wasmtime_val_t* results, size_t) {
  auto finish = [&](int32_t errno_value) -> wasm_trap_t* {
    results[0].kind = WASMTIME_I32;
    results[0].of.i32 = errno_value;
    return nullptr;
  };
  const uint32_t in = static_cast<uint32_t>(args[0].of.i32);
  const uint32_t out = static_cast<uint32_t>(args[1].of.i32);
  const uint32_t count = static_cast<uint32_t>(args[2].of.i32);
  const uint32_t nevents_at = static_cast<uint32_t>(args[3].of.i32);
  if (count == 0) return finish(kErrnoInval);

  wasmtime_extern_t memory_export;
  if (!wasmtime_caller_export_get(caller, "memory", 6, &memory_export) ||
      memory_export.kind != WASMTIME_EXTERN_MEMORY) {
    return finish(kErrnoFault);
  }
  wasmtime_context_t* context = wasmtime_caller_context(caller);
  uint8_t* memory = wasmtime_memory_data(context, &memory_export.of.memory);
  const uint64_t size = wasmtime_memory_data_size(context, &memory_export.of.memory);
  auto fits = [size](uint64_t at, uint64_t bytes) { return at <= size && bytes <= size - at; };
  if (!fits(in, uint64_t{count} * kSubscriptionBytes) ||
      !fits(out, uint64_t{count} * kEventBytes) || !fits(nevents_at, 4)) {
    return finish(kErrnoFault);
  }

  // Descriptors never block here: report every fd subscription ready at once.
  uint32_t events = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* sub = memory + in + uint64_t{i} * kSubscriptionBytes;
    const uint8_t tag = sub[8];
    if (tag == kEventFdRead || tag == kEventFdWrite) {
      WriteEvent(memory + out + uint64_t{events} * kEventBytes, Load<uint64_t>(sub), tag);
      ++events;
    } else if (tag != kEventClock) {
      return finish(kErrnoInval);
    }
  }
  if (events > 0) {
    StoreValue<uint32_t>(memory + nevents_at, events);
    return finish(kErrnoSuccess);
  }

  // Only clocks: sleep until the earliest, but never past the call's deadline.
  int64_t wait_ns = INT64_MAX;
  uint64_t userdata = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* sub = memory + in + uint64_t{i} * kSubscriptionBytes;
    const int64_t ns = WaitNs(Load<uint32_t>(sub + 16), Load<uint64_t>(sub + 24),
                              Load<uint16_t>(sub + 40));
    if (ns < wait_ns) {
      wait_ns = ns;
      userdata = Load<uint64_t>(sub);
    }
  }
  auto* state = static_cast<CallState*>(wasmtime_context_get_data(context));
  if (state == nullptr) {
    constexpr std::string_view kMessage = "poll_oneoff outside a skillrt call";
    return wasmtime_trap_new(kMessage.data(), kMessage.size());
  }
  const auto now = std::chrono::steady_clock::now();
  const int64_t left_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(state->deadline - now).count();
  // Sleeps in slices, so that a cancelled call ends within one slice.
  auto sleep_until = [state](std::chrono::steady_clock::time_point until) {
    constexpr std::chrono::milliseconds kSlice{5};
    while (std::chrono::steady_clock::now() < until) {
      if (state->cancel_requested != nullptr &&
          state->cancel_requested->load(std::memory_order_acquire)) {
        state->cancelled = true;
        return false;
      }
      // What the guest wrote before it slept reaches those who watch the run meanwhile.
      state->DrainOutput();
      std::this_thread::sleep_until(std::min(until, std::chrono::steady_clock::now() + kSlice));
    }
    return true;
  };
  constexpr std::string_view kCancelled = "cancelled during poll_oneoff";
  if (wait_ns >= left_ns) {
    if (!sleep_until(state->deadline)) return wasmtime_trap_new(kCancelled.data(), kCancelled.size());
    state->timed_out = true;
    constexpr std::string_view kMessage = "wall-clock limit reached during poll_oneoff";
    return wasmtime_trap_new(kMessage.data(), kMessage.size());
  }
  const auto wake = now + std::chrono::nanoseconds(wait_ns);
  if (!sleep_until(wake)) return wasmtime_trap_new(kCancelled.data(), kCancelled.size());
  // The guest may reuse `memory` only after we return; the pointer is still valid because
  // nothing ran in between that could grow the memory.
  WriteEvent(memory + out, userdata, kEventClock);
  StoreValue<uint32_t>(memory + nevents_at, 1);
  return finish(kErrnoSuccess);
}

}  // namespace

Result<void> DefineBoundedPollOneoff(wasmtime_linker_t* linker) {
  wasm_valtype_vec_t params;
  wasm_valtype_vec_t results;
  wasm_valtype_t* param_types[4] = {wasm_valtype_new_i32(), wasm_valtype_new_i32(),
                                    wasm_valtype_new_i32(), wasm_valtype_new_i32()};
  wasm_valtype_t* result_types[1] = {wasm_valtype_new_i32()};
  wasm_valtype_vec_new(&params, 4, param_types);
  wasm_valtype_vec_new(&results, 1, result_types);
  wasm_functype_t* type = wasm_functype_new(&params, &results);
  constexpr std::string_view kModule = "wasi_snapshot_preview1";
  constexpr std::string_view kName = "poll_oneoff";
  ErrorPtr error(wasmtime_linker_define_func(linker, kModule.data(), kModule.size(), kName.data(),
                                             kName.size(), type, PollOneoff, nullptr, nullptr));
  wasm_functype_delete(type);
  if (error) return Fail(ErrorCode::kInternal, "poll_oneoff: " + ErrorMessage(error.get()));
  return {};
}

}  // namespace skillrt::wasm
