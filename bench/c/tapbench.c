// tapbench: the plain-C baseline that bench/tapRate.ts measures walnut's TAP addon against.
//   tapbench read  TAPNAME SECONDS  attach to (or create) TAPNAME, print "ready NAME", wait for a line on stdin,
//                                   then count frames read from the first flood-sized frame for SECONDS
//                                   (poll + non-blocking read until EAGAIN, like the addon)
//   tapbench write TAPNAME COUNT    attach, "ready NAME", wait for a line, write COUNT 1514-byte UDP/IPv4 frames
//                                   (broadcast MAC, 10.77.0.2 → 10.77.0.1:9: the kernel takes them up to UDP and
//                                   drops them there — no socket, and no ICMP answer to a link-layer broadcast)
//   tapbench flood IFNAME SECONDS   run inside the namespace: send 1514-byte frames out of IFNAME with an
//                                   AF_PACKET socket (sendmmsg, qdisc bypassed) so they reach the TAP's reader
// Each mode prints one JSON line: {"mode":"read","frames":N,"seconds":S,"fps":F,"cpu":C} where cpu is this
// process's CPU seconds per wall second over the measurement. Never spends more than MAX_SECONDS measuring. Build: cc -O2 -o bench/build/tapbench bench/c/tapbench.c

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#define FRAME_BYTES 1514
#define MAX_SECONDS 3.0
#define IDLE_MS 300
#define FLOOD_BATCH 64

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "tapbench: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* User + system CPU seconds this process has used. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void report(const char *mode, uint64_t frames, double seconds, double cpu_seconds) {
  printf("{\"mode\":\"%s\",\"frames\":%llu,\"seconds\":%.6f,\"fps\":%.1f,\"cpu\":%.3f}\n", mode,
         (unsigned long long)frames, seconds, seconds > 0 ? (double)frames / seconds : 0.0,
         seconds > 0 ? cpu_seconds / seconds : 0.0);
  fflush(stdout);
}

static uint16_t ip_checksum(const uint8_t *p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* A 1514-byte Ethernet frame: UDP/IPv4 src → dst, port 9 (discard), UDP checksum 0 (none). */
static void build_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], const char *src_ip,
                        const char *dst_ip) {
  memset(f, 0, FRAME_BYTES);
  memcpy(f, dst_mac, 6);
  memcpy(f + 6, src_mac, 6);
  f[12] = 0x08, f[13] = 0x00;
  uint8_t *ip = f + 14;
  uint16_t ip_len = FRAME_BYTES - 14;
  ip[0] = 0x45;
  ip[2] = ip_len >> 8, ip[3] = ip_len & 0xff;
  ip[6] = 0x40; /* DF */
  ip[8] = 64;   /* TTL */
  ip[9] = 17;   /* UDP */
  inet_pton(AF_INET, src_ip, ip + 12);
  inet_pton(AF_INET, dst_ip, ip + 16);
  uint16_t sum = ip_checksum(ip, 20);
  ip[10] = sum >> 8, ip[11] = sum & 0xff;
  uint8_t *udp = ip + 20;
  uint16_t udp_len = ip_len - 20;
  udp[0] = 0x9c, udp[1] = 0x40; /* source port 40000 */
  udp[2] = 0x00, udp[3] = 0x09; /* destination port 9 */
  udp[4] = udp_len >> 8, udp[5] = udp_len & 0xff;
  for (size_t i = 8; i < udp_len; i++) udp[i] = (uint8_t)i;
}

/* Attach to TAPNAME (creating it if absent), non-blocking, no offloads; then the ready/go handshake. */
static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("ioctl TUNSETIFF");
  if (ioctl(fd, TUNSETOFFLOAD, 0u) < 0) die("ioctl TUNSETOFFLOAD");
  printf("ready %s\n", ifr.ifr_name);
  fflush(stdout);
  char line[64];
  if (fgets(line, sizeof line, stdin) == NULL) {
    fprintf(stderr, "tapbench: stdin closed before go\n");
    exit(1);
  }
  return fd;
}

