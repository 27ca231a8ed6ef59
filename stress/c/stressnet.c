/*
 * stressnet: the kernel-side programs of `npm run stress` (stress/run.ts), run inside the namespace the
 * stress run created. Every mode is bounded in time and count and prints one JSON line on stdout at the end
 * (with --hold, also one milestone line before it waits).
 *
 *   stressnet send IFNAME RATE
 *       Frames from stdin (each a 2-byte big-endian length, then the frame) written out of IFNAME, the TAP's
 *       kernel side, with an AF_PACKET socket: they reach the board exactly as given, the kernel's own ARP
 *       identity untouched. At most RATE frames a second (0: no limit), spread over each millisecond, so a
 *       burst does not overflow the TAP's queue while the board waits for a CPU. Frames the kernel refuses
 *       (shorter than an Ethernet header, longer than the MTU) are counted by errno.
 *   stressnet synflood IFNAME DSTMAC SRCMAC DSTIP DSTPORT SRCIP NSRC SECONDS
 *       TCP SYNs (MSS option, valid checksums, random source port and ISN) from NSRC consecutive source
 *       addresses starting at SRCIP, as fast as sendmmsg goes (qdisc bypassed), for SECONDS (at most 60).
 *   stressnet conns HOST PORT COUNT BYTES TIMEOUT_S INTERVAL_MS WINDOW [--hold]
 *       COUNT connections, one started every INTERVAL_MS (0: at once), at most WINDOW of them handshaking at
 *       a time; each writes BYTES of a per-connection pattern, reads them back (checking every byte), half-
 *       closes and waits for the server's FIN. With --hold every connection first only connects: once all
 *       are up (or failed), it prints {"event":"held",…}, waits for a line on stdin, then echoes its BYTES.
 *       Everything ends at TIMEOUT_S.
 *   stressnet probe HOST PORT SECONDS INTERVAL_MS CONNS [--hold]
 *       CONNS connections (TCP_NODELAY, at most 64), each sending a 1-byte echo every INTERVAL_MS (or as soon
 *       as its previous one came back, if later) for SECONDS, their schedules spread over the interval;
 *       every round trip's latency. A connection whose echo takes over 10 s is given up (the probe counted
 *       lost). With --hold it connects, prints {"event":"held",…} and waits for a line on stdin first.
 *
 * Build: cc -O2 -Wall -o stress/build/stressnet stress/c/stressnet.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_packet.h>

#define MAX_FRAME 65535
#define MAX_SECONDS 600.0
#define FLOOD_BATCH 64
#define FLOOD_MAX_SECONDS 60.0
#define PATTERN_PERIOD 65521 /* prime: the pattern never lines up with segment or buffer sizes */
#define IO_CHUNK (64 * 1024)
#define MAX_CONNS 200000
#define PROBE_MAX_WAIT_S 10.0
#define MAX_SAMPLES 1000000
#define PROBE_MAX_CONNS 64

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "stressnet: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: stressnet send IFNAME RATE | synflood IFNAME DSTMAC SRCMAC DSTIP DSTPORT SRCIP NSRC SECONDS |\n"
          "       conns HOST PORT COUNT BYTES TIMEOUT_S INTERVAL_MS WINDOW [--hold] | probe HOST PORT SECONDS INTERVAL_MS CONNS [--hold]\n");
  exit(2);
}

/* A whole number in [min, max] or usage(). */
static long arg_long(const char *text, long min, long max) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || end == text || v < min || v > max) usage();
  return v;
}

static double arg_seconds(const char *text) {
  char *end;
  double v = strtod(text, &end);
  if (*end != '\0' || end == text || !(v > 0) || v > MAX_SECONDS) usage();
  return v;
}

static void parse_mac(const char *text, uint8_t mac[6]) {
  unsigned int b[6];
  if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) usage();
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)b[i];
}

static uint32_t parse_ip(const char *text) {
  struct in_addr a;
  if (inet_pton(AF_INET, text, &a) != 1) usage();
  return ntohl(a.s_addr);
}

