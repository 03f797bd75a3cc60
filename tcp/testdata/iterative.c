/* iterative.c: the one-at-a-time TCP echo server of the tutorial's
 * section 6, written for socklab as the C twin of tcp/iterative.go.
 *
 *   socket -> bind -> listen(20) -> loop { accept -> report -> str_echo -> close }
 *
 * Additions, mirrored by the Go version: port 0 is allowed and reported;
 * send passes MSG_NOSIGNAL and loops (writen). SIGINT/SIGTERM shut the
 * listening socket down (common.h), as Go's Stop does, so accept fails
 * (EINVAL, or EINTR) even when the signal comes just before it; recv is
 * interrupted (EINTR); the sockets are closed before exit(0).
 */
#include "common.h"

int main(int argc, char *argv[]) {
  int serversock, clientsock;
  struct sockaddr_in echoclient;
  socklen_t clientlen;

  if (argc != 2) {
    fprintf(stderr, "USAGE: %s <port>\n", argv[0]);
    exit(2);
  }
  catch_signals();
  serversock = listen_on(argv[1], backlog(1));
  shutdown_on_signal(serversock);
  while (!stop) {
    clientlen = sizeof(echoclient);
    if ((clientsock = accept(serversock, (struct sockaddr *)&echoclient, &clientlen)) < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EINVAL && stop)
        break; /* the handler shut the listening socket down */
      die("Failed to accept client connection");
    }
    connected(&echoclient);
    str_echo(clientsock);
    close(clientsock);
  }
  close(serversock);
  return 0;
}
