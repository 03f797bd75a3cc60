/* lengthy_thread.c: the tutorial's threading server of section 6 (a thread
 * per request, start_new_thread in Python), written for socklab as the C
 * twin of udp/lengthy_thread.go.
 *
 *   socket -> bind -> loop { recvfrom -> report -> malloc copy
 *                            -> pthread_create { sleep -> toupper -> sendto -> free } }
 *
 * Usage: lengthy_thread <port> [delay_ms [max_children]]
 *
 * Additions, mirrored by the Go version: port 0 reported, MSG_TRUNC,
 * MSG_DONTWAIT replies, SOCKLAB_QUIET (see lengthy_iterative.c); at most
 * max_children (64) requests in progress, over which a request is dropped
 * and counted on stderr; on SIGINT/SIGTERM the loop ends and the threads in
 * progress finish before the socket is closed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFSIZE 255

struct request {
  int sock;
  long delay_ms;
  struct sockaddr_in client;
  ssize_t len;
  char message[BUFFSIZE];
};

static volatile sig_atomic_t stop;
static int live; /* threads in progress, __atomic */

static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *mess) { perror(mess); exit(1); }

static void *lengthy_action(void *arg) {
  struct request *r = arg;
  struct timespec ts = {r->delay_ms / 1000, (r->delay_ms % 1000) * 1000000L};
  ssize_t i;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
  for (i = 0; i < r->len; i++)
    r->message[i] = toupper((unsigned char)r->message[i]);
  if (sendto(r->sock, r->message, r->len, MSG_DONTWAIT, (struct sockaddr *)&r->client,
             sizeof(r->client)) != r->len)
    perror("Mismatch in number of sent bytes");
  free(r);
  __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char *argv[]) {
  int sock, quiet = getenv("SOCKLAB_QUIET") != NULL, drops = 0;
  struct sockaddr_in server, client;
  char buffer[BUFFSIZE];
  socklen_t clientlen, serverlen;
  ssize_t received;
  long delay_ms = argc > 2 ? atol(argv[2]) : 5000;
  int max_children = argc > 3 ? atoi(argv[3]) : 64;
  struct sigaction sa;
  pthread_attr_t attr;
  pthread_t tid;
  struct request *r;
  struct timespec tick = {0, 1000000L};
  sigset_t stopsigs, oldmask;

  if (argc < 2 || argc > 4) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms [max_children]]\n", argv[0]);
    exit(2);
  }
  memset(&sa, 0, sizeof(sa)); /* no SA_RESTART: recvfrom fails with EINTR */
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigemptyset(&stopsigs); /* threads block them: SIGTERM must reach the main thread's recvfrom */
  sigaddset(&stopsigs, SIGINT);
  sigaddset(&stopsigs, SIGTERM);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

  if ((sock = socket(PF_INET, SOCK_DGRAM, IPPROTO_UDP)) < 0)
    die("Failed to create socket");
  memset(&server, 0, sizeof(server));
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_ANY);
  server.sin_port = htons(atoi(argv[1]));
  serverlen = sizeof(server);
  if (bind(sock, (struct sockaddr *)&server, serverlen) < 0)
    die("Failed to bind server socket");
  if (server.sin_port == 0) {
    if (getsockname(sock, (struct sockaddr *)&server, &serverlen) < 0)
      die("Failed to get socket name");
    fprintf(stderr, "Listening on port %d\n", ntohs(server.sin_port));
  }

  while (!stop) {
    clientlen = sizeof(client);
    received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC,
                        (struct sockaddr *)&client, &clientlen);
    if (received < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to receive message");
    }
    if (received > BUFFSIZE) {
      fprintf(stderr, "Datagram from %s:%d truncated: %zd bytes, buffer %d; not answered\n",
              inet_ntoa(client.sin_addr), ntohs(client.sin_port), received, BUFFSIZE);
      continue;
    }
    if (!quiet)
      fprintf(stderr, "Client connected: %s\n", inet_ntoa(client.sin_addr));
    if (__atomic_load_n(&live, __ATOMIC_SEQ_CST) >= max_children) {
      fprintf(stderr, "Dropped a request from %s:%d: %d in progress (--max-children %d); %d dropped so far\n",
              inet_ntoa(client.sin_addr), ntohs(client.sin_port), max_children, max_children, ++drops);
      continue;
    }
    if ((r = malloc(sizeof(*r))) == NULL)
      die("Failed to allocate a request");
    r->sock = sock;
    r->delay_ms = delay_ms;
    r->client = client;
    r->len = received;
    memcpy(r->message, buffer, received);
    __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    pthread_sigmask(SIG_BLOCK, &stopsigs, &oldmask);
    errno = pthread_create(&tid, &attr, lengthy_action, r);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    if (errno != 0) {
      perror("Failed to create a thread");
      __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
      free(r);
    }
  }
  while (__atomic_load_n(&live, __ATOMIC_SEQ_CST) > 0) /* the threads in progress finish */
    nanosleep(&tick, NULL);
  close(sock);
  return 0;
}
