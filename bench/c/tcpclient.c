/*
 * The kernel-side TCP client of bench/tcpRate.ts, the same binary for every target (walnut board, Linux
 * kernel over a veth, lwIP), run inside the bench's client namespace. One measurement per run, bounded in
 * time (and count), one result line on stdout:
 *
 *   tcpclient send    IP PORT SECONDS  bulk to discard: write 64 KiB blocks for SECONDS, then half-close and
 *                                      wait for the server's FIN (so every byte was taken); bytes / elapsed
 *   tcpclient recv    IP PORT SECONDS  bulk from chargen: read for SECONDS, checking every byte against the
 *                                      RFC 864 pattern (walnut's and the harnesses' shape)
 *   tcpclient echo    IP PORT SECONDS  1-byte transactions on one connection (TCP_NODELAY): send, await, check
 *   tcpclient connect IP PORT SECONDS  connect + 1-byte echo + close, sequentially (at most MAX_CONNECTS)
 *   tcpclient udpecho IP PORT SECONDS  UDP round trips of a 16-byte datagram (a counter), one outstanding;
 *                                      a reply that does not come within 1 s is counted lost and the next sent
 *   tcpclient hold    IP PORT SECONDS  idle connections (TCPCLIENT_HOLD, 1–HOLD_CONNECTIONS, default all)
 *                                      opened one after another within SECONDS; prints "ready held=N" when they
 *                                      are up, holds them for the rest of SECONDS, then closes them (the bench's
 *                                      RSS per idle connection; SIGTERM ends it early)
 *
 * Output: "ok mode=… ops=… bytes=… seconds=… cpu=…" (cpu: this client's user + system seconds). Any error,
 * short read or mismatch prints "error …" on stderr, with the connection's TCP_INFO when one is open, and
 * exits 1. Every socket has 5 s send/receive timeouts, so a stalled peer shows up as an error.
 *
 * Throughput over time (send and recv only): with TCPCLIENT_INTERVAL_MS=N in the environment (1–10000) the
 * client also prints "t=SECONDS bytes=TOTAL" lines on stdout, before the "ok" line, about every N ms of the
 * run: SECONDS since the run's start and the bytes written (send) or read and checked (recv) so far. Without
 * the variable the output is the one "ok" line, as before.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLOCK_BYTES (64 * 1024)
#define PATTERN_BYTES (95 * 74)
#define MAX_CONNECTS 1000000L
#define MAX_ECHOES 100000000L
#define IO_TIMEOUT_S 5
#define HOLD_CONNECTIONS 1000

static unsigned char block[BLOCK_BYTES];
/* TCPCLIENT_INTERVAL_MS in seconds, 0 when unset; the next time (since t0) an interval line is due. */
static double interval_s;
static double next_interval_s;

/* Prints "t=… bytes=…" when an interval has passed (`elapsed` seconds into the run, `bytes` moved so far). */
static void interval_tick(double elapsed, long long bytes) {
  if (interval_s <= 0 || elapsed < next_interval_s) return;
  printf("t=%.6f bytes=%lld\n", elapsed, bytes);
  /* Skip ticks missed while blocked in one write()/read(), so a stall shows as one long interval. */
  while (next_interval_s <= elapsed) next_interval_s += interval_s;
}
static unsigned char pattern[2 * PATTERN_BYTES];

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* The connection in use, for the TCP_INFO snapshot in die(); -1 between connections. */
static int current_fd = -1;

