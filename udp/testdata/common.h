/* common.h: what socklab's UDP server twins share, the C side of
 * udp/echo_server.go's Listen and udp/lengthy.go's report and reply:
 *
 *   die             perror and exit(1), as the tutorial's Die
 *   catch_signals   SIGINT, SIGTERM and SIGHUP set stop; no SA_RESTART, so a
 *                   blocked recvfrom or epoll_wait fails with EINTR;
 *                   SIGPIPE ignored, so a closed stderr costs the reports
 *                   only (a stalled one blocks the server in write)
 *   shutdown_on_signal  from then on the handler also shuts the socket down
 *                   for reading, as StopLengthy does, which wakes every
 *                   process blocked in recvfrom on it (prefork's workers)
 *   catch_sigchld   SIGCHLD reaps (waitpid(-1, WNOHANG)) and counts down
 *                   the live children; SA_RESTART, so recvfrom goes on
 *   bind_on         socket, bind INADDR_ANY:port; for port 0 getsockname
 *                   and "Listening on port N" (udp.Listen and announce)
 *   connected       "Client connected: IP", unless SOCKLAB_QUIET is set
 *                   (the Go version's --quiet)
 *   truncated       a datagram longer than the buffer (MSG_TRUNC's length)
 *   dropped         a request over max_children, with the running count
 *   sleep_ms        the lengthy action's sleep: nanosleep, resumed after a
 *                   signal, so a request in progress is finished as in Go
 *   reply           the end of the lengthy action: toupper, then sendto
 *                   with MSG_DONTWAIT, reported when short or failed
 *   refused         the echo-loop guard of udp/guard.go: a datagram from a
 *                   reserved port, the server's own port, 0/8, 224/4 or
 *                   240/4, or over SOCKLAB_RATE replies a second to one
 *                   address, is dropped and counted, reported at most once
 *                   a second; SOCKLAB_NO_LOOP_GUARD (--no-loop-guard) turns
 *                   it off. guard_flush reports the rest at exit
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUFFSIZE 255

static volatile sig_atomic_t stop;
static volatile sig_atomic_t stop_sock = -1; /* shut down by on_signal when set */
static volatile sig_atomic_t children;       /* forked and not yet reaped */
static int guard_port;                        /* the server's own port, set by bind_on */

static inline void on_signal(int sig) {
  int saved = errno;
  (void)sig;
  stop = 1;
  if (stop_sock >= 0)
    shutdown(stop_sock, SHUT_RD); /* async-signal-safe, signal-safety(7) */
  errno = saved;
}

/* from now on a signal shuts sock down; one caught before is applied now */
static inline void shutdown_on_signal(int sock) {
  stop_sock = sock;
  if (stop)
    shutdown(sock, SHUT_RD);
}

static inline void die(const char *mess) { perror(mess); exit(1); }

static inline void catch_signals(void) {
  struct sigaction sa;
  signal(SIGPIPE, SIG_IGN); /* a closed stderr costs the reports, not the server */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocked call fails with EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL); /* a closed terminal stops the server too, with cleanup */
}

/* waits for the children that have ended (WNOHANG) or for all (0) */
static inline void reap(int options) {
  int status, saved = errno;
  pid_t pid;
  while ((pid = waitpid(-1, &status, options)) > 0 || (pid < 0 && errno == EINTR)) {
    if (pid < 0)
      continue;
    children--;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      /* not async-signal-safe in general; the parent's stdio is idle here */
      static const char msg[] = "A child failed to send its reply\n";
      write(2, msg, sizeof(msg) - 1);
    }
  }
  errno = saved;
}

static inline void on_sigchld(int sig) { (void)sig; reap(WNOHANG); }

/* chld: the set to block while children is counted */
static inline void catch_sigchld(sigset_t *chld) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  sigemptyset(chld);
  sigaddset(chld, SIGCHLD);
}

/* port: argv[1]; 0 picks a free port and reports it */
static inline int bind_on(const char *arg) {
  struct sockaddr_in server;
  socklen_t serverlen = sizeof(server);
  int sock;
  if ((sock = socket(PF_INET, SOCK_DGRAM, IPPROTO_UDP)) < 0)
    die("Failed to create socket");
  memset(&server, 0, sizeof(server));
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_ANY);
  server.sin_port = htons(atoi(arg));
  if (bind(sock, (struct sockaddr *)&server, serverlen) < 0)
    die("Failed to bind server socket");
  if (server.sin_port == 0) {
    if (getsockname(sock, (struct sockaddr *)&server, &serverlen) < 0)
      die("Failed to get socket name");
    fprintf(stderr, "Listening on port %d\n", ntohs(server.sin_port));
  }
  guard_port = ntohs(server.sin_port);
  return sock;
}

static inline int quiet(void) { return getenv("SOCKLAB_QUIET") != NULL; }

static inline void connected(struct sockaddr_in *client) {
  if (!quiet())
    fprintf(stderr, "Client connected: %s\n", inet_ntoa(client->sin_addr));
}

/* outcome: what the server does not do with it, "echoed" or "answered" */
static inline void truncated(struct sockaddr_in *client, ssize_t received, const char *outcome) {
  fprintf(stderr, "Datagram from %s:%d truncated: %zd bytes, buffer %d; not %s\n",
          inet_ntoa(client->sin_addr), ntohs(client->sin_port), received, BUFFSIZE, outcome);
}

