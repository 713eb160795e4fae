/* mode_try chmod|create|mknod PATH MODE: give PATH the octal MODE with chmod(2), create it
 * with open(2) O_CREAT and that mode, or create it with mknod(2) S_IFREG and that mode.
 * Succeeds when the call did; reports the mode the file then has. The mode of a new file
 * passes through the umask, which this probe clears. */
#include "probe.h" /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>
#include <sys/stat.h>

int main(int argc, char** argv) {
  if (argc != 4) return probe_usage("mode_try", "chmod|create|mknod PATH MODE");
  char* end = NULL;
  long mode = strtol(argv[3], &end, 8);
  if (end == argv[3] || *end != '\0' || mode < 0 || mode > 07777) {
    return probe_usage("mode_try", "chmod|create|mknod PATH MODE");
  }
  struct probe_json j;
  pj_begin(&j, "mode_try");
  pj_str(&j, "call", argv[1]);
  pj_str(&j, "target", argv[2]);
  umask(0);
  int rc;
  if (strcmp(argv[1], "chmod") == 0) {
    rc = chmod(argv[2], (mode_t)mode);
  } else if (strcmp(argv[1], "create") == 0) {
    rc = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (rc >= 0) rc = close(rc);
  } else if (strcmp(argv[1], "mknod") == 0) {
    rc = mknod(argv[2], S_IFREG | (mode_t)mode, 0);
  } else {
    return probe_usage("mode_try", "chmod|create|mknod PATH MODE");
  }
  if (rc != 0) return pj_finish(&j, 0, errno);
  struct stat st;
  if (stat(argv[2], &st) == 0) pj_int(&j, "mode", st.st_mode & 07777);
  return pj_finish(&j, 1, 0);
}
