/* lengthy_fork.c: the tutorial's forking server of section 6 (a process per
 * request), written for socklab as the C twin of udp/lengthy_fork.go.
 *
 *   socket -> bind -> loop { recvfrom -> report -> fork
 *                            child: sleep -> toupper -> sendto -> _exit }
 *   SIGCHLD handler: waitpid(-1, WNOHANG) until none has ended (reap)
 *
 * Usage: lengthy_fork <port> [delay_ms [max_children]]
 *
 * Additions, mirrored by the Go version: port 0 reported, MSG_TRUNC,
 * MSG_DONTWAIT replies, SOCKLAB_QUIET (see lengthy_iterative.c); at most
 * max_children (64) live children, over which the parent reaps what it can
 * and then drops the request, counted on stderr; the child resets SIGINT,
 * SIGTERM and SIGHUP to their defaults and reports a failed sendto in its exit
 * status, which the parent prints; on SIGINT/SIGTERM/SIGHUP the loop ends and the
 * children in progress finish and are reaped before the socket is closed.
 * SIGCHLD is caught with SA_RESTART, so recvfrom is not interrupted by it.
 * The helpers are in common.h.
 */
#include "common.h"

/* the child's: a failed sendto is its exit status, which the parent reports */
static void lengthy_action(int sock, char *message, ssize_t len,
                           struct sockaddr_in *client, long delay_ms) {
  sleep_ms(delay_ms);
  to_upper(message, len);
  if (sendto(sock, message, len, MSG_DONTWAIT, (struct sockaddr *)client,
             sizeof(*client)) != len)
    _exit(errno ? errno & 0xff : 255);
}

int main(int argc, char *argv[]) {
  int sock, drops = 0;
  struct sockaddr_in client;
  char buffer[BUFFSIZE];
  socklen_t clientlen;
  ssize_t received;
  long delay_ms = argc > 2 ? atol(argv[2]) : 5000;
  int max_children = argc > 3 ? atoi(argv[3]) : 64;
  sigset_t chld, oldmask;
  pid_t pid;

  if (argc < 2 || argc > 4) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms [max_children]]\n", argv[0]);
    exit(2);
  }
  catch_signals();
  catch_sigchld(&chld);
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
    sigprocmask(SIG_BLOCK, &chld, &oldmask); /* the count is ours until the fork is counted */
    if (children >= max_children)
      reap(WNOHANG);
    if (children >= max_children) {
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      dropped(&client, max_children, max_children, &drops);
      continue;
    }
    if ((pid = fork()) == 0) { /* child */
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      lengthy_action(sock, buffer, received, &client, delay_ms);
      _exit(0);
    }
    if (pid < 0)
      perror("Failed to fork");
    else
      children++;
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
  }
  while (children > 0) /* the children in progress finish */
    reap(0);
  guard_flush();
  close(sock);
  return 0;
}
