/* common.h: what socklab's UDP server twins share, the C side of
 * udp/echo_server.go's Listen and udp/lengthy.go's report and reply:
 *
 *   die             perror and exit(1), as the tutorial's Die
 *   catch_signals   SIGINT and SIGTERM set stop; no SA_RESTART, so a
 *                   blocked recvfrom or epoll_wait fails with EINTR
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
#include <time.h>
#include <unistd.h>

#define BUFFSIZE 255

static volatile sig_atomic_t stop;

static inline void on_signal(int sig) { (void)sig; stop = 1; }

static inline void die(const char *mess) { perror(mess); exit(1); }

static inline void catch_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocked call fails with EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
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
