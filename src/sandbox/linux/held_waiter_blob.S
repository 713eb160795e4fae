// The held sandbox's waiter program (held_waiter.c), built by CMakeLists.txt as
// SKILLRT_HELD_WAITER_PATH, embedded as bytes: [skillrt_held_waiter, skillrt_held_waiter_end).
// prepared.cc writes them into a sealed memfd (prepared::MakeHeldWaiter).
    .section .rodata.skillrt_held_waiter, "a"
    .balign 16
    .globl skillrt_held_waiter
    .hidden skillrt_held_waiter
skillrt_held_waiter:
    .incbin SKILLRT_HELD_WAITER_PATH
    .globl skillrt_held_waiter_end
    .hidden skillrt_held_waiter_end
skillrt_held_waiter_end:
    .section .note.GNU-stack, "", @progbits