/* Lets this process hold as many descriptors as its hard limit allows (10 000 idle connections need it). */
static void raise_fd_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

/* An AF_PACKET socket that sends out of IFNAME and receives nothing (protocol 0), qdisc bypassed. */
static int packet_socket(const char *ifname) {
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) die("if_nametoindex");
  int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket(AF_PACKET)");
  int one = 1;
  setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)ifindex;
  if (bind(s, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind(AF_PACKET)");
  return s;
}

/* ---- send: frames from stdin ------------------------------------------------------------------------ */

static int read_full(int fd, uint8_t *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r == 0) return got == 0 ? 0 : -1; /* clean end only between records */
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 1;
}

static int run_send(const char *ifname, const char *rate_text) {
  long rate = arg_long(rate_text, 0, 100000000);
  int s = packet_socket(ifname);
  static uint8_t frame[MAX_FRAME];
  uint64_t frames = 0, sent = 0, bytes = 0, too_short = 0, too_long = 0, other = 0, no_buffers = 0;
  double t0 = now_s();
  for (;;) {
    uint8_t len_be[2];
    int r = read_full(0, len_be, 2);
    if (r == 0) break;
    if (r < 0) die("read stdin (truncated record)");
    size_t len = (size_t)len_be[0] << 8 | len_be[1];
    if (len > 0 && read_full(0, frame, len) != 1) die("read stdin (truncated frame)");
    frames++;
    if (rate > 0) {
      /* Frame n is due at t0 + n / rate; waiting in 1 ms steps keeps the syscall count low. */
      double due = t0 + (double)frames / (double)rate, now = now_s();
      if (due - now > 0.001) usleep((useconds_t)((due - now) * 1e6));
    }
    for (int attempt = 0;; attempt++) {
      if (send(s, frame, len, 0) >= 0) {
        sent++;
        bytes += len;
        break;
      }
      if (errno == EINTR) continue;
      /* The TAP's queue is full: give the reader a moment, a few times, then count the frame lost. */
      if ((errno == ENOBUFS || errno == EAGAIN) && attempt < 100) {
        usleep(100);
        continue;
      }
      if (errno == ENOBUFS || errno == EAGAIN) no_buffers++;
      else if (errno == EINVAL) too_short++; /* shorter than an Ethernet header, or empty */
      else if (errno == EMSGSIZE) too_long++;
      else other++;
      break;
    }
  }
  double t1 = now_s();
  printf("{\"mode\":\"send\",\"frames\":%llu,\"sent\":%llu,\"bytes\":%llu,\"refusedShort\":%llu,\"refusedLong\":%llu,"
         "\"noBuffers\":%llu,\"otherErrors\":%llu,\"seconds\":%.3f}\n",
         (unsigned long long)frames, (unsigned long long)sent, (unsigned long long)bytes, (unsigned long long)too_short,
         (unsigned long long)too_long, (unsigned long long)no_buffers, (unsigned long long)other, t1 - t0);
  return 0;
}

/* ---- synflood ------------------------------------------------------------------------------------- */

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t xorshift32(void) {
  uint32_t x = rng_state;
  x ^= x << 13, x ^= x >> 17, x ^= x << 5;
  return rng_state = x;
}

static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static uint32_t sum16(const uint8_t *p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (uint32_t)p[len - 1] << 8;
  return sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8, p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v; }

#define SYN_FRAME 58 /* Ethernet 14 + IPv4 20 + TCP 20 + MSS option 4 */

