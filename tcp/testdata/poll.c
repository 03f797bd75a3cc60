/* poll.c: the poll() TCP echo server, written for socklab as the C twin of
 * tcp/poll.go, after Stevens' tcpservpoll01.c.
 *
 *   socket -> bind -> listen(somaxconn) -> fcntl(O_NONBLOCK) ->
 *   loop { poll(listen + clients) -> each POLLIN: recv 32 -> send;
 *          pending bytes: wait for POLLOUT -> accept new ones (fcntl O_NONBLOCK) }
 *
 * No descriptor ceiling: a pollfd slot per client, free slots hold -1 and
 * are reused. SIGINT/SIGTERM shut the listening socket down (common.h):
 * poll reports POLLHUP on it, accept fails with EINVAL, and every socket
 * is closed before exit(0).
 */
#include <poll.h>

#include "common.h"

struct client {
  int off, end;
  char buf[BUFFSIZE];
};

static struct pollfd *fds;
static struct client *clients;
static int nfds, cap;

static int flush(int i) {
  struct client *c = &clients[i];
  while (c->off < c->end) {
    ssize_t n = send(fds[i].fd, c->buf + c->off, c->end - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
      return errno == EAGAIN;
    c->off += n;
  }
  c->off = c->end = 0;
  return 1;
}

static int read_echo(int i) {
  struct client *c = &clients[i];
  ssize_t n = recv(fds[i].fd, c->buf, BUFFSIZE, MSG_DONTWAIT);
  if (n < 0)
    return errno == EAGAIN;
  if (n == 0)
    return 0;
  c->off = 0;
  c->end = n;
  return flush(i);
}

static int add(int fd) {
  int i;
  for (i = 1; i < nfds; i++)
    if (fds[i].fd < 0)
      break;
  if (i == nfds) {
    if (nfds == cap) {
      cap *= 2;
      if (!(fds = realloc(fds, cap * sizeof(*fds))) || !(clients = realloc(clients, cap * sizeof(*clients))))
        die("Failed to grow the pollfd array");
    }
    nfds++;
  }
  fds[i].fd = fd;
  fds[i].events = POLLIN;
  fds[i].revents = 0;
  clients[i].off = clients[i].end = 0;
  return i;
}

int main(int argc, char *argv[]) {
  int serversock, clientsock, i, open;
  struct sockaddr_in echoclient;
  socklen_t clientlen;

  if (argc != 2) {
    fprintf(stderr, "USAGE: %s <port>\n", argv[0]);
    exit(2);
  }
  catch_signals();
  serversock = listen_on(argv[1], backlog(0));
  shutdown_on_signal(serversock);
  set_nonblock(serversock);
  cap = 64;
  fds = malloc(cap * sizeof(*fds));
  clients = malloc(cap * sizeof(*clients));
  if (!fds || !clients)
    die("Failed to allocate the pollfd array");
  fds[0].fd = serversock;
  fds[0].events = POLLIN;
  nfds = 1;
  for (;;) {
    if (poll(fds, nfds, -1) < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to poll");
    }
    for (i = 1; i < nfds; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      if (clients[i].off < clients[i].end)
        open = flush(i);
      else
        open = read_echo(i);
      if (!open) {
        close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      fds[i].events = clients[i].off < clients[i].end ? POLLOUT : POLLIN;
    }
    while (nfds > 1 && fds[nfds - 1].fd < 0)
      nfds--;
    if (fds[0].revents & (POLLIN | POLLHUP)) { /* POLLHUP: shut down, accept says so */
      for (int k = 0; k < BACKLOG; k++) {
        clientlen = sizeof(echoclient);
        clientsock = accept(serversock, (struct sockaddr *)&echoclient, &clientlen);
        if (clientsock < 0) {
          if (errno == EAGAIN)
            break;
          if (errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
            continue;
          if (errno == EINVAL)
            goto stopped; /* the signal handler shut serversock down */
          die("Failed to accept client connection");
        }
        connected(&echoclient);
        set_nonblock(clientsock);
        add(clientsock);
      }
    }
  }
stopped:
  for (i = 1; i < nfds; i++)
    if (fds[i].fd >= 0)
      close(fds[i].fd);
  close(serversock);
  return 0;
}
