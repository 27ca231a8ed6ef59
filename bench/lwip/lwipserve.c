/*
 * lwIP 2.1.3 (Debian's liblwip, the unix port) serving TCP echo 7, discard 9 and chargen 19, and UDP echo 7,
 * on an existing, addressed, up TAP, for bench/tcpRate.ts: the "lwIP" column of the TCP table. Built by bench/lwip/build.sh
 * (called from the bench, cached in bench/build/), run inside the bench's client namespace:
 *
 *   lwipserve TAP IP NETMASK MAX_SECONDS
 *
 * Debian's library is built with NO_SYS=0: tcpip_init() starts the tcpip thread (timers, input messages) and
 * tapif_init() starts a thread that reads the TAP and passes frames through tcpip_input(). All raw-API calls
 * below run in the tcpip thread (callbacks) or with the core lock held (set-up). Prints "ready" on stdout once
 * listening; exits on SIGTERM/SIGINT, after MAX_SECONDS, or when the TAP goes away (tapif exits on a read
 * error). Prints its counters to stderr on exit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/mem.h"
#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/udp.h"
#include "lwip/netif.h"
#include "netif/etharp.h"
#include "netif/tapif.h"

/*
 * docs/measurements.md "Linking Debian's lwIP": glibc's <netinet/tcp.h> defines TCP_MSS 512, which wins over lwIP's
 * 1460 in the library files that include socket headers, so the library's memp.c sizes PBUF_POOL buffers for
 * 512 while pbuf.c fills them up to ~1536 bytes: the first full-size frame corrupts the heap (glibc sysmalloc
 * assertion). This file includes no socket header of glibc's that defines TCP_MSS, so here it is lwIP's own.
 */
#if TCP_MSS != 1460
#error "TCP_MSS is not lwIP's 1460 here: a glibc header overrode it; the pool size below would be wrong"
#endif

/* One PBUF_POOL element as pbuf.c uses it (struct pbuf, then PBUF_POOL_BUFSIZE bytes), plus slack. */
#define POOL_ELEMENT_BYTES \
  (LWIP_MEM_ALIGN_SIZE(sizeof(struct pbuf)) + LWIP_MEM_ALIGN_SIZE(PBUF_POOL_BUFSIZE) + 64)

static void *(*library_memp_malloc)(memp_t type);
static unsigned long pool_allocs;

/*
 * Interposes the library's memp_malloc (its pbuf_alloc calls it through the PLT; this executable exports the
 * symbol): PBUF_POOL elements get the size pbuf.c needs, every other type goes to the library's own. With
 * MEMP_MEM_MALLOC the library's memp_free is mem_free(mem - MEMP_SIZE), i.e. free(), so both match.
 */
void *memp_malloc(memp_t type) {
  if (type == MEMP_PBUF_POOL) {
    pool_allocs++;
    void *mem = mem_malloc(MEMP_SIZE + POOL_ELEMENT_BYTES);
    return mem == NULL ? NULL : (u8_t *)mem + MEMP_SIZE;
  }
  if (library_memp_malloc == NULL) library_memp_malloc = (void *(*)(memp_t))dlsym(RTLD_NEXT, "memp_malloc");
  return library_memp_malloc(type);
}

/* ---- services ---------------------------------------------------------------------------------------- */

enum service { ECHO = 7, DISCARD = 9, CHARGEN = 19 };

/* RFC 864 as walnut's src/apps/services.ts sends it: 95 lines of 72 printable characters + CRLF, twice
 * over, so that any offset into the first copy starts a contiguous run of PATTERN_BYTES. */
#define PATTERN_BYTES (95 * 74)
static u8_t pattern[2 * PATTERN_BYTES];

struct conn {
  enum service service;
  struct tcp_pcb *pcb;
  struct pbuf *pending; /* echo: received, not yet queued for sending (window not yet reopened for it) */
  u16_t pending_offset; /* echo: bytes of pending's first pbuf already queued */
  u32_t chargen_offset;
  int peer_closed;
};

static unsigned long stat_accepted, stat_closed, stat_errors, stat_rx_bytes, stat_tx_bytes;

