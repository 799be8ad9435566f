/* readloop <path> <blocksize> <seconds> [direct|buffered] [limit]
 * Sequential pread() of <blocksize> blocks from offset 0 for <seconds> after a warm-up; wraps to 0
 * at <limit> (default min(file size, 1 GiB)) or at EOF, and prints MiB/s.
 * direct: O_DIRECT with a page-aligned buffer (each read is one FUSE READ of <blocksize>).
 * buffered: page cache + kernel readahead; on every wrap the cached pages are dropped with
 * posix_fadvise(DONTNEED) so repeated passes still reach the filesystem. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd;
static char *buf;
static unsigned long long bs, limit;
static int direct;

static unsigned long long loop_for(double seconds, unsigned long long *off) {
  unsigned long long bytes = 0;
  double end = now_s() + seconds;
  for (;;) {
    for (int i = 0; i < 16; i++) {
      if (*off + bs > limit) {
        if (!direct) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        *off = 0;
      }
      ssize_t n = pread(fd, buf, bs, (off_t)*off);
      if (n < 0) {
        if (errno == EINTR) continue;
        fprintf(stderr, "readloop: pread at %llu: %s\n", *off, strerror(errno));
        exit(2);
      }
      if (n == 0) {
        if (*off == 0) { fprintf(stderr, "readloop: empty file\n"); exit(2); }
        limit = *off; /* EOF before the limit: wrap here from now on */
        continue;
      }
      bytes += (unsigned long long)n;
      *off += (unsigned long long)n;
    }
    if (now_s() >= end) break;
  }
  return bytes;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 6) {
    fprintf(stderr, "usage: readloop <path> <blocksize> <seconds> [direct|buffered] [limit]\n");
    return 1;
  }
  const char *path = argv[1];
  bs = parse_size(argv[2], "blocksize");
  double seconds = parse_pos_double(argv[3], "seconds");
  if (argc >= 5) {
    if (strcmp(argv[4], "direct") == 0) direct = 1;
    else if (strcmp(argv[4], "buffered") != 0) { fprintf(stderr, "bad mode: %s\n", argv[4]); return 1; }
  }
  fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
  if (fd < 0) { fprintf(stderr, "readloop: open %s: %s\n", path, strerror(errno)); return 2; }
  struct stat st;
  if (fstat(fd, &st) != 0) { fprintf(stderr, "readloop: fstat: %s\n", strerror(errno)); return 2; }
  limit = 1ULL << 30;
  if (st.st_size > 0 && (unsigned long long)st.st_size < limit) limit = (unsigned long long)st.st_size;
  if (argc == 6) limit = parse_size(argv[5], "limit");
  if (limit < bs) limit = bs;
  if (posix_memalign((void **)&buf, 4096, bs) != 0) { fprintf(stderr, "readloop: out of memory\n"); return 2; }
  memset(buf, 0, bs);
  if (!direct) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  unsigned long long off = 0;
  double w = warmup_seconds();
  if (w > 0) loop_for(w, &off);
  struct rusage ru;
  cpu_mark(&ru);
  double t0 = now_s();
  unsigned long long bytes = loop_for(seconds, &off);
  double dt = now_s() - t0;
  printf("%.1f MiB/s\n", (double)bytes / dt / (1024.0 * 1024.0));
  report_cpu(&ru, dt);
  fprintf(stderr, "readloop: %llu bytes (%s, bs %llu, limit %llu) in %.3f s\n", bytes,
          direct ? "direct" : "buffered", bs, limit, dt);
  close(fd);
  free(buf);
  return 0;
}
