/* lengthy_forkexec.c: a lengthy-action server that hands each request to a
 * new program, this one again, with fork and execve (not in the tutorial;
 * what Go must do where C would just fork), written for socklab as the C
 * twin of udp/lengthy_forkexec.go.
 *
 *   socket -> bind -> loop { recvfrom -> report -> fork
 *                            child: dup2(sock, 3) -> execve(self, role and request) }
 *   new program (udp-lengthy-child DELAY IP:PORT MESSAGE): sleep -> toupper -> sendto(3) -> exit
 *   SIGCHLD handler: waitpid(-1, WNOHANG) until none has ended (reap)
 *
 * Usage: lengthy_forkexec <port> [delay_ms [max_children]]
 *
 * The role travels in argv, as in the Go version: the first argument
 * udp-lengthy-child, then the delay ("50ms"), the client (ip:port) and the
 * message in hex; the socket is fd 3. A wrong role invocation gets one line
 * and exit 2.
 *
 * Additions, mirrored by the Go version: port 0 reported, MSG_TRUNC,
 * MSG_DONTWAIT replies, SOCKLAB_QUIET (see lengthy_iterative.c); at most
 * max_children (64) children, over which a request is dropped and counted
 * on stderr; a child ignores SIGINT, SIGTERM and SIGHUP and dies with the server
 * (PR_SET_PDEATHSIG); a failed sendto is its exit status 1, which the
 * parent reports; on SIGINT/SIGTERM/SIGHUP the loop ends and the children in
 * progress finish and are reaped before the socket is closed.
 *
 * Differences from the Go version, from Go itself: os/exec creates the
 * child with clone(CLONE_VM|CLONE_VFORK) where C forks, learns of a failed
 * execve through a close-on-exec pipe, hands the child a close-on-exec
 * duplicate of the socket (fcntl F_DUPFD_CLOEXEC, once) that the child
 * moves to fd 3 with dup3 (C's dup2 finds its socket there already), and
 * waits for each child in a goroutine of its own where C reaps on SIGCHLD.
 * Its first child is a probe: os/exec checks once that clone takes
 * CLONE_PIDFD, with a child that exits at once.
 */
#include "common.h"
#include <sys/prctl.h>
#include <sys/stat.h>

#define ROLE_CHILD "udp-lengthy-child"
#define CHILD_FD 3

/* the new program: lengthy_action on the request in argv, on fd 3 */
static int child(int argc, char *argv[]) {
  struct sockaddr_in client;
  char message[BUFFSIZE], *end, *port;
  long delay_ms;
  ssize_t len, i;
  unsigned int byte;
  struct stat st;

  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  if (argc != 5) {
    fprintf(stderr, "%s: want DELAY IP:PORT MESSAGE, got %d arguments\n", ROLE_CHILD, argc - 2);
    return 2;
  }
  delay_ms = strtol(argv[2], &end, 10);
  if (end == argv[2] || strcmp(end, "ms") != 0 || delay_ms < 0) {
    fprintf(stderr, "%s: delay \"%s\": want milliseconds such as 50ms\n", ROLE_CHILD, argv[2]);
    return 2;
  }
  memset(&client, 0, sizeof(client));
  client.sin_family = AF_INET;
  port = strchr(argv[3], ':');
  if (port != NULL)
    *port++ = '\0';
  if (port == NULL || inet_pton(AF_INET, argv[3], &client.sin_addr) != 1 || atoi(port) < 1 || atoi(port) > 65535) {
    fprintf(stderr, "%s: client: want a dotted quad and a port, 127.0.0.1:7777\n", ROLE_CHILD);
    return 2;
  }
  client.sin_port = htons(atoi(port));
  len = strlen(argv[4]) / 2;
  for (i = 0; i < len && i < BUFFSIZE && sscanf(argv[4] + 2 * i, "%2x", &byte) == 1; i++)
    message[i] = byte;
  if (i != len || strlen(argv[4]) % 2 != 0) {
    fprintf(stderr, "%s: message \"%s\": want up to %d bytes in hex\n", ROLE_CHILD, argv[4], BUFFSIZE);
    return 2;
  }
  if (fstat(CHILD_FD, &st) < 0 || !S_ISSOCK(st.st_mode)) {
    fprintf(stderr, "%s: descriptor %d is not the server's socket\n", ROLE_CHILD, CHILD_FD);
    return 2;
  }
  sleep_ms(delay_ms);
  return reply(CHILD_FD, message, len, &client) < 0 ? 1 : 0;
}

int main(int argc, char *argv[]) {
  int sock, drops = 0;
  struct sockaddr_in client;
  char buffer[BUFFSIZE], delay[32], to[32], hex[2 * BUFFSIZE + 1];
  char *args[] = {"/proc/self/exe", ROLE_CHILD, delay, to, hex, NULL};
  socklen_t clientlen;
  ssize_t received, i;
  long delay_ms;
  int max_children;
  sigset_t chld, oldmask;
  pid_t pid;

  if (argc > 1 && strcmp(argv[1], ROLE_CHILD) == 0)
    return child(argc, argv);
  delay_ms = argc > 2 ? atol(argv[2]) : 5000;
  max_children = argc > 3 ? atoi(argv[3]) : 64;
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms [max_children]]\n", argv[0]);
    exit(2);
  }
  catch_signals();
  catch_sigchld(&chld);
  sock = bind_on(argv[1]);
  shutdown_on_signal(sock); /* a signal just before recvfrom cannot be lost */
  snprintf(delay, sizeof(delay), "%ldms", delay_ms);
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
    if (children >= max_children) {
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      dropped(&client, children, max_children, &drops);
      continue;
    }
    snprintf(to, sizeof(to), "%s:%d", inet_ntoa(client.sin_addr), ntohs(client.sin_port));
    for (i = 0; i < received; i++)
      sprintf(hex + 2 * i, "%02x", (unsigned char)buffer[i]);
    hex[2 * received] = '\0';
    if ((pid = fork()) == 0) { /* child: this program again, in the child role */
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (dup2(sock, CHILD_FD) < 0) /* a no-op where the socket is fd 3 already */
        _exit(127);
      execv(args[0], args);
      _exit(127);
    }
    if (pid < 0)
      perror("Failed to start a child");
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