static void conn_free(struct conn *c) {
  if (c->pending != NULL) pbuf_free(c->pending);
  free(c);
}

static void conn_close(struct conn *c) {
  struct tcp_pcb *pcb = c->pcb;
  tcp_arg(pcb, NULL);
  tcp_recv(pcb, NULL);
  tcp_sent(pcb, NULL);
  tcp_err(pcb, NULL);
  tcp_poll(pcb, NULL, 0);
  conn_free(c);
  stat_closed++;
  if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
}

/* echo: queue as much pending data as the send buffer takes, and open the window by as much. */
static void echo_pump(struct conn *c) {
  struct tcp_pcb *pcb = c->pcb;
  int queued = 0;
  while (c->pending != NULL) {
    struct pbuf *q = c->pending;
    u16_t chunk = (u16_t)(q->len - c->pending_offset);
    u16_t room = tcp_sndbuf(pcb);
    if (chunk > room) chunk = room;
    if (chunk == 0) break;
    if (tcp_write(pcb, (u8_t *)q->payload + c->pending_offset, chunk, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
    queued = 1;
    stat_tx_bytes += chunk;
    tcp_recved(pcb, chunk);
    c->pending_offset = (u16_t)(c->pending_offset + chunk);
    if (c->pending_offset == q->len) {
      c->pending = q->next;
      c->pending_offset = 0;
      if (q->next != NULL) pbuf_ref(q->next);
      pbuf_free(q); /* frees q alone: its successor holds the reference taken above */
    }
  }
  if (queued) tcp_output(pcb);
  if (c->peer_closed && c->pending == NULL) conn_close(c);
}

/* chargen: keep the send buffer full of the pattern. */
static void chargen_fill(struct conn *c) {
  struct tcp_pcb *pcb = c->pcb;
  int queued = 0;
  for (int guard = 0; guard < 64; guard++) {
    u16_t room = tcp_sndbuf(pcb);
    if (room == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN) break;
    u16_t chunk = room < PATTERN_BYTES ? room : PATTERN_BYTES;
    if (tcp_write(pcb, pattern + c->chargen_offset, chunk, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
    queued = 1;
    stat_tx_bytes += chunk;
    c->chargen_offset = (c->chargen_offset + chunk) % PATTERN_BYTES;
  }
  if (queued) tcp_output(pcb);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  struct conn *c = (struct conn *)arg;
  (void)err;
  if (c == NULL) {
    if (p != NULL) {
      tcp_recved(pcb, p->tot_len);
      pbuf_free(p);
    }
    return ERR_OK;
  }
  if (p == NULL) { /* the peer's FIN */
    c->peer_closed = 1;
    if (c->service == ECHO) echo_pump(c);
    else conn_close(c);
    return ERR_OK;
  }
  stat_rx_bytes += p->tot_len;
  if (c->service == ECHO) {
    if (c->pending == NULL) c->pending = p;
    else pbuf_cat(c->pending, p);
    echo_pump(c);
  } else {
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
  }
  return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  struct conn *c = (struct conn *)arg;
  (void)pcb;
  (void)len;
  if (c == NULL) return ERR_OK;
  if (c->service == ECHO) echo_pump(c);
  else if (c->service == CHARGEN) chargen_fill(c);
  return ERR_OK;
}

/* Retries what tcp_write refused (ERR_MEM with nothing in flight gets no sent callback). */
static err_t on_poll(void *arg, struct tcp_pcb *pcb) {
  return on_sent(arg, pcb, 0);
}

static void on_error(void *arg, err_t err) {
  struct conn *c = (struct conn *)arg;
  (void)err;
  stat_errors++;
  if (c != NULL) conn_free(c); /* lwIP has already freed the pcb */
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  struct conn *c = (struct conn *)calloc(1, sizeof(*c));
  if (c == NULL) return ERR_MEM;
  c->service = (enum service)(uintptr_t)arg;
  c->pcb = pcb;
  stat_accepted++;
  tcp_arg(pcb, c);
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_error);
  tcp_poll(pcb, on_poll, 2);
  if (c->service == CHARGEN) chargen_fill(c);
  return ERR_OK;
}

/* UDP echo (RFC 862): each datagram back to its sender, in the received pbuf (udp_sendto prepends the
 * headers in the pbuf's own headroom, as lwIP's contrib udpecho_raw does). Runs on the tcpip thread. */
static unsigned long stat_udp_echoed;

static void on_udp_echo(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port) {
  (void)arg;
  if (p == NULL) return;
  if (udp_sendto(pcb, p, addr, port) == ERR_OK) stat_udp_echoed++;
  pbuf_free(p);
}

static int udp_echo_on(u16_t port) {
  struct udp_pcb *pcb = udp_new();
  if (pcb == NULL || udp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) return -1;
  udp_recv(pcb, on_udp_echo, NULL);
  return 0;
}

static int listen_on(u16_t port) {
  struct tcp_pcb *pcb = tcp_new();
  if (pcb == NULL || tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) return -1;
  struct tcp_pcb *listener = tcp_listen_with_backlog(pcb, 16);
  if (listener == NULL) return -1;
  tcp_arg(listener, (void *)(uintptr_t)port);
  tcp_accept(listener, on_accept);
  return 0;
}

/* ---- main -------------------------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int parse_ip4(const char *text, ip4_addr_t *out) {
  struct in_addr a;
  if (inet_pton(AF_INET, text, &a) != 1) return -1;
  ip4_addr_set_u32(out, a.s_addr);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: lwipserve TAP IP NETMASK MAX_SECONDS\n");
    return 2;
  }
  ip4_addr_t ip, netmask, gw;
  int max_seconds = atoi(argv[4]);
  if (parse_ip4(argv[2], &ip) != 0 || parse_ip4(argv[3], &netmask) != 0 || max_seconds <= 0) {
    fprintf(stderr, "lwipserve: bad address or MAX_SECONDS\n");
    return 2;
  }
  ip4_addr_set_zero(&gw);
  for (int i = 0; i < PATTERN_BYTES; i++) {
    int line = i / 74, col = i % 74;
    pattern[i] = (u8_t)(col < 72 ? 32 + (line + col) % 95 : col == 72 ? 13 : 10);
  }
  memcpy(pattern + PATTERN_BYTES, pattern, PATTERN_BYTES);
  /* tapif attaches to this existing TAP and runs no ifconfig (docs/measurements.md: it must already be addressed, up). */
  setenv("PRECONFIGURED_TAPIF", argv[1], 1);

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  tcpip_init(NULL, NULL); /* runs lwip_init() here, then starts the tcpip thread */
  static struct netif netif;
  LOCK_TCPIP_CORE();
  if (netif_add(&netif, &ip, &netmask, &gw, NULL, tapif_init, tcpip_input) == NULL) {
    UNLOCK_TCPIP_CORE();
    fprintf(stderr, "lwipserve: netif_add failed\n");
    return 1;
  }
  netif_set_default(&netif);
  netif_set_up(&netif);
  int ok = listen_on(ECHO) == 0 && listen_on(DISCARD) == 0 && listen_on(CHARGEN) == 0 && udp_echo_on(ECHO) == 0;
  UNLOCK_TCPIP_CORE();
  if (!ok) {
    fprintf(stderr, "lwipserve: cannot listen\n");
    return 1;
  }
  printf("ready lwIP %s mss %d wnd %d pool-element %d\n", LWIP_VERSION_STRING, TCP_MSS, TCP_WND,
         (int)POOL_ELEMENT_BYTES);
  fflush(stdout);

  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!stop_requested) {
    usleep(50 * 1000);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= max_seconds) break;
  }
  LOCK_TCPIP_CORE();
  fprintf(stderr, "lwipserve: accepted %lu closed %lu errors %lu rx %lu B tx %lu B pool-allocs %lu udp-echoed %lu\n",
          stat_accepted, stat_closed, stat_errors, stat_rx_bytes, stat_tx_bytes, pool_allocs, stat_udp_echoed);
  UNLOCK_TCPIP_CORE();
  return 0;
}
