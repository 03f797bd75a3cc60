/* lengthy_async.c: an asynchronous lengthy-action server (the tutorial's
 * section 6 describes one and says a sleeping action "sort of misses the
 * point"; with a timer per request it does not), written for socklab as
 * the C twin of udp/lengthy_async.go. One thread, no sleeping:
 *
 *   socket -> bind -> epoll_create1 -> epoll_ctl(ADD, sock) -> loop {
 *     epoll_wait ->
 *       sock readable:  recvfrom -> report -> timerfd_create -> timerfd_settime(delay)
 *                       -> epoll_ctl(ADD, timer)
 *       timer readable: read(timer) -> toupper -> sendto -> close(timer)
 *   }
 *
 * Usage: lengthy_async <port> [delay_ms [max_children]]
 *
 * Additions, mirrored by the Go version: port 0 reported, MSG_TRUNC,
 * MSG_DONTWAIT replies, SOCKLAB_QUIET (see lengthy_iterative.c); recvfrom
 * also passes MSG_DONTWAIT, so a datagram that vanished between epoll_wait
 * and recvfrom cannot block the loop; at most max_children (64) requests
 * wait for their timers, each in a slot, over which a request is dropped
 * and counted on stderr. On SIGINT/SIGTERM/SIGHUP epoll_wait fails with EINTR:
 * the loop receives no more, stops watching the socket (EPOLL_CTL_DEL) if
 * timers are pending, as the Go version does, and runs until they have
 * fired and their requests are answered; the instance and then the socket
 * are closed. The helpers are in common.h.
 */
#include "common.h"
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#define MAXSLOTS 4096

struct pending {
  int timer; /* -1: a free slot */
  ssize_t len;
  struct sockaddr_in client;
  char message[BUFFSIZE];
};

static struct pending slots[MAXSLOTS];

static struct pending *find(int nslots, int timer) {
  int i;
  for (i = 0; i < nslots; i++)
    if (slots[i].timer == timer)
      return &slots[i];
  return NULL;
}

int main(int argc, char *argv[]) {
  int sock, epfd, timer, n, i, drops = 0, waiting = 0, receiving = 1;
  struct sockaddr_in client;
  char buffer[BUFFSIZE];
  socklen_t clientlen;
  ssize_t received;
  long delay_ms = argc > 2 ? atol(argv[2]) : 5000;
  int nslots = argc > 3 ? atoi(argv[3]) : 64;
  struct itimerspec delay;
  struct epoll_event ev, events[MAXSLOTS + 1];
  struct pending *p;
  uint64_t expirations;

  if (argc < 2 || argc > 4 || nslots < 1 || nslots > MAXSLOTS) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms [max_children (1 to %d)]]\n", argv[0], MAXSLOTS);
    exit(2);
  }
  catch_signals(); /* epoll_wait fails with EINTR even with SA_RESTART */
  memset(&delay, 0, sizeof(delay));
  delay.it_value.tv_sec = delay_ms / 1000;
  delay.it_value.tv_nsec = (delay_ms % 1000) * 1000000L;
  if (delay_ms <= 0)
    delay.it_value.tv_nsec = 1; /* a zero it_value would disarm the timer */
  for (i = 0; i < nslots; i++)
    slots[i].timer = -1;

  sock = bind_on(argv[1]);
  shutdown_on_signal(sock); /* a signal just before epoll_wait makes the socket ready */
  if ((epfd = epoll_create1(0)) < 0)
    die("Failed to create epoll instance");
  ev.events = EPOLLIN;
  ev.data.fd = sock;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, sock, &ev) < 0)
    die("Failed to watch the socket");

  while (receiving || waiting > 0) {
    if (receiving && stop) { /* receive no more; the requests waiting get their replies */
      receiving = 0;
      if (waiting > 0 && epoll_ctl(epfd, EPOLL_CTL_DEL, sock, NULL) < 0)
        die("Failed to stop watching the socket");
      continue;
    }
    if ((n = epoll_wait(epfd, events, nslots + 1, -1)) < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to wait for events");
    }
    for (i = 0; i < n; i++) {
      if (events[i].data.fd != sock) { /* a timer: the request's delay is over */
        if ((p = find(nslots, events[i].data.fd)) == NULL)
          continue;
        if (read(p->timer, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
          die("Failed to read a timer");
        reply(sock, p->message, p->len, &p->client);
        close(p->timer); /* also leaves the epoll set */
        p->timer = -1;
        waiting--;
        continue;
      }
      if (!receiving)
        continue;
      clientlen = sizeof(client);
      received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC | MSG_DONTWAIT,
                          (struct sockaddr *)&client, &clientlen);
      if (received < 0) {
        if (errno == EAGAIN || errno == EINTR)
          continue;
        die("Failed to receive message");
      }
      if (received > BUFFSIZE) {
        truncated(&client, received, "answered");
        continue;
      }
      if (refused(&client))
        continue; /* the loop guard (common.h) */
      connected(&client);
      if ((p = find(nslots, -1)) == NULL) {
        dropped(&client, waiting, nslots, &drops);
        continue;
      }
      if ((timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
        die("Failed to create a timer");
      if (timerfd_settime(timer, 0, &delay, NULL) < 0)
        die("Failed to create a timer");
      ev.events = EPOLLIN;
      ev.data.fd = timer;
      if (epoll_ctl(epfd, EPOLL_CTL_ADD, timer, &ev) < 0)
        die("Failed to watch a timer");
      p->timer = timer;
      p->len = received;
      p->client = client;
      memcpy(p->message, buffer, received);
      waiting++;
    }
  }
  close(epfd);
  guard_flush();
  close(sock);
  return 0;
}