/* One SYN from src:sport to dst:dport with ISN seq (RFC 9293 §3.1 header, RFC 791 header, MSS 1460). */
static void build_syn(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], uint32_t src, uint32_t dst,
                      uint16_t sport, uint16_t dport, uint32_t seq, uint16_t ip_id) {
  memset(f, 0, SYN_FRAME);
  memcpy(f, dst_mac, 6);
  memcpy(f + 6, src_mac, 6);
  f[12] = 0x08, f[13] = 0x00;
  uint8_t *ip = f + 14;
  ip[0] = 0x45;
  put16(ip + 2, SYN_FRAME - 14);
  put16(ip + 4, ip_id);
  ip[6] = 0x40; /* DF */
  ip[8] = 64;
  ip[9] = 6;
  put32(ip + 12, src);
  put32(ip + 16, dst);
  put16(ip + 10, fold(sum16(ip, 20)));
  uint8_t *tcp = ip + 20;
  put16(tcp, sport);
  put16(tcp + 2, dport);
  put32(tcp + 4, seq);
  tcp[12] = 6 << 4; /* data offset: 24 bytes */
  tcp[13] = 0x02;   /* SYN */
  put16(tcp + 14, 64240);
  tcp[20] = 2, tcp[21] = 4, put16(tcp + 22, 1460); /* MSS */
  uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + 24;
  put16(tcp + 16, fold(pseudo + sum16(tcp, 24)));
}

static int run_synflood(char **a) {
  uint8_t dst_mac[6], src_mac[6];
  const char *ifname = a[0];
  parse_mac(a[1], dst_mac);
  parse_mac(a[2], src_mac);
  uint32_t dst = parse_ip(a[3]);
  uint16_t dport = (uint16_t)arg_long(a[4], 1, 65535);
  uint32_t src0 = parse_ip(a[5]);
  uint32_t nsrc = (uint32_t)arg_long(a[6], 1, 254);
  double seconds = arg_seconds(a[7]);
  if (seconds > FLOOD_MAX_SECONDS) seconds = FLOOD_MAX_SECONDS;
  int s = packet_socket(ifname);
  static uint8_t frames[FLOOD_BATCH][SYN_FRAME];
  struct iovec iov[FLOOD_BATCH];
  struct mmsghdr msgs[FLOOD_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < FLOOD_BATCH; i++) {
    iov[i].iov_base = frames[i], iov[i].iov_len = SYN_FRAME;
    msgs[i].msg_hdr.msg_iov = &iov[i], msgs[i].msg_hdr.msg_iovlen = 1;
  }
  rng_state ^= (uint32_t)getpid() * 2654435761u;
  uint64_t sent = 0, failed_batches = 0;
  uint32_t k = 0;
  double t0 = now_s(), t1 = t0;
  while (t1 - t0 < seconds) {
    for (int i = 0; i < FLOOD_BATCH; i++, k++) {
      uint16_t sport = (uint16_t)(1024 + xorshift32() % 64512);
      build_syn(frames[i], dst_mac, src_mac, src0 + k % nsrc, dst, sport, dport, xorshift32(), (uint16_t)k);
    }
    int n = sendmmsg(s, msgs, FLOOD_BATCH, 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
        failed_batches++;
      } else {
        die("sendmmsg");
      }
    } else {
      sent += (uint64_t)n;
    }
    t1 = now_s();
  }
  printf("{\"mode\":\"synflood\",\"sent\":%llu,\"seconds\":%.3f,\"fps\":%.0f,\"busyBatches\":%llu}\n", (unsigned long long)sent,
         t1 - t0, (double)sent / (t1 - t0), (unsigned long long)failed_batches);
  return 0;
}

/* ---- the per-connection byte pattern -------------------------------------------------------------- */

static uint8_t pattern[PATTERN_PERIOD + IO_CHUNK];

static void make_pattern(void) {
  uint32_t x = 0x1234567u;
  for (size_t i = 0; i < sizeof pattern; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    pattern[i] = (uint8_t)(i < PATTERN_PERIOD ? x : pattern[i - PATTERN_PERIOD]);
  }
}

/* Where connection k's byte at stream offset `at` sits in `pattern` (IO_CHUNK bytes readable from there). */
static const uint8_t *pattern_at(uint32_t k, uint64_t at) { return pattern + (at + (uint64_t)k * 977u) % PATTERN_PERIOD; }

