/* link_try TARGET LINK: make the hard link LINK to TARGET (link(2)). Succeeds when the link
 * exists. */
#include "probe.h" /* First: it defines _GNU_SOURCE. */

int main(int argc, char** argv) {
  if (argc != 3) return probe_usage("link_try", "TARGET LINK");
  struct probe_json j;
  pj_begin(&j, "link_try");
  pj_str(&j, "target", argv[1]);
  pj_str(&j, "link", argv[2]);
  if (link(argv[1], argv[2]) != 0) return pj_finish(&j, 0, errno);
  return pj_finish(&j, 1, 0);
}
