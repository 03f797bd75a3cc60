/* ping.c: ICMP echo after Stevens, UNIX Network Programming chapter 28,
 * written for socklab as the C twin of icmp/ping.go.
 *
 *   socket(SOCK_RAW, IPPROTO_ICMP)                 identifier: getpid() & 0xffff
 *     or (-u) socket(SOCK_DGRAM, IPPROTO_ICMP) -> bind -> getsockname -> setsockopt(IP_RECVTTL)
 *   loop { sendto(echo request) -> until the next is due:
 *          setsockopt(SO_RCVTIMEO, time left) -> recvmsg -> check } -> summary -> close
 *
 * Differences from Stevens' ping, mirrored by the Go version: one thread
 * and no SIGALRM; every reply is checked (whole headers, checksum, type,
 * identifier, source, sequence sent, data) and what fails is counted and
 * ignored; replies are timed from send times kept per sequence; output is
 * iputils ping's. SIGINT or SIGTERM ends the run with the summary: the
 * handler sets a flag and recvmsg fails with EINTR (with SO_RCVTIMEO set,
 * whatever SA_RESTART says). Only loopback destinations are pinged.
 *
 * USAGE: ping [-c count] [-i seconds] [-s size] [-W seconds] [-u] <ip>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HEADERLEN 8 /* type, code, checksum, identifier, sequence */
#define IPHEADERLEN 20
#define MAXCOUNT 10000
#define MAXSIZE (65535 - IPHEADERLEN - HEADERLEN)
#define MAXTURNS (1 << 16)

enum verdict { REPLY, REQUEST, TRUNCATED, BADCHECKSUM, FOREIGN, UNKNOWNSEQ, BADDATA, OTHER, NVERDICTS };
static const char *names[NVERDICTS] = {"reply", "request", "truncated", "bad checksum",
                                       "foreign", "unknown sequence", "bad data", "other ICMP"};

static volatile sig_atomic_t interrupted;
static unsigned char packet[HEADERLEN + MAXSIZE], buf[65536];
static long long sent[MAXCOUNT + 1]; /* send time of each sequence, ns */
static char answered[MAXCOUNT + 1];

static void die(const char *mess) { perror(mess); exit(1); }
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static void usage(const char *prog, const char *why) {
  fprintf(stderr, "%s\nUSAGE: %s [-c count] [-i seconds] [-s size] [-W seconds] [-u] <ip>\n", why, prog);
  exit(2);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* in_cksum: RFC 1071 over big-endian 16-bit words. */
static unsigned short in_cksum(const unsigned char *p, size_t len) {
  unsigned long sum = 0;
  for (; len >= 2; p += 2, len -= 2)
    sum += (unsigned long)p[0] << 8 | p[1];
  if (len == 1)
    sum += (unsigned long)p[0] << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (unsigned short)~sum;
}

static void put16(unsigned char *p, unsigned v) { p[0] = v >> 8; p[1] = v & 0xff; }
static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static void fill(unsigned char *p, size_t size, unsigned ident, unsigned seq) {
  p[0] = 8; /* ICMP_ECHO */
  p[1] = 0;
  put16(p + 2, 0);
  put16(p + 4, ident);
  put16(p + 6, seq);
  for (size_t i = 0; i < size; i++)
    p[HEADERLEN + i] = (unsigned char)i;
  put16(p + 2, in_cksum(p, HEADERLEN + size));
}

/* ip_header: the length (IHL * 4) of the IPv4 header before the ICMP
 * message, or -1 if b holds no whole one. */
static int ip_header(const unsigned char *b, size_t len) {
  if (len < IPHEADERLEN || b[0] >> 4 != 4)
    return -1;
  size_t hlen = (size_t)(b[0] & 0x0f) << 2;
  if (hlen < IPHEADERLEN || hlen > len)
    return -1;
  return (int)hlen;
}

static enum verdict inspect(const unsigned char *b, size_t len, struct in_addr src, struct in_addr dst,
                            unsigned ident, int transmitted, size_t size, int *seq) {
  if (len < HEADERLEN)
    return TRUNCATED;
  if (in_cksum(b, len) != 0)
    return BADCHECKSUM;
  if (b[0] == 8)
    return REQUEST;
  if (b[0] != 0)
    return OTHER;
  *seq = (int)get16(b + 6);
  if (get16(b + 4) != (ident & 0xffff) || src.s_addr != dst.s_addr)
    return FOREIGN;
  if (*seq < 1 || *seq > transmitted)
    return UNKNOWNSEQ;
  if (len - HEADERLEN != size)
    return BADDATA;
  for (size_t i = 0; i < size; i++)
    if (b[HEADERLEN + i] != (unsigned char)i)
      return BADDATA;
  return REPLY;
}

/* ms: microseconds as iputils prints a reply's time. */
static void ms(long long us) {
  if (us >= 100000)
    printf("%lld", us / 1000);
  else if (us >= 10000)
    printf("%lld.%01lld", us / 1000, us % 1000 / 100);
  else if (us >= 1000)
    printf("%lld.%02lld", us / 1000, us % 1000 / 10);
  else
    printf("%lld.%03lld", us / 1000, us % 1000);
}

static long long isqrt(long long a) {
  if (a <= 0)
    return 0;
  long long x = a, prev = 0;
  for (int i = 0; i < 64; i++) {
    prev = x;
    x = (x + a / x) / 2;
    if (x >= prev)
      return prev;
  }
  return x;
}

static double seconds(const char *prog, const char *s, const char *what, double min, double max) {
  char *end, why[128];
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= min && v <= max)) {
    snprintf(why, sizeof why, "invalid %s %s: want %g to %g seconds", what, s, min, max);
    usage(prog, why);
  }
  return v;
}

