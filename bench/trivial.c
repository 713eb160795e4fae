/* The program the spawn benchmark starts: it exits 0 at once. Linked statically so that the
 * measured time is the cost of starting a process (and its sandbox), not the dynamic loader's. */
int main(void) { return 0; }