/* ---- statistics ------------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples. */
static double percentile(const double *sorted, size_t n, double p) {
  if (n == 0) return -1;
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

static void print_ms(const char *name, double *samples, size_t n) {
  qsort(samples, n, sizeof *samples, cmp_double);
  printf("\"%s\":{\"n\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", name, n, percentile(samples, n, 50) * 1e3,
         percentile(samples, n, 99) * 1e3, n > 0 ? samples[n - 1] * 1e3 : -1.0);
}

/* ---- conns ---------------------------------------------------------------------------------------- */

enum conn_state { C_IDLE, C_CONNECTING, C_HELD, C_ECHOING, C_DONE, C_FAILED };
enum fail_reason { F_NONE, F_REFUSED, F_RESET, F_TIMEOUT, F_MISMATCH, F_EOF, F_OTHER, F_REASONS };
static const char *const FAIL_NAMES[F_REASONS] = {"none", "refused", "reset", "timeout", "mismatch", "earlyEof", "other"};

struct conn {
  int fd;
  enum conn_state state;
  enum fail_reason why;
  uint64_t sent, received;
  int write_closed;
  double started_s;
};

static enum fail_reason reason_of(int err) {
  if (err == ECONNREFUSED) return F_REFUSED;
  if (err == ECONNRESET || err == EPIPE) return F_RESET;
  if (err == ETIMEDOUT) return F_TIMEOUT;
  return F_OTHER;
}

struct conns_run {
  struct conn *c;
  uint32_t count;
  uint64_t bytes;
  int ep;
  struct sockaddr_in addr;
  uint32_t connecting, connected_total, done, failed;
  uint32_t failures[F_REASONS];
  double *connect_s;
  size_t connect_n;
  int is_hold;
  /* Starting connections: the next to start, one every interval_s from t0 (0: at once), at most window handshaking. */
  uint32_t next;
  double interval_s, t0;
  uint32_t window;
  uint8_t buf[IO_CHUNK];
};

static void finish(struct conns_run *r, uint32_t k, enum fail_reason why) {
  struct conn *c = &r->c[k];
  if (c->state == C_CONNECTING) r->connecting--;
  if (c->fd >= 0) {
    epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
  if (why == F_NONE) {
    c->state = C_DONE;
    r->done++;
  } else {
    c->state = C_FAILED;
    c->why = why;
    r->failed++;
    r->failures[why]++;
  }
}

static void watch(struct conns_run *r, uint32_t k, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.u32 = k};
  if (epoll_ctl(r->ep, EPOLL_CTL_MOD, r->c[k].fd, &ev) < 0) die("epoll_ctl MOD");
}

static void start_conn(struct conns_run *r, uint32_t k, double now) {
  struct conn *c = &r->c[k];
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    c->state = C_CONNECTING; /* counted by finish() */
    r->connecting++;
    finish(r, k, F_OTHER);
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->state = C_CONNECTING;
  c->started_s = now;
  r->connecting++;
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = k};
  if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl ADD");
  if (connect(c->fd, (struct sockaddr *)&r->addr, sizeof r->addr) < 0 && errno != EINPROGRESS) finish(r, k, reason_of(errno));
}

/* Data phase: write what is left (then half-close), read and check what came back; FIN after all → done. */
static void pump(struct conns_run *r, uint32_t k, uint32_t events) {
  struct conn *c = &r->c[k];
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    while (c->sent < r->bytes) {
      size_t n = r->bytes - c->sent < IO_CHUNK ? (size_t)(r->bytes - c->sent) : IO_CHUNK;
      ssize_t w = send(c->fd, pattern_at(k, c->sent), n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        finish(r, k, reason_of(errno));
        return;
      }
      c->sent += (uint64_t)w;
    }
    if (c->sent == r->bytes && !c->write_closed) {
      shutdown(c->fd, SHUT_WR);
      c->write_closed = 1;
    }
  }
  for (;;) {
    ssize_t n = recv(c->fd, r->buf, sizeof r->buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      finish(r, k, reason_of(errno));
      return;
    }
    if (n == 0) {
      finish(r, k, c->received == r->bytes ? F_NONE : F_EOF);
      return;
    }
    if (c->received + (uint64_t)n > r->bytes || memcmp(r->buf, pattern_at(k, c->received), (size_t)n) != 0) {
      finish(r, k, F_MISMATCH);
      return;
    }
    c->received += (uint64_t)n;
  }
  watch(r, k, EPOLLIN | (c->sent < r->bytes ? EPOLLOUT : 0));
}