static int run_read(const char *name, double seconds) {
  int fd = open_tap(name);
  static uint8_t buf[2048];
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  uint64_t frames = 0;
  double t_first = 0, t_last = 0, t_give_up = now_s() + 10.0, cpu_first = 0;
  int is_started = 0;
  if (seconds > MAX_SECONDS) seconds = MAX_SECONDS;
  for (;;) {
    int ready = poll(&pfd, 1, is_started ? IDLE_MS : 100);
    if (ready < 0 && errno != EINTR) die("poll");
    if (ready == 0) {
      if (is_started) break; /* the source stopped */
      if (now_s() > t_give_up) break;
      continue;
    }
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        die("read");
      }
      if (!is_started) {
        if (n != FRAME_BYTES) continue; /* kernel chatter before the flood */
        is_started = 1;
        t_first = t_last = now_s();
        cpu_first = cpu_s();
        continue;
      }
      frames++;
    }
    if (is_started) {
      t_last = now_s();
      if (t_last - t_first >= seconds) break;
    }
  }
  report("read", frames, t_last - t_first, cpu_s() - cpu_first);
  close(fd);
  return 0;
}

static int run_write(const char *name, uint64_t count) {
  int fd = open_tap(name);
  static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t board_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  static uint8_t frame[FRAME_BYTES];
  build_frame(frame, broadcast, board_mac, "10.77.0.2", "10.77.0.1");
  struct pollfd pfd = {.fd = fd, .events = POLLOUT};
  uint64_t sent = 0, failed = 0;
  double t0 = now_s(), t1 = t0, cpu0 = cpu_s();
  while (sent < count) {
    ssize_t n = write(fd, frame, FRAME_BYTES);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) {
        poll(&pfd, 1, 100);
        continue;
      }
      if (++failed > 1000) die("write");
      continue;
    }
    sent++;
    if ((sent & 4095) == 0 && (t1 = now_s()) - t0 >= MAX_SECONDS) break;
  }
  t1 = now_s();
  report("write", sent, t1 - t0, cpu_s() - cpu0);
  close(fd);
  return 0;
}

static int run_flood(const char *ifname, double seconds) {
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) die("if_nametoindex");
  int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: send only, receive nothing */
  if (s < 0) die("socket(AF_PACKET)");
  int one = 1;
  setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)ifindex;
  if (bind(s, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind(AF_PACKET)");
  static const uint8_t board_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  static const uint8_t kernel_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  static uint8_t frame[FRAME_BYTES];
  build_frame(frame, board_mac, kernel_mac, "10.77.0.1", "10.77.0.2");
  struct iovec iov = {.iov_base = frame, .iov_len = FRAME_BYTES};
  struct mmsghdr msgs[FLOOD_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < FLOOD_BATCH; i++) msgs[i].msg_hdr.msg_iov = &iov, msgs[i].msg_hdr.msg_iovlen = 1;
  if (seconds > MAX_SECONDS + 1) seconds = MAX_SECONDS + 1;
  uint64_t sent = 0;
  double t0 = now_s(), t1 = t0, cpu0 = cpu_s();
  while (t1 - t0 < seconds) {
    int n = sendmmsg(s, msgs, FLOOD_BATCH, 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;
      break; /* the TAP went away (its reader closed it): done */
    }
    sent += (uint64_t)n;
    t1 = now_s();
  }
  report("flood", sent, now_s() - t0, cpu_s() - cpu0);
  close(s);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "read") == 0) return run_read(argv[2], atof(argv[3]));
  if (argc == 4 && strcmp(argv[1], "write") == 0) return run_write(argv[2], strtoull(argv[3], NULL, 10));
  if (argc == 4 && strcmp(argv[1], "flood") == 0) return run_flood(argv[2], atof(argv[3]));
  fprintf(stderr, "usage: tapbench read TAPNAME SECONDS | write TAPNAME COUNT | flood IFNAME SECONDS\n");
  return 2;
}
