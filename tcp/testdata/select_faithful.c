/* select_faithful.c: the tutorial's select() server of section 6, fragile
 * on purpose, written for socklab as the C twin of
 * tcp/select_faithful.go.
 *
 *   socket -> bind -> listen(20) -> loop {
 *       accept exactly N clients -> loop { select(all for reading AND writing) ->
 *       5 s without a send: shutdown the readable ones, next round ->
 *       each readable: recv 32 -> each writable with data: send } }
 *
 * It waits for N clients (argv[2], default 20) before serving any, spins
 * because connected sockets are always writable, and keeps closed clients
 * in its sets, as the Python program does. The listening socket is made
 * once (Python binds anew each round); a round's sockets are closed when it
 * ends; send passes MSG_NOSIGNAL. SIGINT/SIGTERM end it with exit(0).
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
  int serversock, n = 20, i, maxfd;
  int socks[FD_SETSIZE];
  char data[FD_SETSIZE][BUFFSIZE];
  ssize_t datalen[FD_SETSIZE];
  fd_set rset, wset;
  struct sockaddr_in echoclient;
  socklen_t clientlen;
  double last_activity;

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "USAGE: %s <port> [clients]\n", argv[0]);
    exit(2);
  }
  if (argc == 3 && ((n = atoi(argv[2])) < 1 || n > 1000)) {
    fprintf(stderr, "clients: 1 to 1000\n");
    exit(2);
  }
  catch_signals();
  serversock = listen_on(argv[1], backlog(1));
  while (!stop) {
    int accepted = 0;
    while (accepted < n && !stop) {
      clientlen = sizeof(echoclient);
      int s = accept(serversock, (struct sockaddr *)&echoclient, &clientlen);
      if (s < 0) {
        if (errno == EINTR)
          continue;
        die("Failed to accept client connection");
      }
      if (s >= FD_SETSIZE)
        die("Client descriptor beyond FD_SETSIZE");
      connected(&echoclient);
      socks[accepted++] = s;
      datalen[s] = 0;
    }
    last_activity = now();
    while (!stop) {
      FD_ZERO(&rset);
      maxfd = 0;
      for (i = 0; i < accepted; i++) {
        FD_SET(socks[i], &rset);
        if (socks[i] > maxfd)
          maxfd = socks[i];
      }
      wset = rset;
      if (select(maxfd + 1, &rset, &wset, NULL, NULL) < 0) {
        if (errno == EINTR)
          continue;
        die("Failed to select");
      }
      if (now() - last_activity > 5) {
        for (i = 0; i < accepted; i++)
          if (FD_ISSET(socks[i], &rset))
            shutdown(socks[i], SHUT_RDWR);
        break;
      }
      for (i = 0; i < accepted; i++)
        if (FD_ISSET(socks[i], &rset))
          if ((datalen[socks[i]] = recv(socks[i], data[socks[i]], BUFFSIZE, 0)) < 0)
            die("Failed to receive bytes from client");
      for (i = 0; i < accepted; i++)
        if (FD_ISSET(socks[i], &wset) && datalen[socks[i]] > 0) {
          last_activity = now();
          if (send(socks[i], data[socks[i]], datalen[socks[i]], MSG_NOSIGNAL) < 0)
            die("Failed to send bytes to client");
          datalen[socks[i]] = 0;
        }
    }
    for (i = 0; i < accepted; i++)
      close(socks[i]);
  }
  close(serversock);
  return 0;
}
