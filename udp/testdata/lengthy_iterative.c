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
 * MSG_DONTWAIT; SIGINT/SIGTERM end the loop (recvfrom fails with EINTR)
 * and the socket is closed before exit(0); SOCKLAB_QUIET stands for
 * --quiet.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFSIZE 255

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *mess) { perror(mess); exit(1); }

static void lengthy_action(int sock, char *message, ssize_t len,
                           struct sockaddr_in *client, long delay_ms) {
  struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
  ssize_t i;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
    ;
  for (i = 0; i < len; i++)
    message[i] = toupper((unsigned char)message[i]);
  if (sendto(sock, message, len, MSG_DONTWAIT, (struct sockaddr *)client,
             sizeof(*client)) != len)
    perror("Mismatch in number of sent bytes");
}

int main(int argc, char *argv[]) {
  int sock, quiet = getenv("SOCKLAB_QUIET") != NULL;
  struct sockaddr_in server, client;
  char buffer[BUFFSIZE];
  socklen_t clientlen, serverlen;
  ssize_t received;
  long delay_ms = argc > 2 ? atol(argv[2]) : 5000;
  struct sigaction sa;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms]\n", argv[0]);
    exit(2);
  }
  memset(&sa, 0, sizeof(sa)); /* no SA_RESTART: recvfrom fails with EINTR */
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  if ((sock = socket(PF_INET, SOCK_DGRAM, IPPROTO_UDP)) < 0)
    die("Failed to create socket");
  memset(&server, 0, sizeof(server));
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_ANY);
  server.sin_port = htons(atoi(argv[1]));
  serverlen = sizeof(server);
  if (bind(sock, (struct sockaddr *)&server, serverlen) < 0)
    die("Failed to bind server socket");
  if (server.sin_port == 0) {
    if (getsockname(sock, (struct sockaddr *)&server, &serverlen) < 0)
      die("Failed to get socket name");
    fprintf(stderr, "Listening on port %d\n", ntohs(server.sin_port));
  }

  while (!stop) {
    clientlen = sizeof(client);
    received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC,
                        (struct sockaddr *)&client, &clientlen);
    if (received < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to receive message");
    }
    if (received > BUFFSIZE) {
      fprintf(stderr, "Datagram from %s:%d truncated: %zd bytes, buffer %d; not answered\n",
              inet_ntoa(client.sin_addr), ntohs(client.sin_port), received, BUFFSIZE);
      continue;
    }
    if (!quiet)
      fprintf(stderr, "Client connected: %s\n", inet_ntoa(client.sin_addr));
    lengthy_action(sock, buffer, received, &client, delay_ms);
  }
  close(sock);
  return 0;
}
