/* Shared helpers for the bench load generators: monotonic clock, argument parsing, warm-up.
 * Output contract (parsed by bench/lib.ts): stdout line 1 is "<number> <unit>", line 2 is
 * "cpu <user s> <sys s> <wall s>" for the measured period (getrusage of this process); details
 * go to stderr. Exit status 0 on success, 1 on usage error, 2 on I/O error. */
#ifndef BENCH_LOAD_COMMON_H
#define BENCH_LOAD_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double parse_pos_double(const char *s, const char *what) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v > 0)) {
    fprintf(stderr, "bad %s: %s\n", what, s);
    exit(1);
  }
  return v;
}

/* Size with an optional K/M/G suffix (binary). */
static inline unsigned long long parse_size(const char *s, const char *what) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s) { fprintf(stderr, "bad %s: %s\n", what, s); exit(1); }
  switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    case 't': case 'T': v <<= 40; end++; break;
    default: break;
  }
  if (*end == 'i' || *end == 'B') end++;
  if (*end == 'B') end++;
  if (*end != '\0' || v == 0) { fprintf(stderr, "bad %s: %s\n", what, s); exit(1); }
  return v;
}

static inline double cpu_user(const struct rusage *r) { return r->ru_utime.tv_sec + r->ru_utime.tv_usec / 1e6; }
static inline double cpu_sys(const struct rusage *r) { return r->ru_stime.tv_sec + r->ru_stime.tv_usec / 1e6; }

/* Snapshot of this process's CPU time, for report_cpu(). */
static inline void cpu_mark(struct rusage *r) { getrusage(RUSAGE_SELF, r); }

static inline void report_cpu(const struct rusage *before, double wall) {
  struct rusage after;
  getrusage(RUSAGE_SELF, &after);
  printf("cpu %.4f %.4f %.4f\n", cpu_user(&after) - cpu_user(before), cpu_sys(&after) - cpu_sys(before), wall);
}

/* Uncounted warm-up before measuring (JIT, caches, thread pools): BENCH_WARMUP seconds, default 0.5. */
static inline double warmup_seconds(void) {
  const char *w = getenv("BENCH_WARMUP");
  if (w == NULL || *w == '\0') return 0.5;
  double v = strtod(w, NULL);
  return v >= 0 ? v : 0.5;
}

#endif
