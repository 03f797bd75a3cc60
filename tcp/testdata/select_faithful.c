/* select_faithful.c: the tutorial's select() server of section 6, fragile
 * on purpose, written for socklab as the C twin of
 * tcp/select_faithful.go.
 *
 *   socket -> bind -> listen(20) -> loop {
 *       accept exactly N clients -> loop { select(all for reading AND writing) ->
 *       5 s without a send: shutdown the readable ones, next round ->
 *       each readable: recv 32 -> each writable with data: send } }
 *
 * USAGE: select_faithful <port> [clients [idle_ms]]: clients stands for
 * the tutorial's 20, idle_ms for its 5 seconds (the Go version's --clients
 * and --idle). It waits for its clients before serving any, spins because
 * connected sockets are always writable, and keeps closed clients in its
 * sets, as the Python program does. The listening socket is made once
 * (Python binds anew each round); a round's sockets are closed when it
 * ends; send passes MSG_NOSIGNAL; a descriptor beyond FD_SETSIZE ends it.
 * SIGINT/SIGTERM shut the listening socket down (common.h), as Go's Stop
 * does: accept fails (EINVAL, or EINTR), or select returns, the loop sees
 * the flag, and the sockets are closed before exit(0).
 */
#include <sys/select.h>
#include <time.h>

#include "common.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[]) {
  int serversock, newsock, nclients = 20, nsocks = 0, i, maxfd;
  int socks[FD_SETSIZE];
  static char data[FD_SETSIZE][BUFFSIZE]; /* by descriptor */
  static ssize_t datalen[FD_SETSIZE];
  double idle = 5, last_activity;
  fd_set rset, wset;
  struct sockaddr_in echoclient;
  socklen_t clientlen;

  if (argc < 2 || argc > 4) {
    fprintf(stderr, "USAGE: %s <port> [clients [idle_ms]]\n", argv[0]);
    exit(2);
  }
  if (argc >= 3 && ((nclients = atoi(argv[2])) < 1 || nclients > 1000)) {
    fprintf(stderr, "clients: 1 to 1000\n");
    exit(2);
  }
  if (argc == 4 && (idle = atoi(argv[3]) / 1000.0) <= 0) {
    fprintf(stderr, "idle_ms: 1 or more\n");
    exit(2);
  }
  catch_signals();
  serversock = listen_on(argv[1], backlog(1));
  shutdown_on_signal(serversock);
  for (;;) {
    while (nsocks < nclients) {
      clientlen = sizeof(echoclient);
      newsock = accept(serversock, (struct sockaddr *)&echoclient, &clientlen);
      if (stop) { /* the handler shut serversock down */
        if (newsock >= 0)
          close(newsock);
        goto stopped;
      }
      if (newsock < 0)
        die("Failed to accept client connection");
      if (newsock >= FD_SETSIZE) {
        fprintf(stderr, "Client descriptor beyond FD_SETSIZE\n");
        exit(1);
      }
      connected(&echoclient);
      socks[nsocks++] = newsock;
      datalen[newsock] = 0;
    }
    last_activity = now();
    for (;;) {
      FD_ZERO(&rset);
      maxfd = 0;
      for (i = 0; i < nsocks; i++) {
        FD_SET(socks[i], &rset);
        if (socks[i] > maxfd)
          maxfd = socks[i];
      }
      wset = rset;
      if (select(maxfd + 1, &rset, &wset, NULL, NULL) < 0 && errno != EINTR)
        die("Failed to select");
      if (stop) /* EINTR comes only with it: SIGINT and SIGTERM are the handled signals */
        goto stopped;
      if (now() - last_activity > idle) {
        for (i = 0; i < nsocks; i++)
          if (FD_ISSET(socks[i], &rset))
            shutdown(socks[i], SHUT_RDWR); /* s.shutdown(2) */
        break;
      }
      for (i = 0; i < nsocks; i++)
        if (FD_ISSET(socks[i], &rset))
          if ((datalen[socks[i]] = recv(socks[i], data[socks[i]], BUFFSIZE, 0)) < 0)
            die("Failed to receive bytes from client");
      for (i = 0; i < nsocks; i++)
        if (FD_ISSET(socks[i], &wset) && datalen[socks[i]] > 0) {
          last_activity = now();
          if (send(socks[i], data[socks[i]], datalen[socks[i]], MSG_NOSIGNAL) < 0)
            die("Failed to send bytes to client");
          datalen[socks[i]] = 0;
        }
    }
    for (i = 0; i < nsocks; i++)
      close(socks[i]);
    nsocks = 0;
  }
stopped:
  for (i = 0; i < nsocks; i++)
    close(socks[i]);
  close(serversock);
  return 0;
}
