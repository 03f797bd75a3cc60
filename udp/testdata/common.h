/* common.h: what socklab's UDP server twins share, the C side of
 * udp/echo_server.go's Listen and udp/lengthy.go's report and reply:
 *
 *   die             perror and exit(1), as the tutorial's Die
 *   catch_signals   SIGINT and SIGTERM set stop; no SA_RESTART, so a
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
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
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
