/* client.c: the TCP echo client of the series' Part 1, written for socklab
 * as the C twin of tcp/client.go.
 *
 *   socket -> connect -> send the word (all of it) -> recv 32 at a time
 *   until as many bytes came back -> print -> close
 *
 * The address must be a dotted quad (inet_pton, no name lookup); send
 * passes MSG_NOSIGNAL and loops; a server that closes early is an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFSIZE 32

static void die(const char *mess) { perror(mess); exit(1); }

int main(int argc, char *argv[]) {
  int sock;
  struct sockaddr_in echoserver;
  char buffer[BUFFSIZE];
  size_t echolen, sent = 0, received = 0;
  char *reply;

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
  if ((sock = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)) < 0)
    die("Failed to create socket");
  if (connect(sock, (struct sockaddr *)&echoserver, sizeof(echoserver)) < 0)
    die("Failed to connect with server");
  echolen = strlen(argv[2]);
  while (sent < echolen) {
    ssize_t n = send(sock, argv[2] + sent, echolen - sent, MSG_NOSIGNAL);
    if (n < 0)
      die("Mismatch in number of sent bytes");
    sent += n;
  }
  if (!(reply = malloc(echolen + 1)))
    die("Failed to allocate the reply");
  while (received < echolen) {
    size_t want = echolen - received < BUFFSIZE ? echolen - received : BUFFSIZE;
    ssize_t bytes = recv(sock, buffer, want, 0);
    if (bytes < 0)
      die("Failed to receive bytes from server");
    if (bytes == 0) {
      fprintf(stderr, "server closed before echoing every byte: %zu of %zu\n", received, echolen);
      exit(1);
    }
    memcpy(reply + received, buffer, bytes);
    received += bytes;
  }
  reply[received] = '\0';
  printf("Received: %s\n", reply);
  close(sock);
  free(reply);
  return 0;
}
