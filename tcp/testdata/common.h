/* common.h: what socklab's TCP C twins share, the C side of tcp/echo.go:
 * the listening socket (backlog 20), Stevens' writen with MSG_NOSIGNAL,
 * the stop flag set by SIGINT/SIGTERM/SIGHUP (no SA_RESTART, so a blocked call
 * returns EINTR), SIGPIPE ignored, and the "Client connected" report. SOCKLAB_QUIET in the
 * environment stands for the Go version's --quiet.
 *
 * Every server stops as its Go twin does: it names its listening socket
 * with shutdown_on_signal, the handler shuts that socket down (shutdown is
 * async-signal-safe, signal-safety(7)), and the loop leaves when accept
 * fails with EINVAL, as it fails on a shut-down listener. A blocking
 * accept entered just after the signal fails too, where a flag checked
 * before the call would miss it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKLOG 20 /* the tutorial's listen(20); also the accept batch of a loop */
#define BUFFSIZE 32

static volatile sig_atomic_t stop;
static volatile sig_atomic_t stop_sock = -1; /* shut down by on_signal when set */

static inline void on_signal(int sig) {
  int saved = errno;
  (void)sig;
  stop = 1;
  if (stop_sock >= 0)
    shutdown(stop_sock, SHUT_RDWR);
  errno = saved;
}

/* from now on a signal shuts sock down; one caught before is applied now */
static inline void shutdown_on_signal(int sock) {
  stop_sock = sock;
  if (stop)
    shutdown(sock, SHUT_RDWR);
}

static inline void die(const char *mess) { perror(mess); exit(1); }

/* a closed stderr costs the reports (EPIPE), not the server (SIGPIPE);
 * a stalled one still blocks the server in write(2), where the Go
 * commands drop and count lines */
static inline void ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

static inline void catch_signals(void) {
  struct sigaction sa;
  ignore_sigpipe();
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal; /* no SA_RESTART */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL); /* a closed terminal stops the server too */
}

static inline int quiet(void) { return getenv("SOCKLAB_QUIET") != NULL; }

static inline void connected(struct sockaddr_in *client) {
  if (!quiet())
    fprintf(stderr, "Client connected: %s\n", inet_ntoa(client->sin_addr));
}

/* The listen backlog: SOCKLAB_BACKLOG (the Go version's --backlog) if
 * set, else the tutorial's 20 for a tutorial server, else the kernel's
 * cap, net.core.somaxconn (4096 if it cannot be read), as Go's net uses. */
static inline int backlog(int tutorial) {
  const char *env = getenv("SOCKLAB_BACKLOG");
  int n = 4096;
  FILE *f;
  if (env != NULL)
    return atoi(env);
  if (tutorial)
    return BACKLOG;
  if ((f = fopen("/proc/sys/net/core/somaxconn", "r")) != NULL) {
    if (fscanf(f, "%d", &n) != 1 || n < 1)
      n = 4096;
    fclose(f);
  }
  return n;
}

/* port: argv[1]; 0 picks a free port and reports it */
static inline int listen_on(const char *arg, int backlog) {
  struct sockaddr_in echoserver;
  socklen_t serverlen = sizeof(echoserver);
  int serversock;
  if ((serversock = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)) < 0)
    die("Failed to create socket");
  memset(&echoserver, 0, sizeof(echoserver));
  echoserver.sin_family = AF_INET;
  echoserver.sin_addr.s_addr = htonl(INADDR_ANY);
  echoserver.sin_port = htons(atoi(arg));
  if (bind(serversock, (struct sockaddr *)&echoserver, sizeof(echoserver)) < 0)
    die("Failed to bind server socket");
  if (listen(serversock, backlog) < 0)
    die("Failed to listen on server socket");
  if (echoserver.sin_port == 0) {
    if (getsockname(serversock, (struct sockaddr *)&echoserver, &serverlen) < 0)
      die("Failed to get socket name");
    fprintf(stderr, "Listening on port %d\n", ntohs(echoserver.sin_port));
  }
  return serversock;
}

/* Stevens' writen: send until every byte is out; -1 on error */
static inline ssize_t writen(int fd, const char *p, size_t n) {
  size_t sent = 0;
  while (sent < n) {
    ssize_t r = send(fd, p + sent, n - sent, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR && !stop)
        continue;
      return -1;
    }
    sent += r;
  }
  return sent;
}

/* Stevens' str_echo: recv 32, send them all, until EOF, error or stop */
static inline void str_echo(int sock) {
  char buffer[BUFFSIZE];
  ssize_t received;
  for (;;) {
    received = recv(sock, buffer, BUFFSIZE, 0);
    if (received < 0 && errno == EINTR && !stop)
      continue;
    if (received <= 0)
      return;
    if (writen(sock, buffer, received) < 0)
      return;
  }
}

static inline void set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    die("Failed to make a socket non-blocking");
}
