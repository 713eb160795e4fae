// Small owners and converters for Wasmtime's C API (wasmtime.h): one unique_ptr alias per
// owned handle, and the text of an error or a trap. Header-only; no state.
#ifndef SKILLRT_WASM_WASMTIME_UTIL_H_
#define SKILLRT_WASM_WASMTIME_UTIL_H_

#include <wasmtime.h>

#include <memory>
#include <string>

namespace skillrt::wasm {

/// Calls the C API's delete function for one handle type.
template <typename T, void (*Delete)(T*)>
struct CDeleter {
  void operator()(T* ptr) const {
    if (ptr != nullptr) Delete(ptr);
  }
};

using ErrorPtr = std::unique_ptr<wasmtime_error_t, CDeleter<wasmtime_error_t, wasmtime_error_delete>>;
using TrapPtr = std::unique_ptr<wasm_trap_t, CDeleter<wasm_trap_t, wasm_trap_delete>>;
using EnginePtr = std::unique_ptr<wasm_engine_t, CDeleter<wasm_engine_t, wasm_engine_delete>>;
using StorePtr = std::unique_ptr<wasmtime_store_t, CDeleter<wasmtime_store_t, wasmtime_store_delete>>;
using ModulePtr =
    std::unique_ptr<wasmtime_module_t, CDeleter<wasmtime_module_t, wasmtime_module_delete>>;
using LinkerPtr =
    std::unique_ptr<wasmtime_linker_t, CDeleter<wasmtime_linker_t, wasmtime_linker_delete>>;
using InstancePrePtr =
    std::unique_ptr<wasmtime_instance_pre_t,
                    CDeleter<wasmtime_instance_pre_t, wasmtime_instance_pre_delete>>;
using WasiConfigPtr = std::unique_ptr<wasi_config_t, CDeleter<wasi_config_t, wasi_config_delete>>;
using ComponentPtr = std::unique_ptr<wasmtime_component_t,
                                     CDeleter<wasmtime_component_t, wasmtime_component_delete>>;
using ComponentLinkerPtr =
    std::unique_ptr<wasmtime_component_linker_t,
                    CDeleter<wasmtime_component_linker_t, wasmtime_component_linker_delete>>;
using ExportIndexPtr =
    std::unique_ptr<wasmtime_component_export_index_t,
                    CDeleter<wasmtime_component_export_index_t,
                             wasmtime_component_export_index_delete>>;

/// Returns the text of a wasm_name_t / wasm_byte_vec_t and frees it.
inline std::string TakeByteVec(wasm_byte_vec_t* vec) {
  std::string text(vec->data == nullptr ? "" : std::string(vec->data, vec->size));
  wasm_byte_vec_delete(vec);
  return text;
}

/// The message of `error` (not freed).
inline std::string ErrorMessage(const wasmtime_error_t* error) {
  wasm_byte_vec_t message;
  wasmtime_error_message(error, &message);
  return TakeByteVec(&message);
}

/// The message of `trap` (not freed).
inline std::string TrapMessage(const wasm_trap_t* trap) {
  wasm_byte_vec_t message;
  wasm_trap_message(trap, &message);
  std::string text = TakeByteVec(&message);
  // wasm.h's messages carry their C terminator inside the vector.
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_WASMTIME_UTIL_H_