static void on_event(struct conns_run *r, uint32_t k, uint32_t events, double now) {
  struct conn *c = &r->c[k];
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      finish(r, k, reason_of(err));
      return;
    }
    if (!(events & EPOLLOUT)) return;
    r->connecting--;
    r->connected_total++;
    if (r->connect_n < r->count) r->connect_s[r->connect_n++] = now - c->started_s;
    if (r->is_hold) {
      c->state = C_HELD;
      watch(r, k, EPOLLIN | EPOLLRDHUP); /* an idle connection only wakes up if the board resets or closes it */
      return;
    }
    c->state = C_ECHOING;
    pump(r, k, EPOLLOUT);
    return;
  }
  if (c->state == C_HELD) {
    /* Anything on a held connection before its echo is a failure: a reset, a FIN, or stray data. */
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    finish(r, k, err != 0 ? reason_of(err) : F_EOF);
    return;
  }
  if (c->state == C_ECHOING) pump(r, k, events);
}

/* Runs the connections until should_stop() or the deadline; starts new ones only when may_start. */
static void run_loop(struct conns_run *r, double deadline, int (*should_stop)(struct conns_run *), int may_start) {
  struct epoll_event evs[256];
  for (;;) {
    double now = now_s();
    while (may_start && r->next < r->count && r->connecting < r->window &&
           (r->interval_s <= 0 || now >= r->t0 + r->interval_s * r->next)) {
      start_conn(r, r->next, now);
      r->next++;
    }
    if (should_stop(r) || now >= deadline) return;
    int wait_ms = 50;
    if (may_start && r->next < r->count && r->interval_s > 0) {
      double due = r->t0 + r->interval_s * r->next - now;
      if (due * 1000 < wait_ms) wait_ms = due > 0 ? (int)(due * 1000) + 1 : 0;
    }
    int n = epoll_wait(r->ep, evs, 256, wait_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    now = now_s();
    for (int i = 0; i < n; i++) on_event(r, evs[i].data.u32, evs[i].events, now);
  }
}

static int all_settled(struct conns_run *r) { return r->done + r->failed == r->count; }

/* Every connection started, and none still handshaking. */
static int all_up_or_failed(struct conns_run *r) { return r->next == r->count && r->connecting == 0; }

/* For a quiet look that runs to its deadline (r is never NULL). */
static int never(struct conns_run *r) { return r == NULL; }

static int run_conns(int argc, char **a) {
  struct conns_run *r = calloc(1, sizeof *r);
  if (r == NULL) die("calloc");
  const char *host = a[0];
  uint16_t port = (uint16_t)arg_long(a[1], 1, 65535);
  r->count = (uint32_t)arg_long(a[2], 1, MAX_CONNS);
  r->bytes = (uint64_t)arg_long(a[3], 0, 1L << 34);
  double timeout_s = arg_seconds(a[4]);
  r->interval_s = (double)arg_long(a[5], 0, 60000) / 1000.0;
  r->window = (uint32_t)arg_long(a[6], 1, MAX_CONNS);
  r->is_hold = argc > 7 && strcmp(a[7], "--hold") == 0;
  if (argc > 7 && !r->is_hold) usage();
  raise_fd_limit();
  make_pattern();
  r->c = calloc(r->count, sizeof *r->c);
  r->connect_s = calloc(r->count, sizeof *r->connect_s);
  if (r->c == NULL || r->connect_s == NULL) die("calloc");
  for (uint32_t k = 0; k < r->count; k++) r->c[k].fd = -1;
  r->ep = epoll_create1(EPOLL_CLOEXEC);
  if (r->ep < 0) die("epoll_create1");
  r->addr.sin_family = AF_INET;
  r->addr.sin_port = htons(port);
  r->addr.sin_addr.s_addr = htonl(parse_ip(host));
  r->t0 = now_s();
  double deadline = r->t0 + timeout_s;
  double held_s = -1;
  uint32_t held = 0;
  if (r->is_hold) {
    run_loop(r, deadline, all_up_or_failed, 1);
    /* Anything the board did to a held connection (reset, FIN) shows in a short quiet look. */
    run_loop(r, now_s() + 0.5 < deadline ? now_s() + 0.5 : deadline, never, 0);
    for (uint32_t k = 0; k < r->count; k++) held += r->c[k].state == C_HELD;
    held_s = now_s() - r->t0;
    printf("{\"event\":\"held\",\"held\":%u,\"failed\":%u,\"seconds\":%.3f}\n", held, r->count - held, held_s);
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL) { /* the driver went away: echo at once */ }
    double now = now_s();
    for (uint32_t k = 0; k < r->count; k++) {
      if (r->c[k].state != C_HELD) continue;
      r->c[k].state = C_ECHOING;
      r->c[k].started_s = now;
      pump(r, k, EPOLLOUT);
    }
  }
  run_loop(r, deadline, all_settled, 1);
  double t1 = now_s();
  for (uint32_t k = 0; k < r->count; k++) {
    if (r->c[k].state == C_DONE || r->c[k].state == C_FAILED) continue;
    if (r->c[k].state == C_IDLE) r->c[k].state = C_CONNECTING, r->connecting++; /* never started: a timeout too */
    finish(r, k, F_TIMEOUT);
  }
  printf("{\"mode\":\"conns\",\"count\":%u,\"bytes\":%llu,\"connected\":%u,\"intact\":%u,", r->count,
         (unsigned long long)r->bytes, r->connected_total, r->done);
  if (r->is_hold) printf("\"held\":%u,\"heldSeconds\":%.3f,", held, held_s);
  printf("\"failures\":{");
  int first = 1;
  for (int f = 1; f < F_REASONS; f++) {
    if (r->failures[f] == 0) continue;
    printf("%s\"%s\":%u", first ? "" : ",", FAIL_NAMES[f], r->failures[f]);
    first = 0;
  }
  printf("},");
  print_ms("connectMs", r->connect_s, r->connect_n);
  printf(",\"seconds\":%.3f}\n", t1 - r->t0);
  return 0;
}

