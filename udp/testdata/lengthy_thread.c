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
 * and counted on stderr; on SIGINT/SIGTERM/SIGHUP the loop ends and the threads in
 * progress finish before the socket is closed. The helpers are in
 * common.h.
 */
#include "common.h"
#include <pthread.h>

struct request {
  int sock;
  long delay_ms;
  struct sockaddr_in client;
  ssize_t len;
  char message[BUFFSIZE];
};

static int live; /* threads in progress, __atomic */

static void *lengthy_action(void *arg) {
  struct request *r = arg;
  sleep_ms(r->delay_ms);
  reply(r->sock, r->message, r->len, &r->client);
  free(r);
  __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char *argv[]) {
  int sock, drops = 0;
  struct sockaddr_in client;
  char buffer[BUFFSIZE];
  socklen_t clientlen;
  ssize_t received;
  long delay_ms = argc > 2 ? atol(argv[2]) : 5000;
  int max_children = argc > 3 ? atoi(argv[3]) : 64;
  pthread_attr_t attr;
  pthread_t tid;
  struct request *r;
  sigset_t stopsigs, oldmask;

  if (argc < 2 || argc > 4) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms [max_children]]\n", argv[0]);
    exit(2);
  }
  catch_signals();
  sigemptyset(&stopsigs); /* threads block them: SIGTERM must reach the main thread's recvfrom */
  sigaddset(&stopsigs, SIGINT);
  sigaddset(&stopsigs, SIGTERM);
  sigaddset(&stopsigs, SIGHUP);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sock = bind_on(argv[1]);
  shutdown_on_signal(sock); /* a signal just before recvfrom cannot be lost */
  while (!stop) {
    clientlen = sizeof(client);
    received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC,
                        (struct sockaddr *)&client, &clientlen);
    if (received < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to receive message");
    }
    if (received == 0 && clientlen == 0)
      break; /* shut down by the handler: no datagram, no sender */
    if (received > BUFFSIZE) {
      truncated(&client, received, "answered");
      continue;
    }
    if (refused(&client))
      continue; /* the loop guard (common.h) */
    connected(&client);
    if (__atomic_load_n(&live, __ATOMIC_SEQ_CST) >= max_children) {
      dropped(&client, max_children, max_children, &drops);
      continue;
    }
    if ((r = malloc(sizeof(*r))) == NULL) /* the thread's own copy */
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
    sleep_ms(1);
  guard_flush();
  close(sock);
  return 0;
}