static long number(const char *prog, const char *s, const char *what, long min, long max) {
  char *end, why[128];
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max) {
    snprintf(why, sizeof why, "invalid %s %s: want %ld to %ld", what, s, min, max);
    usage(prog, why);
  }
  return v;
}

int main(int argc, char *argv[]) {
  int sock, opt, unprivileged = 0, count = MAXCOUNT, transmitted = 0, received = 0, dups = 0;
  int ignored[NVERDICTS] = {0};
  size_t size = 56;
  double interval = 1, linger = 10;
  unsigned ident;
  struct sockaddr_in whereto, from, local;
  socklen_t locallen = sizeof(local);
  long long tmin = 0, tmax = 0, tsum = 0, tsum2 = 0;

  while ((opt = getopt(argc, argv, "c:i:s:W:u")) != -1) {
    switch (opt) {
    case 'c': count = (int)number(argv[0], optarg, "count", 1, MAXCOUNT); break;
    case 'i': interval = seconds(argv[0], optarg, "interval", 0.01, 60); break;
    case 's': size = (size_t)number(argv[0], optarg, "size", 0, MAXSIZE); break;
    case 'W': linger = seconds(argv[0], optarg, "timeout", 0.001, 60); break;
    case 'u': unprivileged = 1; break;
    default: usage(argv[0], "unknown option");
    }
  }
  if (optind != argc - 1)
    usage(argv[0], "expected one destination");
  memset(&whereto, 0, sizeof(whereto));
  whereto.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[optind], &whereto.sin_addr) != 1)
    usage(argv[0], "not a dotted-quad IPv4 address");
  if (((unsigned char *)&whereto.sin_addr)[0] != 127)
    usage(argv[0], "not a loopback address (127.0.0.0/8)");

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal; /* no SA_RESTART */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);

  if (!unprivileged) {
    if ((sock = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)) < 0) {
      if (errno == EPERM)
        die("Failed to create raw socket (it needs CAP_NET_RAW: run as root, give the binary the "
            "capability with setcap cap_net_raw+ep, or use --unprivileged)");
      die("Failed to create raw socket");
    }
    ident = (unsigned)getpid() & 0xffff;
  } else {
    if ((sock = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)) < 0) {
      if (errno == EACCES) {
        char range[64] = "unreadable", why[320];
        FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "r");
        unsigned long lo, hi;
        if (f && fscanf(f, "%lu %lu", &lo, &hi) == 2)
          snprintf(range, sizeof range, "\"%lu %lu\"", lo, hi);
        if (f)
          fclose(f);
        unsigned g = (unsigned)getegid();
        snprintf(why, sizeof why, "Failed to create ping socket (group %u is outside net.ipv4.ping_group_range, "
                 "now %s; widen it with sysctl -w net.ipv4.ping_group_range=\"%u %u\", or use a raw socket as root)",
                 g, range, g, g);
        errno = EACCES;
        die(why);
      }
      die("Failed to create ping socket");
    }
    memset(&local, 0, sizeof(local));
    local.sin_family = AF_INET; /* INADDR_ANY, identifier 0: the kernel picks one */
    if (bind(sock, (struct sockaddr *)&local, sizeof(local)) < 0)
      die("Failed to bind ping socket");
    if (getsockname(sock, (struct sockaddr *)&local, &locallen) < 0)
      die("Failed to get socket name");
    int on = 1;
    if (setsockopt(sock, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on)) < 0)
      die("Failed to ask for the TTL");
    ident = ntohs(local.sin_port);
  }

  const char *addr = argv[optind];
  printf("PING %s (%s) %zu(%zu) bytes of data.\n", addr, addr, size, size + HEADERLEN + IPHEADERLEN);
  printf(unprivileged ? "ICMP identifier %u, chosen by the kernel for the ping socket\n"
                      : "ICMP identifier %u, from the process ID\n", ident);

  long long start = now_ns();
  for (int seq = 1; seq <= count && !interrupted; seq++) {
    fill(packet, size, ident, (unsigned)seq);
    sent[seq] = now_ns();
    if (sendto(sock, packet, HEADERLEN + size, 0, (struct sockaddr *)&whereto, sizeof(whereto)) !=
        (ssize_t)(HEADERLEN + size))
      die("Failed to send echo request");
    transmitted++;
    long long deadline = sent[seq] + (long long)((seq == count ? linger : interval) * 1e9);
    for (int turn = 0; turn < MAXTURNS; turn++) {
      if (interrupted || (seq == count && received == count))
        break;
      long long left = deadline - now_ns();
      if (left <= 0)
        break;
      long long us = (left + 999) / 1000;
      struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
      if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        die("Failed to set the receive timeout");
      char control[64];
      struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
      struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                           .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
      ssize_t n = recvmsg(sock, &msg, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break; /* the next request is due */
      if (n < 0 && errno == EINTR)
        continue; /* SIGINT or SIGTERM: the loop ends at its top */
      if (n < 0)
        die("Failed to receive message");
      unsigned char *icmp = buf;
      size_t len = (size_t)n;
      int ttl = -1, rseq = 0;
      if (unprivileged) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
          if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
            memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
      } else {
        int hlen = ip_header(buf, len);
        if (hlen < 0) {
          ignored[TRUNCATED]++;
          continue;
        }
        ttl = buf[8];
        icmp += hlen;
        len -= (size_t)hlen;
      }
      enum verdict v = inspect(icmp, len, from.sin_addr, whereto.sin_addr, ident, transmitted, size, &rseq);
      if (v != REPLY) {
        ignored[v]++;
        continue;
      }
      long long rtt = (now_ns() - sent[rseq]) / 1000;
      int dup = answered[rseq];
      answered[rseq] = 1;
      if (dup) {
        dups++;
      } else {
        if (received == 0 || rtt < tmin)
          tmin = rtt;
        if (rtt > tmax)
          tmax = rtt;
        tsum += rtt;
        tsum2 += rtt * rtt;
        received++;
      }
      printf("%zu bytes from %s: icmp_seq=%d", len, addr, rseq);
      if (ttl >= 0)
        printf(" ttl=%d", ttl);
      printf(" time=");
      ms(rtt);
      printf(" ms%s\n", dup ? " (DUP!)" : "");
    }
  }

  long long elapsed = (now_ns() - start) / 1000000;
  printf("\n--- %s ping statistics ---\n", addr);
  printf("%d packets transmitted, %d received, ", transmitted, received);
  if (dups > 0)
    printf("+%d duplicates, ", dups);
  printf("%d%% packet loss, time %lldms\n", transmitted ? (transmitted - received) * 100 / transmitted : 0, elapsed);
  if (received > 0) {
    double mean = (double)tsum / received; /* mean(x²) - mean(x)², not iputils' truncated mean */
    long long avg = tsum / received, mdev = isqrt((long long)((double)tsum2 / received - mean * mean));
    printf("rtt min/avg/max/mdev = %lld.%03lld/%lld.%03lld/%lld.%03lld/%lld.%03lld ms\n", tmin / 1000,
           tmin % 1000, avg / 1000, avg % 1000, tmax / 1000, tmax % 1000, mdev / 1000, mdev % 1000);
  }
  int nignored = 0;
  for (int v = TRUNCATED; v < NVERDICTS; v++)
    nignored += ignored[v];
  if (nignored > 0) {
    const char *sep = "ignored: ";
    for (int v = TRUNCATED; v < NVERDICTS; v++)
      if (ignored[v] > 0) {
        printf("%s%d %s", sep, ignored[v], names[v]);
        sep = ", ";
      }
    printf("\n");
  }
  close(sock);
  return received > 0 ? 0 : 1;
}
