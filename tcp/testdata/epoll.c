/* epoll.c: the epoll TCP echo server, written for socklab as the C twin of
 * tcp/epoll.go: one event loop per thread, each on its own listening
 * socket bound to the same port with SO_REUSEPORT.
 *
 *   N x { socket -> setsockopt(SO_REUSEPORT) -> bind -> listen(somaxconn) -> fcntl(O_NONBLOCK) ->
 *         epoll_create1 -> epoll_ctl(listen, EPOLLIN) ->
 *         loop { epoll_wait -> listen: accept (fcntl O_NONBLOCK, epoll_ctl EPOLLIN|EPOLLOUT|EPOLLET) ->
 *                client: recv until EAGAIN, send each piece back } }
 *
 * USAGE: epoll <port> [loops] (default 1). Client descriptors are
 * edge-triggered and registered once; a loop reads into one buffer; bytes
 * a socket will not take wait in the client's pending buffer until
 * EPOLLOUT. The loops block SIGINT/SIGTERM/SIGHUP; the main thread waits for one
 * with sigwait, then shuts the listening sockets down, as the Go server's
 * stop does: each loop is woken, its accept fails with EINVAL, and it
 * closes its clients, its epoll instance and its listening socket before
 * main joins it and exits 0.
 */
#include <pthread.h>
#include <sys/epoll.h>

#include "common.h"

#define MAXEVENTS 256
#define LOOPBUF (16 << 10)

struct conn {
  char *pending;
  size_t len, cap;
  int open;
};

static int listen_reuseport(int port, int *bound, int backlog) {
  struct sockaddr_in sa;
  socklen_t salen = sizeof(sa);
  int one = 1, fd;
  if ((fd = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)) < 0)
    die("Failed to create socket");
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
    die("Failed to set SO_REUSEPORT");
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  sa.sin_port = htons(port);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    die("Failed to bind server socket");
  if (listen(fd, backlog) < 0)
    die("Failed to listen on server socket");
  if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
    die("Failed to get socket name");
  *bound = ntohs(sa.sin_port);
  return fd;
}

static int flush(int fd, struct conn *c) {
  while (c->len > 0) {
    ssize_t n = send(fd, c->pending, c->len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
      return errno == EAGAIN;
    memmove(c->pending, c->pending + n, c->len - n);
    c->len -= n;
  }
  return 1;
}

static int serve(int fd, struct conn *c, char *buf) {
  if (!flush(fd, c) || c->len > 0)
    return c->len > 0;
  for (int i = 0; i < (1 << 16); i++) {
    ssize_t r = recv(fd, buf, LOOPBUF, MSG_DONTWAIT);
    if (r < 0)
      return errno == EAGAIN;
    if (r == 0)
      return 0;
    ssize_t s = send(fd, buf, r, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (s < 0) {
      if (errno != EAGAIN)
        return 0;
      s = 0;
    }
    if (s < r) {
      if (c->cap < (size_t)(r - s)) {
        free(c->pending);
        c->cap = LOOPBUF;
        if (!(c->pending = malloc(c->cap)))
          die("Failed to allocate a pending buffer");
      }
      memcpy(c->pending, buf + s, r - s);
      c->len = r - s;
      return 1;
    }
  }
  return 1;
}

static void *loop(void *arg) {
  int listenfd = (int)(long)arg, epfd, i, n;
  struct epoll_event ev, events[MAXEVENTS];
  struct conn *conns = NULL;
  int nconns = 0;
  char *buf = malloc(LOOPBUF);
  struct sockaddr_in client;
  socklen_t clientlen;

  if (!buf)
    die("Failed to allocate the loop buffer");
  set_nonblock(listenfd);
  if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
    die("Failed to create the epoll instance");
  ev.events = EPOLLIN;
  ev.data.fd = listenfd;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, listenfd, &ev) < 0)
    die("Failed to watch the server socket");
  for (;;) {
    if ((n = epoll_wait(epfd, events, MAXEVENTS, -1)) < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to wait for events");
    }
    for (i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == listenfd) {
        for (int k = 0; k < BACKLOG; k++) {
          clientlen = sizeof(client);
          int s = accept(listenfd, (struct sockaddr *)&client, &clientlen);
          if (s < 0) {
            if (errno == EAGAIN)
              break;
            if (errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
              continue;
            if (errno == EINVAL)
              goto stopped; /* main shut the listening socket down */
            die("Failed to accept client connection");
          }
          connected(&client);
          set_nonblock(s);
          ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          ev.data.fd = s;
          if (epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) < 0) {
            close(s);
            continue;
          }
          if (s >= nconns) {
            int m = s * 2 + 16;
            if (!(conns = realloc(conns, m * sizeof(*conns))))
              die("Failed to grow the client table");
            memset(conns + nconns, 0, (m - nconns) * sizeof(*conns));
            nconns = m;
          }
          conns[s].len = 0;
          conns[s].open = 1;
        }
      } else if (!serve(fd, &conns[fd], buf)) {
        conns[fd].len = 0;
        conns[fd].open = 0;
        close(fd);
      }
    }
  }
stopped:
  for (i = 0; i < nconns; i++) {
    if (conns[i].open)
      close(i);
    free(conns[i].pending);
  }
  free(conns);
  free(buf);
  close(epfd);
  close(listenfd);
  return NULL;
}

int main(int argc, char *argv[]) {
  int loops = 1, port, bound, i, sig, lfds[64];
  pthread_t tids[64];
  sigset_t set;

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "USAGE: %s <port> [loops]\n", argv[0]);
    exit(2);
  }
  if (argc == 3 && ((loops = atoi(argv[2])) < 1 || loops > 64)) {
    fprintf(stderr, "loops: 1 to 64\n");
    exit(2);
  }
  ignore_sigpipe();
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* the loops inherit the mask */
  port = atoi(argv[1]);
  if (port != 0) { /* a port in use fails, even if another SO_REUSEPORT server holds it */
    struct sockaddr_in sa;
    int probe;
    if ((probe = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)) < 0)
      die("Failed to create socket");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = htons(port);
    if (bind(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0)
      die("Failed to bind server socket");
    close(probe);
  }
  for (i = 0; i < loops; i++) {
    int fd = listen_reuseport(port, &bound, backlog(0));
    if (i == 0 && port == 0) {
      port = bound;
      fprintf(stderr, "Listening on port %d\n", bound);
    }
    lfds[i] = fd;
    if (pthread_create(&tids[i], NULL, loop, (void *)(long)fd) != 0)
      die("Failed to create a thread");
  }
  sigwait(&set, &sig);
  for (i = 0; i < loops; i++)
    shutdown(lfds[i], SHUT_RDWR); /* wakes the loop watching it */
  for (i = 0; i < loops; i++)
    pthread_join(tids[i], NULL);
  return 0;
}
