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
 * SIGINT/SIGTERM end the loop and the socket is closed before exit(0);
 * SOCKLAB_QUIET in the environment stands for the Go version's --quiet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFSIZE 255

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *mess) { perror(mess); exit(1); }

int main(int argc, char *argv[]) {
  int sock, quiet = getenv("SOCKLAB_QUIET") != NULL;
  struct sockaddr_in echoserver, echoclient;
  char buffer[BUFFSIZE];
  socklen_t clientlen, serverlen;
  ssize_t received;
  struct sigaction sa;

  if (argc != 2) {
    fprintf(stderr, "USAGE: %s <port>\n", argv[0]);
    exit(2);
  }
  /* no SA_RESTART: a signal interrupts recvfrom with EINTR */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  if ((sock = socket(PF_INET, SOCK_DGRAM, IPPROTO_UDP)) < 0)
    die("Failed to create socket");
  memset(&echoserver, 0, sizeof(echoserver));
  echoserver.sin_family = AF_INET;
  echoserver.sin_addr.s_addr = htonl(INADDR_ANY);
  echoserver.sin_port = htons(atoi(argv[1]));
  serverlen = sizeof(echoserver);
  if (bind(sock, (struct sockaddr *)&echoserver, serverlen) < 0)
    die("Failed to bind server socket");
  if (echoserver.sin_port == 0) {
    if (getsockname(sock, (struct sockaddr *)&echoserver, &serverlen) < 0)
      die("Failed to get socket name");
    fprintf(stderr, "Listening on port %d\n", ntohs(echoserver.sin_port));
  }

  while (!stop) {
    clientlen = sizeof(echoclient);
    received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC,
                        (struct sockaddr *)&echoclient, &clientlen);
    if (received < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to receive message");
    }
    if (received > BUFFSIZE) {
      fprintf(stderr, "Datagram from %s:%d truncated: %zd bytes, buffer %d; not echoed\n",
              inet_ntoa(echoclient.sin_addr), ntohs(echoclient.sin_port),
              received, BUFFSIZE);
      continue;
    }
    if (!quiet)
      fprintf(stderr, "Client connected: %s\n", inet_ntoa(echoclient.sin_addr));
    if (sendto(sock, buffer, received, MSG_DONTWAIT, (struct sockaddr *)&echoclient,
               sizeof(echoclient)) != received)
      perror("Mismatch in number of echo'd bytes");
  }
  close(sock);
  return 0;
}