static inline void dropped(struct sockaddr_in *client, int live, int max_children, int *drops) {
  fprintf(stderr, "Dropped a request from %s:%d: %d in progress (--max-children %d); %d dropped so far\n",
          inet_ntoa(client->sin_addr), ntohs(client->sin_port), live, max_children, ++*drops);
}

static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static inline void to_upper(char *message, ssize_t len) {
  ssize_t i;
  for (i = 0; i < len; i++)
    message[i] = toupper((unsigned char)message[i]);
}

/* 0, or -1 after reporting a failed or short sendto */
static inline int reply(int sock, char *message, ssize_t len, struct sockaddr_in *client) {
  to_upper(message, len);
  if (sendto(sock, message, len, MSG_DONTWAIT, (struct sockaddr *)client, sizeof(*client)) != len) {
    perror("Mismatch in number of sent bytes");
    return -1;
  }
  return 0;
}

/* The echo-loop guard, udp/guard.go's guard: the same rules, the same
 * fixed table of GCRA buckets, the same report. No system call but the
 * vDSO's clock_gettime, which strace does not see. */
#define GUARD_SETS 256
#define GUARD_WAYS 4
enum { REFUSED_RESERVED, REFUSED_OWN_PORT, REFUSED_BAD_SOURCE, REFUSED_RATE, REFUSED_REASONS };
static const char *const refused_names[REFUSED_REASONS] = {"reserved port", "own port", "bad source", "over rate"};
static struct {
  int ready, off;
  long rate;
  long long interval, burst, start, reported; /* ns; reported < 0: never */
  struct { uint32_t addr; int used; long long tat; } buckets[GUARD_SETS][GUARD_WAYS];
  int counts[REFUSED_REASONS], pending, total;
  struct sockaddr_in last;
} guard;

static inline long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void guard_init(void) {
  const char *rate = getenv("SOCKLAB_RATE");
  guard.ready = 1;
  guard.off = getenv("SOCKLAB_NO_LOOP_GUARD") != NULL;
  guard.rate = rate ? atol(rate) : 0;
  if (guard.rate > 0) {
    guard.interval = 1000000000LL / guard.rate;
    guard.burst = guard.interval > 250000000LL ? guard.interval : 250000000LL;
  }
  guard.start = now_ns();
  guard.reported = -1;
}

static inline int guard_take(uint32_t addr) {
  long long now = now_ns() - guard.start, tat;
  uint32_t h = addr * 2654435761u;
  int i, way = 0;
  for (i = 0; i < GUARD_WAYS; i++) {
    if (guard.buckets[h >> 24][i].used && guard.buckets[h >> 24][i].addr == addr)
      break;
    if (guard.buckets[h >> 24][way].used &&
        (!guard.buckets[h >> 24][i].used || guard.buckets[h >> 24][i].tat < guard.buckets[h >> 24][way].tat))
      way = i;
  }
  if (i == GUARD_WAYS) {
    i = way;
    guard.buckets[h >> 24][i].addr = addr;
    guard.buckets[h >> 24][i].used = 1;
    guard.buckets[h >> 24][i].tat = now;
  }
  tat = guard.buckets[h >> 24][i].tat > now ? guard.buckets[h >> 24][i].tat : now;
  if (tat - now + guard.interval > guard.burst)
    return 0;
  guard.buckets[h >> 24][i].tat = tat + guard.interval;
  return 1;
}

static inline void guard_report(long long now) {
  int i;
  const char *sep = "";
  if (guard.pending == 0)
    return;
  fprintf(stderr, "Loop guard refused %d datagrams (", guard.pending);
  for (i = 0; i < REFUSED_REASONS; i++) {
    if (guard.counts[i] > 0) {
      fprintf(stderr, "%s%s %d", sep, refused_names[i], guard.counts[i]);
      sep = ", ";
    }
    guard.counts[i] = 0;
  }
  fprintf(stderr, "), last from %s:%d; %d so far; --no-loop-guard answers them\n",
          inet_ntoa(guard.last.sin_addr), ntohs(guard.last.sin_port), guard.total);
  guard.pending = 0;
  guard.reported = now;
}

/* 1 when the datagram from client is to be dropped; counted and reported */
static inline int refused(struct sockaddr_in *client) {
  uint32_t addr = ntohl(client->sin_addr.s_addr);
  int port = ntohs(client->sin_port), reason = -1;
  long long now;
  if (!guard.ready)
    guard_init();
  if (guard.off)
    return 0;
  if (port < 1024)
    reason = REFUSED_RESERVED;
  else if (port == guard_port)
    reason = REFUSED_OWN_PORT;
  else if ((addr >> 24) == 0 || (addr >> 24) >= 224)
    reason = REFUSED_BAD_SOURCE;
  else if (guard.rate > 0 && !guard_take(addr))
    reason = REFUSED_RATE;
  if (reason < 0)
    return 0;
  guard.counts[reason]++;
  guard.pending++;
  guard.total++;
  guard.last = *client;
  now = now_ns();
  if (guard.reported < 0 || now - guard.reported >= 1000000000LL)
    guard_report(now);
  return 1;
}

static inline void guard_flush(void) { guard_report(now_ns()); }
