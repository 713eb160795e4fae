// The trampolines that stand for Wasmtime's functions until its shared library is loaded
// (wasmtime_lazy.h), x86-64 System V ABI. For each function of wasmtime_symbols.inc (name,
// index), generated at configure time from the library's dynamic symbols:
//
//   name:      jmp *skillrt_wasmtime_table+8*index(%rip)    the whole trampoline, ever after
//   resolve_N: push $index; jmp common                       the table's first entry
//
// `common` keeps every register a call may pass arguments in (rdi, rsi, rdx, rcx, r8, r9,
// rax: the vector registers' count for variadic calls, r10: the static chain, xmm0-xmm7),
// calls skillrt_wasmtime_resolve(index) (wasmtime_lazy.cc), which loads the library, fills the
// table and returns the function's address, puts them back and jumps to it with the stack as
// the caller left it: arguments on the stack and the return address are where the function
// expects them. The trampolines are hidden: each binary has its own, none interposes on another's.
// endbr64 marks the targets of indirect jumps for Indirect Branch Tracking (a no-op where it
// is not enforced).

        .text

#define SKILLRT_WASMTIME_FUNCTION(name, index) \
        .globl name;                           \
        .hidden name;                          \
        .type name, @function;                 \
        .p2align 4;                            \
name:                                          \
        endbr64;                               \
        jmp *skillrt_wasmtime_table+8*index(%rip); \
        .size name, .-name;
#include <wasmtime_symbols.inc>
#undef SKILLRT_WASMTIME_FUNCTION

#define SKILLRT_WASMTIME_FUNCTION(name, index) \
        .p2align 3;                            \
.Lresolve_##index:                             \
        endbr64;                               \
        pushq $index;                          \
        jmp .Lcommon;
#include <wasmtime_symbols.inc>
#undef SKILLRT_WASMTIME_FUNCTION

        .p2align 4
.Lcommon:
        // 0(%rsp): the index; 8(%rsp): the caller's return address.
        pushq %rbp
        movq %rsp, %rbp
        pushq %rdi
        pushq %rsi
        pushq %rdx
        pushq %rcx
        pushq %r8
        pushq %r9
        pushq %rax
        pushq %r10
        andq $-16, %rsp
        subq $128, %rsp
        movdqa %xmm0, 0(%rsp)
        movdqa %xmm1, 16(%rsp)
        movdqa %xmm2, 32(%rsp)
        movdqa %xmm3, 48(%rsp)
        movdqa %xmm4, 64(%rsp)
        movdqa %xmm5, 80(%rsp)
        movdqa %xmm6, 96(%rsp)
        movdqa %xmm7, 112(%rsp)
        movq 8(%rbp), %rdi
        call skillrt_wasmtime_resolve
        movq %rax, %r11
        movdqa 0(%rsp), %xmm0
        movdqa 16(%rsp), %xmm1
        movdqa 32(%rsp), %xmm2
        movdqa 48(%rsp), %xmm3
        movdqa 64(%rsp), %xmm4
        movdqa 80(%rsp), %xmm5
        movdqa 96(%rsp), %xmm6
        movdqa 112(%rsp), %xmm7
        leaq -64(%rbp), %rsp
        popq %r10
        popq %rax
        popq %r9
        popq %r8
        popq %rcx
        popq %rdx
        popq %rsi
        popq %rdi
        popq %rbp
        addq $8, %rsp            // The index.
        jmp *%r11

        .data
        .p2align 3
        .globl skillrt_wasmtime_table
        .hidden skillrt_wasmtime_table
        .type skillrt_wasmtime_table, @object
skillrt_wasmtime_table:
#define SKILLRT_WASMTIME_FUNCTION(name, index) .quad .Lresolve_##index;
#include <wasmtime_symbols.inc>
#undef SKILLRT_WASMTIME_FUNCTION
        .size skillrt_wasmtime_table, .-skillrt_wasmtime_table

        // No executable stack: without this note the linker would give the whole program one.
        .section .note.GNU-stack, "", @progbits
