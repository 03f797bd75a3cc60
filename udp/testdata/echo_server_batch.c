/* echo_server_batch.c: the UDP echo server with recvmmsg/sendmmsg, up to
 * BATCH datagrams a call; the C twin of udp/echo_batch.go and the yardstick
 * for `socklab udp-echo-server --batch`. Not in the tutorial: a
 * performance variant of echo_server.c.
 *
 *   socket -> bind -> loop { recvmmsg(n) -> report each -> sendmmsg(n) }
 *
 * Usage: echo_server_batch <port> [batch] (batch 1..1024, default 32). Port 0
 * is allowed and reported; SIGINT/SIGTERM close the socket and exit(0);
 * SOCKLAB_QUIET in the environment stands for --quiet. sendmmsg passes
 * MSG_DONTWAIT: replies that do not fit the send buffer are dropped and
 * reported, as in echo_server.c.
 */
#define _GNU_SOURCE
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
#define MAXBATCH 1024

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *mess) { perror(mess); exit(1); }

static struct mmsghdr msgs[MAXBATCH];
static struct iovec iovs[MAXBATCH];
static struct sockaddr_in peers[MAXBATCH];
static char bufs[MAXBATCH][BUFFSIZE];

int main(int argc, char *argv[]) {
  int sock, batch = 32, quiet = getenv("SOCKLAB_QUIET") != NULL;
  struct sockaddr_in echoserver;
  socklen_t serverlen;
  struct sigaction sa;

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "USAGE: %s <port> [batch]\n", argv[0]);
    exit(2);
  }
  if (argc == 3)
    batch = atoi(argv[2]);
  if (batch < 1 || batch > MAXBATCH) {
    fprintf(stderr, "batch must be 1..%d\n", MAXBATCH);
    exit(2);
  }
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
    /* reset every header: the compaction below moves them around */
    for (int i = 0; i < batch; i++) {
      iovs[i].iov_base = bufs[i];
      iovs[i].iov_len = BUFFSIZE;
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &peers[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
      msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(sock, msgs, batch, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to receive messages");
    }
    int out = 0;
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        fprintf(stderr, "Datagram from %s:%d truncated; not echoed\n",
                inet_ntoa(peers[i].sin_addr), ntohs(peers[i].sin_port));
        continue;
      }
      if (!quiet)
        fprintf(stderr, "Client connected: %s\n", inet_ntoa(peers[i].sin_addr));
      iovs[i].iov_len = msgs[i].msg_len;
      if (out != i) {
        msgs[out] = msgs[i];
      }
      out++;
    }
    for (int sent = 0; sent < out;) {
      int m = sendmmsg(sock, msgs + sent, out - sent, MSG_DONTWAIT);
      if (m < 0) {
        fprintf(stderr, "Failed to send messages: %d replies dropped: %s\n",
                out - sent, strerror(errno));
        break;
      }
      sent += m;
    }
  }
  close(sock);
  return 0;
}
