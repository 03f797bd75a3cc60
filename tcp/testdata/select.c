/* select.c: the robust select() TCP echo server, written for socklab as
 * the C twin of tcp/select.go, after Stevens' tcpservselect01.c.
 *
 *   socket -> bind -> listen(somaxconn) -> fcntl(O_NONBLOCK) ->
 *   loop { select(listen + clients) -> accept new ones (fcntl O_NONBLOCK) ->
 *          each readable: recv 32 -> send; pending bytes: wait for writable }
 *
 * USAGE: select <port> [max_clients] (default FD_SETSIZE). Accepts at any
 * time, drops clients that close, refuses (reports and closes) a client
 * whose descriptor is FD_SETSIZE or above or that would be one too many;
 * bytes a client does not read wait in its buffer while select watches it
 * for writing. SIGINT/SIGTERM shut the listening socket down (common.h):
 * select returns, accept fails with EINVAL, and every socket is closed
 * before exit(0).
 */
#include <sys/select.h>

#include "common.h"

struct client {
  int open, off, end;
  char buf[BUFFSIZE];
};

static struct client clients[FD_SETSIZE];

/* send the pending bytes; 0 when the connection failed */
static int flush(int fd) {
  struct client *c = &clients[fd];
  while (c->off < c->end) {
    ssize_t n = send(fd, c->buf + c->off, c->end - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
      return errno == EAGAIN;
    c->off += n;
  }
  c->off = c->end = 0;
  return 1;
}

static int read_echo(int fd) {
  struct client *c = &clients[fd];
  ssize_t n = recv(fd, c->buf, BUFFSIZE, MSG_DONTWAIT);
  if (n < 0)
    return errno == EAGAIN;
  if (n == 0)
    return 0;
  c->off = 0;
  c->end = n;
  return flush(fd);
}

int main(int argc, char *argv[]) {
  int serversock, clientsock, fd, maxfd, open, nclients = 0, max_clients = FD_SETSIZE;
  fd_set rall, wall, rset, wset;
  struct sockaddr_in echoclient;
  socklen_t clientlen;

  if ((argc != 2 && argc != 3) || (argc == 3 && (max_clients = atoi(argv[2])) < 1)) {
    fprintf(stderr, "USAGE: %s <port> [max_clients]\n", argv[0]);
    exit(2);
  }
  catch_signals();
  serversock = listen_on(argv[1], backlog(0));
  shutdown_on_signal(serversock);
  set_nonblock(serversock);
  FD_ZERO(&rall);
  FD_ZERO(&wall);
  FD_SET(serversock, &rall);
  maxfd = serversock;
  for (;;) {
    rset = rall;
    wset = wall;
    if (select(maxfd + 1, &rset, &wset, NULL, NULL) < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to select");
    }
    if (FD_ISSET(serversock, &rset)) {
      for (int i = 0; i < BACKLOG; i++) {
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
        if (clientsock >= FD_SETSIZE || nclients >= max_clients) {
          fprintf(stderr, "Refused client %s:%d: descriptor %d, %d clients; select serves descriptors below %d and at most %d clients\n",
                  inet_ntoa(echoclient.sin_addr), ntohs(echoclient.sin_port), clientsock, nclients, FD_SETSIZE, max_clients);
          close(clientsock);
          continue;
        }
        set_nonblock(clientsock);
        memset(&clients[clientsock], 0, sizeof(clients[clientsock]));
        clients[clientsock].open = 1;
        nclients++;
        FD_SET(clientsock, &rall);
        if (clientsock > maxfd)
          maxfd = clientsock;
      }
    }
    for (fd = 0; fd <= maxfd; fd++) {
      struct client *c = &clients[fd];
      if (!c->open)
        continue;
      open = 1;
      if (c->off < c->end && FD_ISSET(fd, &wset))
        open = flush(fd);
      else if (c->off == c->end && FD_ISSET(fd, &rset))
        open = read_echo(fd);
      FD_CLR(fd, &rall);
      FD_CLR(fd, &wall);
      if (!open) {
        c->open = 0;
        nclients--;
        close(fd);
        continue;
      }
      FD_SET(fd, c->off < c->end ? &wall : &rall);
    }
  }
stopped:
  for (fd = 0; fd < FD_SETSIZE; fd++)
    if (clients[fd].open)
      close(fd);
  close(serversock);
  return 0;
}
