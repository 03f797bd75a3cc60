/* echo_client.c: the UDP echo client of the tutorial's section 4, written
 * for socklab as the C twin of udp/echo_client.go.
 *
 *   socket -> sendto(server) -> recvfrom -> check sender -> print -> close
 *
 * Differences from the tutorial's program, mirrored by the Go version: the
 * address must be a dotted quad (inet_pton, no name lookup); a datagram
 * from any other address or port is reported and ignored, and recvfrom is
 * called again; recvfrom asks for MSG_TRUNC so a reply longer than the
 * buffer is an error rather than a silently cut string.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFSIZE 255

static void die(const char *mess) { perror(mess); exit(1); }

int main(int argc, char *argv[]) {
  int sock;
  struct sockaddr_in echoserver, echoclient;
  char buffer[BUFFSIZE + 1];
  socklen_t clientlen;
  size_t echolen;
  ssize_t received;

  if (argc != 4) {
    fprintf(stderr, "USAGE: %s <server_ip> <word> <port>\n", argv[0]);
    exit(2);
  }
  memset(&echoserver, 0, sizeof(echoserver));
  echoserver.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[1], &echoserver.sin_addr) != 1) {
    fprintf(stderr, "%s: not a dotted-quad IPv4 address\n", argv[1]);
    exit(2);
  }
  echoserver.sin_port = htons(atoi(argv[3]));

  if ((sock = socket(PF_INET, SOCK_DGRAM, IPPROTO_UDP)) < 0)
    die("Failed to create socket");
  echolen = strlen(argv[2]);
  if (sendto(sock, argv[2], echolen, 0, (struct sockaddr *)&echoserver,
             sizeof(echoserver)) != (ssize_t)echolen)
    die("Mismatch in number of sent bytes");

  for (;;) {
    clientlen = sizeof(echoclient);
    received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC,
                        (struct sockaddr *)&echoclient, &clientlen);
    if (received < 0)
      die("Failed to receive message");
    if (echoclient.sin_addr.s_addr == echoserver.sin_addr.s_addr &&
        echoclient.sin_port == echoserver.sin_port)
      break;
    fprintf(stderr, "Ignored a datagram from unexpected %s:%d\n",
            inet_ntoa(echoclient.sin_addr), ntohs(echoclient.sin_port));
  }
  if (received > BUFFSIZE) {
    fprintf(stderr, "Reply truncated: %zd bytes, buffer %d\n", received, BUFFSIZE);
    exit(1);
  }
  buffer[received] = '\0';
  printf("Received: %s\n", buffer);
  close(sock);
  if ((size_t)received != echolen || memcmp(buffer, argv[2], echolen) != 0) {
    fprintf(stderr, "Reply differs from the word sent\n");
    exit(1);
  }
  return 0;
}
