/* lengthy_iterative.c: the tutorial's first section 6 server ("lengthy
 * action", one request at a time), written for socklab as the C twin of
 * udp/lengthy_iterative.go.
 *
 *   socket -> bind -> loop { recvfrom -> report -> sleep -> toupper -> sendto }
 *
 * Usage: lengthy_iterative <port> [delay_ms]   (delay 5000 by default)
 *
 * Additions, mirrored by the Go version: port 0 is allowed and the chosen
 * port is reported; recvfrom asks for MSG_TRUNC, so a datagram larger than
 * the buffer is reported and not answered; replies go out with
 * MSG_DONTWAIT; SIGINT/SIGTERM/SIGHUP end the loop (recvfrom fails with EINTR;
 * a request in progress is finished first) and the socket is closed
 * before exit(0); SOCKLAB_QUIET stands for --quiet. The helpers are in
 * common.h.
 */
#include "common.h"

static void lengthy_action(int sock, char *message, ssize_t len,
                           struct sockaddr_in *client, long delay_ms) {
  sleep_ms(delay_ms);
  reply(sock, message, len, client);
}

int main(int argc, char *argv[]) {
  int sock;
  struct sockaddr_in client;
  char buffer[BUFFSIZE];
  socklen_t clientlen;
  ssize_t received;
  long delay_ms = argc > 2 ? atol(argv[2]) : 5000;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms]\n", argv[0]);
    exit(2);
  }
  catch_signals();
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
    lengthy_action(sock, buffer, received, &client, delay_ms);
  }
  guard_flush();
  close(sock);
  return 0;
}
