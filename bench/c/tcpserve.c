/*
 * The Linux-kernel target of bench/tcpRate.ts: a single-threaded epoll server, run inside the bench's "kernel"
 * namespace, serving TCP echo 7, discard 9 and chargen 19 with the same semantics as walnut's
 * src/apps/services.ts and bench/lwip/lwipserve.c (chargen: the same RFC 864 pattern from its first line;
 * echo and discard close after the peer's FIN), and UDP echo 7 (RFC 862: every datagram back to its sender,
 * as src/apps/udpServices.ts does). C, not Python, so the server is not the limit.
 *
 *   tcpserve MAX_SECONDS       prints "ready" once listening; exits on SIGTERM/SIGINT or after MAX_SECONDS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_BYTES (95 * 74)
/* chargen writes up to CHARGEN_WRITE_BYTES per write() (a single 7030-byte pattern per call made the
 * server, not TCP, the limit), from a buffer holding the pattern CHARGEN_COPIES times. */
#define CHARGEN_COPIES 10
#define CHARGEN_WRITE_BYTES ((CHARGEN_COPIES - 1) * PATTERN_BYTES)
#define BUF_BYTES (256 * 1024)
#define MAX_EVENTS 64

enum service { ECHO = 7, DISCARD = 9, CHARGEN = 19 };

struct conn {
  int fd;
  enum service service;
  int is_listener;
  int is_udp; /* the UDP echo socket (service ECHO) */
  size_t chargen_offset;
  unsigned char *pending; /* echo: bytes read but not yet written */
  size_t pending_start, pending_end;
};

static unsigned char pattern[CHARGEN_COPIES * PATTERN_BYTES];
static unsigned char scratch[BUF_BYTES];
static int epfd;
static volatile sig_atomic_t stop_requested;
static unsigned long stat_accepted, stat_closed, stat_udp_echoed;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void watch(struct conn *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(epfd, op, c->fd, &ev) != 0) {
    perror("tcpserve: epoll_ctl");
    exit(1);
  }
}

static void conn_close(struct conn *c) {
  close(c->fd); /* also removes it from the epoll set */
  free(c->pending);
  free(c);
  stat_closed++;
}

static void listen_on(enum service port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0) {
    perror("tcpserve: bind/listen");
    exit(1);
  }
  struct conn *c = calloc(1, sizeof(*c));
  c->fd = fd;
  c->service = port;
  c->is_listener = 1;
  watch(c, EPOLLIN, EPOLL_CTL_ADD);
}

/* UDP echo 7: a non-blocking datagram socket in the same epoll set. */
static void udp_echo_on(enum service port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    perror("tcpserve: udp bind");
    exit(1);
  }
  struct conn *c = calloc(1, sizeof(*c));
  c->fd = fd;
  c->service = port;
  c->is_udp = 1;
  watch(c, EPOLLIN, EPOLL_CTL_ADD);
}

/* Answers every queued datagram with itself; one that cannot be sent now is dropped, as UDP may. */
static void udp_echo_all(struct conn *c) {
  for (int guard = 0; guard < 64; guard++) {
    struct sockaddr_in from;
    socklen_t from_len = sizeof(from);
    ssize_t r = recvfrom(c->fd, scratch, BUF_BYTES, 0, (struct sockaddr *)&from, &from_len);
    if (r < 0) return;
    if (sendto(c->fd, scratch, (size_t)r, 0, (struct sockaddr *)&from, from_len) == r) stat_udp_echoed++;
  }
}

static void accept_all(struct conn *l) {
  for (;;) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK);
    if (fd < 0) return;
    struct conn *c = calloc(1, sizeof(*c));
    c->fd = fd;
    c->service = l->service;
    if (c->service == ECHO) c->pending = malloc(BUF_BYTES);
    stat_accepted++;
    watch(c, c->service == CHARGEN ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_ADD);
  }
}

/* Returns 0 when the connection was closed. */
static int serve(struct conn *c, uint32_t events) {
  if (c->service == CHARGEN) {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      ssize_t r = read(c->fd, scratch, BUF_BYTES);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        conn_close(c);
        return 0;
      }
    }
    for (int guard = 0; guard < 64; guard++) {
      ssize_t w = write(c->fd, pattern + c->chargen_offset, CHARGEN_WRITE_BYTES);
      if (w < 0 && errno == EAGAIN) break;
      if (w <= 0) {
        conn_close(c);
        return 0;
      }
      c->chargen_offset = (c->chargen_offset + (size_t)w) % PATTERN_BYTES;
    }
    return 1;
  }
  if (c->service == DISCARD) {
    for (int guard = 0; guard < 64; guard++) {
      ssize_t r = read(c->fd, scratch, BUF_BYTES);
      if (r < 0 && errno == EAGAIN) return 1;
      if (r <= 0) {
        conn_close(c);
        return 0;
      }
    }
    return 1;
  }
  /* echo: read only when nothing is waiting to be written (back-pressure on the sender's window). */
  for (int guard = 0; guard < 64; guard++) {
    if (c->pending_start < c->pending_end) {
      ssize_t w = write(c->fd, c->pending + c->pending_start, c->pending_end - c->pending_start);
      if (w < 0 && errno == EAGAIN) {
        watch(c, EPOLLOUT, EPOLL_CTL_MOD);
        return 1;
      }
      if (w <= 0) {
        conn_close(c);
        return 0;
      }
      c->pending_start += (size_t)w;
      if (c->pending_start < c->pending_end) continue;
      watch(c, EPOLLIN, EPOLL_CTL_MOD);
    }
    ssize_t r = read(c->fd, c->pending, BUF_BYTES);
    if (r < 0 && errno == EAGAIN) return 1;
    if (r <= 0) {
      conn_close(c);
      return 0;
    }
    c->pending_start = 0;
    c->pending_end = (size_t)r;
  }
  return 1;
}

int main(int argc, char **argv) {
  int max_seconds = argc == 2 ? atoi(argv[1]) : 0;
  if (max_seconds <= 0) {
    fprintf(stderr, "usage: tcpserve MAX_SECONDS\n");
    return 2;
  }
  for (int i = 0; i < PATTERN_BYTES; i++) {
    int line = i / 74, col = i % 74;
    pattern[i] = (unsigned char)(col < 72 ? 32 + (line + col) % 95 : col == 72 ? 13 : 10);
  }
  for (int k = 1; k < CHARGEN_COPIES; k++) memcpy(pattern + k * PATTERN_BYTES, pattern, PATTERN_BYTES);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  epfd = epoll_create1(0);
  listen_on(ECHO);
  listen_on(DISCARD);
  listen_on(CHARGEN);
  udp_echo_on(ECHO);
  printf("ready\n");
  fflush(stdout);

  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  struct epoll_event events[MAX_EVENTS];
  while (!stop_requested) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, 200);
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (c->is_listener) accept_all(c);
      else if (c->is_udp) udp_echo_all(c);
      else serve(c, events[i].events);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= max_seconds) break;
  }
  fprintf(stderr, "tcpserve: accepted %lu closed %lu udp-echoed %lu\n", stat_accepted, stat_closed, stat_udp_echoed);
  return 0;
}
