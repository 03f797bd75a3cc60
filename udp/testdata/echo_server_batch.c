/* echo_server_batch.c: the UDP echo server with recvmmsg/sendmmsg, up to
 * BATCH datagrams a call; the C twin of udp/echo_batch.go and the yardstick
 * for `socklab udp-echo-server --batch`. Not in the tutorial: a
 * performance variant of echo_server.c.
 *
 *   socket -> bind -> loop { recvmmsg(n) -> report each -> sendmmsg(n) }
 *
 * Usage: echo_server_batch <port> [batch] (batch 1..1024, default 32). Port 0
 * is allowed and reported; SIGINT/SIGTERM/SIGHUP close the socket and exit(0);
 * SOCKLAB_QUIET in the environment stands for --quiet. sendmmsg passes
 * MSG_DONTWAIT: replies that do not fit the send buffer are dropped and
 * reported, as in echo_server.c.
 */
#define _GNU_SOURCE
#include "common.h"

#define MAXBATCH 1024

static struct mmsghdr msgs[MAXBATCH];
static struct iovec iovs[MAXBATCH];
static struct sockaddr_in peers[MAXBATCH];
static char bufs[MAXBATCH][BUFFSIZE];

int main(int argc, char *argv[]) {
  int sock, batch = 32;

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
  catch_signals();
  sock = bind_on(argv[1]);
  shutdown_on_signal(sock); /* a signal just before recvmmsg cannot be lost */
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
      if (msgs[i].msg_hdr.msg_namelen == 0) {
        n = i; /* shut down by the handler: no datagram, no sender */
        break;
      }
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        fprintf(stderr, "Datagram from %s:%d truncated; not echoed\n",
                inet_ntoa(peers[i].sin_addr), ntohs(peers[i].sin_port));
        continue;
      }
      if (refused(&peers[i]))
        continue; /* the loop guard (common.h) */
      connected(&peers[i]);
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
  guard_flush();
  close(sock);
  return 0;
}
