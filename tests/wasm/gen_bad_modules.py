#!/usr/bin/env python3
"""Writes the malformed and hostile WebAssembly binaries the wasm runtime tests feed to
`skillrt run`. Each must end in a clean error (never a crash or a stall of the host).

Usage: gen_bad_modules.py OUT_DIR VALID_MODULE
  VALID_MODULE is any valid core module; its first half becomes truncated.wasm.

Binary format: WebAssembly Core Specification 2.0, chapter 5 (sections, LEB128 integers);
component header: the component model's Binary.md (layer 1).
"""
import os
import sys

MAGIC = b"\0asm"
CORE_VERSION = b"\1\0\0\0"
COMPONENT_VERSION = b"\x0d\0\1\0"  # version 0xd, layer 1


def uleb(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def vec(items):
    return uleb(len(items)) + b"".join(items)


def name(s):
    return vec([bytes([b]) for b in s.encode()])


def section(section_id, payload):
    return bytes([section_id]) + uleb(len(payload)) + payload


def module(*sections):
    return MAGIC + CORE_VERSION + b"".join(sections)


FUNC_TYPE_VOID = b"\x60\x00\x00"  # () -> ()
TYPES = section(1, vec([FUNC_TYPE_VOID]))
EXPORT_START = section(7, vec([name("_start") + b"\x00" + uleb(0)]))


def code(bodies):
    return section(10, vec([uleb(len(b)) + b for b in bodies]))


def funcs(count):
    return section(3, uleb(count) + b"\x00" * count)


def empty_start(extra_sections):
    """A module whose _start does nothing, plus `extra_sections` (id, payload) in order."""
    sections = [TYPES, funcs(1)]
    sections += [section(i, p) for i, p in extra_sections]
    sections += [EXPORT_START, code([b"\x00\x0b"])]
    return module(*sections)


SLOW_FUNCTIONS = 1200
SLOW_OPS = 2000


def slow_compile_module():
    i32, i64 = b"\x7f", b"\x7e"
    types = section(1, vec([FUNC_TYPE_VOID, b"\x60" + vec([i32] * 4) + vec([i32])]))
    imports = section(2, vec([name("wasi_snapshot_preview1") + name("fd_write") + b"\x00" +
                              uleb(1)]))
    functions = section(3, uleb(1 + SLOW_FUNCTIONS) + b"\x00" * (1 + SLOW_FUNCTIONS))
    memory = section(5, vec([b"\x00" + uleb(1)]))
    exports = section(7, vec([name("_start") + b"\x00" + uleb(1),
                              name("memory") + b"\x02" + uleb(0)]))

    def i32_const(n):
        return b"\x41" + uleb(n)  # Non-negative values below 64 encode the same as sleb.

    # iovec at 0: {ptr 16, len 2}; fd_write(1, 0, 1, 8); drop the errno.
    start = (b"\x00" + i32_const(0) + i32_const(16) + b"\x36\x02\x00" +
             i32_const(4) + i32_const(2) + b"\x36\x02\x00" +
             i32_const(1) + i32_const(0) + i32_const(1) + i32_const(8) +
             b"\x10" + uleb(0) + b"\x1a\x0b")
    filler = bytearray(vec([uleb(8) + i64]))
    for i in range(SLOW_OPS):
        a, b, c = i % 8, (i * 3 + 1) % 8, (i * 5 + 2) % 8
        filler += b"\x20" + uleb(a) + b"\x20" + uleb(b) + b"\x7c\x21" + uleb(c)
    filler += b"\x0b"
    bodies = [start] + [bytes(filler)] * SLOW_FUNCTIONS
    data = section(11, vec([b"\x00" + i32_const(16) + b"\x0b" + vec([b"{", b"}"])]))
    return module(types, imports, functions, memory, exports, code(bodies), data)


def write(out_dir, file_name, data):
    path = os.path.join(out_dir, file_name)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out_dir, valid_path = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    with open(valid_path, "rb") as f:
        valid = f.read()
    if not valid.startswith(MAGIC + CORE_VERSION):
        sys.exit(f"gen_bad_modules: {valid_path}: not a core module")

    bad = {}
    # Malformed.
    bad["garbage.wasm"] = bytes((i * 131 + 7) % 251 for i in range(4096))
    bad["empty.wasm"] = b""
    bad["truncated.wasm"] = valid[: len(valid) // 2]
    bad["bad_version.wasm"] = MAGIC + b"\x02\0\0\0" + valid[8:]
    # A component header followed by a section whose size runs past the end of the file.
    bad["bad_component.wasm"] = MAGIC + COMPONENT_VERSION + b"\x01\xff\xff\xff\x0f"
    # Hostile, well-formed: resources far beyond any skill's limits.
    # Memory minimum of 65536 pages: all 4 GiB of a 32-bit address space at instantiation.
    bad["huge_memory.wasm"] = empty_start([(5, vec([b"\x00" + uleb(65536)]))])
    # A funcref table whose minimum is 100 million elements (800 MB of host memory).
    bad["huge_table.wasm"] = empty_start([(4, vec([b"\x70\x00" + uleb(100_000_000)]))])
    # One function declaring 4 billion locals (the validator allows 50,000).
    bad["many_locals.wasm"] = module(
        TYPES, funcs(1), EXPORT_START,
        code([vec([uleb(0xFFFFFFF0) + b"\x7f"]) + b"\x0b"]))
    # A million and one functions: over the validator's limit of 1,000,000.
    count = 1_000_001
    bad["many_functions.wasm"] = module(
        TYPES, funcs(count), EXPORT_START, code([b"\x00\x0b"] * count))
    # Blocks nested 200,000 deep in one function: a compiler that recurses on nesting would
    # overflow its own stack.
    depth = 200_000
    bad["deep_nesting.wasm"] = module(
        TYPES, funcs(1), EXPORT_START,
        code([b"\x00" + b"\x02\x40" * depth + b"\x0b" * depth + b"\x0b"]))
    # An import the host does not provide: preview 1 has no call that opens a socket.
    import_sock_open = section(2, vec([name("wasi_snapshot_preview1") + name("sock_open") +
                                       b"\x00" + uleb(0)]))
    bad["import_sock_open.wasm"] = module(
        TYPES, import_sock_open, funcs(1),
        section(7, vec([name("_start") + b"\x00" + uleb(1)])), code([b"\x00\x0b"]))

    # Valid, and slow to compile: _start prints "{}" (fd_write), and SLOW_FUNCTIONS more
    # functions each chain SLOW_OPS additions over eight i64 locals, a few seconds of Cranelift
    # work. A host must bound the compilation by the call's wall-clock limit.
    bad["slow_compile.wasm"] = slow_compile_module()

    for file_name, data in bad.items():
        write(out_dir, file_name, data)


if __name__ == "__main__":
    main()