/* ---- probe ---------------------------------------------------------------------------------------- */

struct prober {
  int fd;
  int is_waiting;    /* a byte is out, its echo not back */
  uint8_t byte;      /* the byte out */
  double sent_s;     /* when it went */
  double due_s;      /* when the next goes */
};

static int run_probe(int argc, char **a) {
  const char *host = a[0];
  uint16_t port = (uint16_t)arg_long(a[1], 1, 65535);
  double seconds = arg_seconds(a[2]);
  double interval_s = (double)arg_long(a[3], 1, 60000) / 1000.0;
  int nconn = (int)arg_long(a[4], 1, PROBE_MAX_CONNS);
  int is_hold = argc > 5;
  if (is_hold && strcmp(a[5], "--hold") != 0) usage();
  struct prober pr[PROBE_MAX_CONNS];
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(parse_ip(host))};
  for (int i = 0; i < nconn; i++) {
    memset(&pr[i], 0, sizeof pr[i]);
    pr[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (pr[i].fd < 0) die("socket");
    int one = 1;
    setsockopt(pr[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(pr[i].fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
      printf("{\"mode\":\"probe\",\"rttMs\":{\"n\":0,\"p50\":-1,\"p99\":-1,\"max\":-1},\"lost\":0,\"error\":\"connect: %s\"}\n",
             strerror(errno));
      return 0;
    }
  }
  if (is_hold) {
    printf("{\"event\":\"held\",\"held\":%d,\"failed\":0,\"seconds\":0}\n", nconn);
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL) { /* the driver went away: probe at once */ }
  }
  size_t cap = (size_t)((double)nconn * seconds / interval_s) + (size_t)nconn + 2;
  if (cap > MAX_SAMPLES) cap = MAX_SAMPLES;
  double *rtt = calloc(cap, sizeof *rtt);
  if (rtt == NULL) die("calloc");
  size_t n = 0;
  uint64_t lost = 0;
  const char *error = NULL;
  double t0 = now_s(), end_s = t0 + seconds;
  /* Spread the connections' schedules over one interval. */
  for (int i = 0; i < nconn; i++) pr[i].due_s = t0 + interval_s * i / nconn;
  struct pollfd pfd[PROBE_MAX_CONNS];
  for (;;) {
    double now = now_s();
    int waiting = 0;
    double next_s = now + 1.0;
    for (int i = 0; i < nconn; i++) {
      struct prober *p = &pr[i];
      if (p->fd < 0) continue;
      if (!p->is_waiting && now < end_s && now >= p->due_s && n < cap) {
        p->byte++;
        p->sent_s = now;
        if (send(p->fd, &p->byte, 1, MSG_NOSIGNAL) != 1) {
          error = "send failed";
          close(p->fd), p->fd = -1;
          continue;
        }
        p->is_waiting = 1;
      }
      if (p->is_waiting && now - p->sent_s > PROBE_MAX_WAIT_S) {
        /* No echo in 10 s: that connection is given up, its probe counted lost. */
        lost++;
        close(p->fd), p->fd = -1;
        continue;
      }
      if (p->is_waiting) waiting++;
      else if (now < end_s && p->due_s < next_s) next_s = p->due_s;
    }
    if (now >= end_s && waiting == 0) break;
    int nfds = 0, map[PROBE_MAX_CONNS];
    for (int i = 0; i < nconn; i++) {
      if (pr[i].fd < 0 || !pr[i].is_waiting) continue;
      pfd[nfds].fd = pr[i].fd, pfd[nfds].events = POLLIN, pfd[nfds].revents = 0;
      map[nfds++] = i;
    }
    int wait_ms = (int)((next_s - now) * 1000);
    if (wait_ms < 0) wait_ms = 0;
    if (wait_ms > 100) wait_ms = 100;
    if (nfds == 0 && now >= end_s) break;
    int ready = poll(pfd, (nfds_t)nfds, wait_ms);
    if (ready < 0 && errno != EINTR) die("poll");
    now = now_s();
    for (int j = 0; j < nfds && ready > 0; j++) {
      if (pfd[j].revents == 0) continue;
      struct prober *p = &pr[map[j]];
      uint8_t back;
      ssize_t r = recv(p->fd, &back, 1, MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r != 1 || back != p->byte) {
        error = r == 0 ? "connection closed" : r < 0 ? "recv failed" : "wrong byte";
        close(p->fd), p->fd = -1;
        continue;
      }
      rtt[n++] = now - p->sent_s;
      p->is_waiting = 0;
      /* A late echo does not queue probes up: the next one goes an interval after the last, or now. */
      p->due_s = p->due_s + interval_s > now ? p->due_s + interval_s : now;
    }
  }
  for (int i = 0; i < nconn; i++)
    if (pr[i].fd >= 0) close(pr[i].fd);
  printf("{\"mode\":\"probe\",");
  print_ms("rttMs", rtt, n);
  printf(",\"lost\":%llu", (unsigned long long)lost);
  if (error != NULL) printf(",\"error\":\"%s\"", error);
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "send") == 0) return run_send(argv[2], argv[3]);
  if (argc == 10 && strcmp(argv[1], "synflood") == 0) return run_synflood(argv + 2);
  if ((argc == 9 || argc == 10) && strcmp(argv[1], "conns") == 0) return run_conns(argc - 2, argv + 2);
  if ((argc == 7 || argc == 8) && strcmp(argv[1], "probe") == 0) return run_probe(argc - 2, argv + 2);
  usage();
  return 2;
}
