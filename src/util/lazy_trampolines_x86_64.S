// The trampolines that stand for a shared library's functions until the library is loaded
// (util/lazy_library.h), x86-64 System V ABI. This file is included by a wrapper that the
// build generates for each such library, after defining SKILLRT_LAZY_NAME (e.g. wasmtime) and
// SKILLRT_LAZY_SYMBOLS (its list, "lazy_<name>_symbols.inc", generated at configure time from
// the library's dynamic symbols as SKILLRT_LAZY_FUNCTION(name, index) lines). For each entry:
//
//   name:      jmp *skillrt_lazy_<lib>_table+8*index(%rip)     the whole trampoline, ever after
//   resolve_N: push $index; jmp common                          the table's first entry
//
// `common` keeps every register a call may pass arguments in (rdi, rsi, rdx, rcx, r8, r9,
// rax: the vector registers' count for variadic calls, r10: the static chain, xmm0-xmm7),
// calls skillrt_lazy_<lib>_resolve(index) (C++), which loads the library, fills the table and
// returns the function's address, puts them back and jumps to it with the stack as the caller
// left it: arguments on the stack and the return address are where the function expects them.
// The trampolines are hidden: each binary has its own, none interposes on another's. endbr64
// marks the targets of indirect jumps for Indirect Branch Tracking (a no-op where it is not
// enforced).

#define SKILLRT_LAZY_CAT_(a, b, c) a##b##c
#define SKILLRT_LAZY_CAT(a, b, c) SKILLRT_LAZY_CAT_(a, b, c)
#define SKILLRT_LAZY_TABLE SKILLRT_LAZY_CAT(skillrt_lazy_, SKILLRT_LAZY_NAME, _table)
#define SKILLRT_LAZY_RESOLVE SKILLRT_LAZY_CAT(skillrt_lazy_, SKILLRT_LAZY_NAME, _resolve)

        .text

#define SKILLRT_LAZY_FUNCTION(name, index)     \
        .globl name;                           \
        .hidden name;                          \
        .type name, @function;                 \
        .p2align 4;                            \
name:                                          \
        endbr64;                               \
        jmp *SKILLRT_LAZY_TABLE+8*index(%rip); \
        .size name, .-name;
#include SKILLRT_LAZY_SYMBOLS
#undef SKILLRT_LAZY_FUNCTION

#define SKILLRT_LAZY_FUNCTION(name, index)     \
        .p2align 3;                            \
.Lresolve_##index:                             \
        endbr64;                               \
        pushq $index;                          \
        jmp .Lcommon;
#include SKILLRT_LAZY_SYMBOLS
#undef SKILLRT_LAZY_FUNCTION

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
        call SKILLRT_LAZY_RESOLVE
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
        .globl SKILLRT_LAZY_TABLE
        .hidden SKILLRT_LAZY_TABLE
        .type SKILLRT_LAZY_TABLE, @object
SKILLRT_LAZY_TABLE:
#define SKILLRT_LAZY_FUNCTION(name, index) .quad .Lresolve_##index;
#include SKILLRT_LAZY_SYMBOLS
#undef SKILLRT_LAZY_FUNCTION
        .size SKILLRT_LAZY_TABLE, .-SKILLRT_LAZY_TABLE

        // No executable stack: without this note the linker would give the whole program one.
        .section .note.GNU-stack, "", @progbits
