// Address ranges kept out of the children this process clones.
//
// The native sandbox's child is made by clone3(2) without CLONE_VM: it gets a copy-on-write
// copy of the whole address space, although it only runs the sandbox's own set-up code before
// execve(2). In a long-lived process that also runs WebAssembly, that copy includes the
// Wasmtime pool's linear memories and tables: the clone copies their page tables, and every
// later write by a guest to one of those pages takes a fault and, while a prepared sandbox
// still holds the copy, a page copy (docs/wasm.md, "Speed"). Ranges registered here are
// marked MADV_DONTFORK (madvise(2)) just before each such clone, so the child has no mapping
// there at all.
//
// A registered range must be one the child never touches: the child would take SIGSEGV (the
// sandbox then fails to start; nothing runs with less isolation). Only memory owned by a
// runtime that the sandbox's set-up code never reads qualifies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace skillrt::fork_exclusion {

/// One registered range: [begin, end), page-aligned addresses.
struct Range {
  uintptr_t begin = 0;
  uintptr_t end = 0;
};

/// Adds `range` to the process-wide set. Thread-safe. The owner must call Unregister before
/// the range is unmapped, or a later mapping at the same addresses would be excluded too.
void Register(Range range);

/// Removes a range added by Register (matched exactly); unknown ranges are ignored.
/// Thread-safe; once it returns, no ApplyBeforeClone call touches the range any more.
void Unregister(Range range);

/// Marks every registered range MADV_DONTFORK. Call in the parent immediately before a
/// clone3(2)/fork(2) whose child runs only the sandbox's set-up code and then execve(2).
/// Mappings that the owner made inside a range since the last call (Wasmtime maps a module's
/// memory image over a pool slot with MAP_FIXED, which drops the flag) are covered again.
/// Thread-safe; errors are ignored (the only effect of a failure is the copy this avoids).
void ApplyBeforeClone();

/// The ranges registered now, in registration order. Thread-safe.
std::vector<Range> Registered();

/// Every mapping of this process now, from /proc/self/maps (proc(5)), in address order;
/// empty if the file cannot be read. Allocates: not for a child between clone and execve.
std::vector<Range> Mappings();

}  // namespace skillrt::fork_exclusion