/* Says what failed and, when a connection is open, the kernel's view of it (a stall shows as retransmits). */
static void die(const char *what) {
  int err = errno;
  fprintf(stderr, "error %s: %s", what, err != 0 ? strerror(err) : "unexpected");
  struct tcp_info ti;
  socklen_t len = sizeof(ti);
  if (current_fd >= 0 && getsockopt(current_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
    fprintf(stderr,
            " [client TCP_INFO: state %u, retransmits %u, total_retrans %u, rto %u us, unacked %u, lost %u, "
            "cwnd %u, last data sent %u ms ago, last data received %u ms ago]",
            ti.tcpi_state, ti.tcpi_retransmits, ti.tcpi_total_retrans, ti.tcpi_rto, ti.tcpi_unacked, ti.tcpi_lost,
            ti.tcpi_snd_cwnd, ti.tcpi_last_data_sent, ti.tcpi_last_data_recv);
  }
  fprintf(stderr, "\n");
  exit(1);
}

static int open_socket(const struct sockaddr_in *dst, int no_delay) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct timeval tv = {IO_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* also bounds connect() */
  if (no_delay) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) != 0) die("connect");
  current_fd = fd;
  return fd;
}

static void write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write");
    p += w;
    n -= (size_t)w;
  }
}

/* One byte out, the same byte back. */
static void echo_one(int fd, unsigned char value) {
  unsigned char b = value;
  write_all(fd, &b, 1);
  for (;;) {
    ssize_t r = read(fd, &b, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r == 1) break;
    if (r == 0) errno = 0;
    die("echo read");
  }
  if (b != value) {
    errno = 0;
    die("echo: wrong byte back");
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: tcpclient send|recv|echo|connect|udpecho|hold IP PORT SECONDS\n");
    return 2;
  }
  const char *mode = argv[1];
  struct sockaddr_in dst;
  memset(&dst, 0, sizeof(dst));
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)atoi(argv[3]));
  double seconds = atof(argv[4]);
  if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 || seconds <= 0 || seconds > 60) {
    fprintf(stderr, "tcpclient: bad address or SECONDS\n");
    return 2;
  }
  for (int i = 0; i < PATTERN_BYTES; i++) {
    int line = i / 74, col = i % 74;
    pattern[i] = (unsigned char)(col < 72 ? 32 + (line + col) % 95 : col == 72 ? 13 : 10);
  }
  memcpy(pattern + PATTERN_BYTES, pattern, PATTERN_BYTES);
  for (int i = 0; i < BLOCK_BYTES; i++) block[i] = (unsigned char)(i * 7 + 1);
  const char *interval_env = getenv("TCPCLIENT_INTERVAL_MS");
  if (interval_env != NULL) {
    int ms = atoi(interval_env);
    if (ms < 1 || ms > 10000) {
      fprintf(stderr, "tcpclient: TCPCLIENT_INTERVAL_MS must be 1-10000\n");
      return 2;
    }
    interval_s = ms / 1000.0;
    next_interval_s = interval_s;
  }

  long long ops = 0, bytes = 0;
  double cpu0 = cpu_s(), t0 = now_s(), end = t0 + seconds, t1;

  if (strcmp(mode, "send") == 0) {
    int fd = open_socket(&dst, 0);
    t0 = now_s();
    end = t0 + seconds;
    for (double t = t0; t < end; t = now_s()) {
      interval_tick(t - t0, bytes);
      write_all(fd, block, BLOCK_BYTES);
      bytes += BLOCK_BYTES;
      ops++;
    }
    if (shutdown(fd, SHUT_WR) != 0) die("shutdown");
    /* The discard server closes on our FIN, which it sees only after every byte before it. */
    for (;;) {
      ssize_t r = read(fd, block, BLOCK_BYTES);
      if (r == 0) break;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) die("waiting for the server's FIN");
    }
    t1 = now_s();
    close(fd);
    current_fd = -1;
  } else if (strcmp(mode, "recv") == 0) {
    int fd = open_socket(&dst, 0);
    size_t offset = 0; /* into the pattern: chargen starts every connection at its first line */
    t0 = now_s();
    end = t0 + seconds;
    for (double t = t0; t < end; t = now_s()) {
      interval_tick(t - t0, bytes);
      ssize_t r = read(fd, block, BLOCK_BYTES);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (r == 0) errno = 0;
        die("chargen read");
      }
      /* Compare in runs that stay inside the doubled pattern. */
      for (size_t done = 0; done < (size_t)r;) {
        size_t n = (size_t)r - done;
        if (n > PATTERN_BYTES) n = PATTERN_BYTES;
        if (memcmp(block + done, pattern + offset, n) != 0) {
          errno = 0;
          fprintf(stderr, "error chargen: data differs from the pattern after %lld bytes\n", bytes + (long long)done);
          return 1;
        }
        done += n;
        offset = (offset + n) % PATTERN_BYTES;
      }
      bytes += r;
      ops++;
    }
    t1 = now_s();
    close(fd); /* unread data: the kernel resets, which ends the server's side too */
    current_fd = -1;
  } else if (strcmp(mode, "echo") == 0) {
    int fd = open_socket(&dst, 1);
    t0 = now_s();
    end = t0 + seconds;
    while (ops < MAX_ECHOES && now_s() < end) {
      echo_one(fd, (unsigned char)ops);
      ops++;
    }
    t1 = now_s();
    bytes = ops;
    shutdown(fd, SHUT_WR);
    close(fd);
    current_fd = -1;
  } else if (strcmp(mode, "connect") == 0) {
    while (ops < MAX_CONNECTS && now_s() < end) {
      int fd = open_socket(&dst, 1);
      echo_one(fd, (unsigned char)ops);
      close(fd); /* an ordinary FIN close; tcpRate.ts caps this namespace's TIME-WAIT table */
      current_fd = -1;
      ops++;
    }
    t1 = now_s();
    bytes = ops;
  } else if (strcmp(mode, "udpecho") == 0) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (const struct sockaddr *)&dst, sizeof(dst)) != 0) die("connect");
    long long lost = 0;
    unsigned char out[16], in[64];
    t0 = now_s();
    end = t0 + seconds;
    while (ops < MAX_ECHOES && now_s() < end) {
      memset(out, 0, sizeof(out));
      memcpy(out, &ops, sizeof(ops));
      if (send(fd, out, sizeof(out), 0) != (ssize_t)sizeof(out)) die("udp send");
      for (;;) {
        ssize_t r = recv(fd, in, sizeof(in), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          lost++;
          break;
        }
        if (r < 0) die("udp recv");
        /* A late reply to an earlier datagram is skipped; ours ends the round trip. */
        if (r == (ssize_t)sizeof(out) && memcmp(in, out, sizeof(out)) == 0) {
          ops++;
          break;
        }
      }
      if (lost > 10) {
        errno = 0;
        die("udp echo: more than 10 datagrams lost");
      }
    }
    t1 = now_s();
    bytes = ops * (long long)sizeof(out);
    close(fd);
  } else if (strcmp(mode, "hold") == 0) {
    static int fds[HOLD_CONNECTIONS];
    /* One descriptor per connection: lift the soft limit (often 1024) to the hard one. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
      nofile.rlim_cur = nofile.rlim_max;
      setrlimit(RLIMIT_NOFILE, &nofile);
    }
    long long want = HOLD_CONNECTIONS;
    const char *hold_env = getenv("TCPCLIENT_HOLD");
    if (hold_env != NULL) {
      want = atoll(hold_env);
      if (want < 1 || want > HOLD_CONNECTIONS) {
        fprintf(stderr, "tcpclient: TCPCLIENT_HOLD must be 1-%d\n", HOLD_CONNECTIONS);
        return 2;
      }
    }
    while (ops < want && now_s() < end) {
      fds[ops] = open_socket(&dst, 1);
      current_fd = -1;
      ops++;
    }
    printf("ready held=%lld\n", ops);
    fflush(stdout);
    for (double t = now_s(); t < end; t = now_s()) {
      struct timespec pause = {0, 10 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
    for (long long i = 0; i < ops; i++) close(fds[i]);
    t1 = now_s();
  } else {
    fprintf(stderr, "tcpclient: unknown mode %s\n", mode);
    return 2;
  }
  printf("ok mode=%s ops=%lld bytes=%lld seconds=%.6f cpu=%.6f\n", mode, ops, bytes, t1 - t0, cpu_s() - cpu0);
  return 0;
}
