/* echo_server.c: the UDP echo server of the tutorial's section 5, written
 * for socklab as the C twin of udp/echo_server.go.
 *
 *   socket -> bind(INADDR_ANY:port) -> loop { recvfrom -> report -> sendto }
 *
 * Additions, mirrored by the Go version: port 0 is allowed and the chosen
 * port is reported (getsockname); recvfrom asks for MSG_TRUNC so that a
 * datagram larger than the buffer is reported instead of echoed cut short;
 * sendto passes MSG_DONTWAIT, so a full send buffer drops (and reports) one
 * reply instead of stalling the loop; a failed sendto is not fatal;
 * SIGINT/SIGTERM/SIGHUP end the loop and the socket is closed before exit(0);
 * SOCKLAB_QUIET in the environment stands for the Go version's --quiet.
 */
#include "common.h"

int main(int argc, char *argv[]) {
  int sock;
  struct sockaddr_in echoclient;
  char buffer[BUFFSIZE];
  socklen_t clientlen;
  ssize_t received;

  if (argc != 2) {
    fprintf(stderr, "USAGE: %s <port>\n", argv[0]);
    exit(2);
  }
  catch_signals();
  sock = bind_on(argv[1]);
  shutdown_on_signal(sock); /* a signal just before recvfrom cannot be lost */
  while (!stop) {
    clientlen = sizeof(echoclient);
    received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC,
                        (struct sockaddr *)&echoclient, &clientlen);
    if (received < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to receive message");
    }
    if (received == 0 && clientlen == 0)
      break; /* shut down by the handler: no datagram, no sender */
    if (received > BUFFSIZE) {
      truncated(&echoclient, received, "echoed");
      continue;
    }
    if (refused(&echoclient))
      continue; /* the loop guard (common.h) */
    connected(&echoclient);
    if (sendto(sock, buffer, received, MSG_DONTWAIT, (struct sockaddr *)&echoclient,
               sizeof(echoclient)) != received)
      perror("Mismatch in number of echo'd bytes");
  }
  guard_flush();
  close(sock);
  return 0;
}
