/* openclose <path> <seconds>
 * Loop open(path, O_RDONLY) + close(fd) for <seconds> after a warm-up and print ops/s.
 * On a FUSE mount each iteration is OPEN, FLUSH and RELEASE round trips (FLUSH is skipped
 * by the kernel once a server answered ENOSYS to it; RELEASE is asynchronous). */
#include "common.h"
#include <fcntl.h>
#include <unistd.h>

static unsigned long long loop_for(const char *path, double seconds) {
  unsigned long long ops = 0;
  double end = now_s() + seconds;
  for (;;) {
    for (int i = 0; i < 64; i++) {
      int fd = open(path, O_RDONLY);
      if (fd < 0) { fprintf(stderr, "openclose: open %s: %s\n", path, strerror(errno)); exit(2); }
      if (close(fd) != 0) { fprintf(stderr, "openclose: close: %s\n", strerror(errno)); exit(2); }
    }
    ops += 64;
    if (now_s() >= end) break;
  }
  return ops;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: openclose <path> <seconds>\n"); return 1; }
  const char *path = argv[1];
  double seconds = parse_pos_double(argv[2], "seconds");
  double w = warmup_seconds();
  if (w > 0) loop_for(path, w);
  struct rusage ru;
  cpu_mark(&ru);
  double t0 = now_s();
  unsigned long long ops = loop_for(path, seconds);
  double dt = now_s() - t0;
  printf("%.1f ops/s\n", (double)ops / dt);
  report_cpu(&ru, dt);
  fprintf(stderr, "openclose: %llu open+close in %.3f s\n", ops, dt);
  return 0;
}
