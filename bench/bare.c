// The smallest program the kernel can start: no C library, no loader, no start-up code. It
// separates what the sandbox costs from what a libc's start-up costs on the machine (glibc's
// CPU feature detection executes cpuid, which traps to the hypervisor on a virtual machine).
// x86-64 Linux only: exit(0) through the exit system call (number 60).
void _start(void) {
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
  __builtin_unreachable();
}
