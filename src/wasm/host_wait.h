// Ending WASI calls that wait in the kernel past their call's deadline.
//
// Wasmtime's WASI implementation (wasmtime-wasi 48 to 50) runs file system calls on the
// threads of its own tokio runtime, and there a few of them can wait in the kernel without
// end: opening a FIFO waits for the other end (open(2), fifo(7)), opening a terminal or another
// character device may wait for the device. Its reads and writes use pread/pwrite, which a FIFO
// or a terminal refuses at once (ESPIPE), so the open is where a guest gets stuck. Such waits are
// interruptible: a signal whose handler is installed without SA_RESTART makes the system call
// fail with EINTR (signal(7), "Interruption of system calls"), wasmtime-wasi hands EINTR to
// the guest as an errno without retrying, and the guest, back in WebAssembly past its
// deadline, is stopped by its epoch deadline. A wait the kernel does not let a signal
// interrupt (a hung network file system) is not ended here; the caller gives the call up
// (WasmRuntime::Run).
#ifndef SKILLRT_WASM_HOST_WAIT_H_
#define SKILLRT_WASM_HOST_WAIT_H_

namespace skillrt::wasm {

/// Installs, once per process, a handler that does nothing for the signal used to interrupt
/// host waits (SIGRTMAX - 2), without SA_RESTART. Returns false when the signal already has a
/// handler of someone else's, in which case InterruptHostWaits() does nothing. Thread-safe.
bool InstallHostWaitInterrupt();

/// Sends the interrupt signal to each thread of Wasmtime's WASI runtime (tokio threads, named
/// "tokio-rt-worker") that is inside a system call that opens a file (open, openat,
/// openat2; /proc/self/task/<tid>/syscall, proc(5)). A thread in an uninterruptible wait, or in no
/// such call by the time the signal arrives, only runs the empty handler. Returns how many
/// threads were signalled; 0 when InstallHostWaitInterrupt() failed. Thread-safe.
int InterruptHostWaits();

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_HOST_WAIT_H_
