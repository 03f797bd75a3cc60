/* fork.c: the fork-per-connection TCP echo server (Stevens' tcpserv01.c,
 * the tutorial's forking model), written for socklab as the C twin of
 * tcp/fork.go.
 *
 *   socket -> bind -> listen(somaxconn) -> loop { accept -> report -> fork
 *                                          child: close(listen) -> str_echo -> close -> _exit
 *                                          parent: close(connection) }
 *   SIGCHLD handler: waitpid(-1, WNOHANG) until none has ended
 *
 * Usage: fork <port> [max_children]
 *
 * Additions, mirrored by the Go version: port 0 is allowed and reported;
 * send passes MSG_NOSIGNAL and loops (writen); at most max_children (512)
 * live children, over which the parent reaps what it can and then refuses
 * the client (closes it at once), counted on stderr; the child resets
 * SIGINT, SIGTERM and SIGHUP to their defaults. SIGCHLD is caught with SA_RESTART,
 * so accept is not interrupted by it; SIGINT/SIGTERM shut the listening
 * socket down (common.h), so accept fails (EINVAL or EINTR) and the loop
 * ends: the listening socket is closed, the
 * children of connections still open are sent SIGTERM, every child is
 * reaped, and the server exits 0.
 */
#include <sys/wait.h>

#include "common.h"

#define MAX_CHILDREN 512

static pid_t *kids; /* live children; 0 marks a free slot */
static int max_children;
static volatile sig_atomic_t live;

static void reap(int options) {
  int status, i, saved = errno;
  pid_t pid;
  while ((pid = waitpid(-1, &status, options)) > 0 || (pid < 0 && errno == EINTR)) {
    if (pid < 0)
      continue;
    for (i = 0; i < max_children; i++)
      if (kids[i] == pid) {
        kids[i] = 0;
        live--;
        break;
      }
  }
  errno = saved;
}

static void on_sigchld(int sig) { (void)sig; reap(WNOHANG); }

int main(int argc, char *argv[]) {
  int serversock, clientsock, i, refused = 0;
  struct sockaddr_in echoclient;
  socklen_t clientlen;
  struct sigaction sa;
  sigset_t chld, oldmask;
  pid_t pid;

  if (argc < 2 || argc > 3 || (max_children = argc > 2 ? atoi(argv[2]) : MAX_CHILDREN) < 1) {
    fprintf(stderr, "USAGE: %s <port> [max_children]\n", argv[0]);
    exit(2);
  }
  if ((kids = calloc(max_children, sizeof(*kids))) == NULL)
    die("Failed to allocate the child table");
  catch_signals();
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  serversock = listen_on(argv[1], backlog(0));
  shutdown_on_signal(serversock);
  while (!stop) {
    clientlen = sizeof(echoclient);
    if ((clientsock = accept(serversock, (struct sockaddr *)&echoclient, &clientlen)) < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EINVAL && stop)
        break; /* the handler shut the listening socket down */
      die("Failed to accept client connection");
    }
    connected(&echoclient);
    sigprocmask(SIG_BLOCK, &chld, &oldmask); /* live and kids are ours until the fork is counted */
    if (live >= max_children)
      reap(WNOHANG);
    if (live >= max_children) {
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      fprintf(stderr, "Refused client %s:%d: %d children (--max-children %d); %d refused so far\n",
              inet_ntoa(echoclient.sin_addr), ntohs(echoclient.sin_port), max_children, max_children, ++refused);
      close(clientsock);
      continue;
    }
    if ((pid = fork()) == 0) { /* child */
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      close(serversock);
      str_echo(clientsock);
      close(clientsock);
      _exit(0);
    }
    if (pid < 0) {
      perror("Failed to fork");
    } else {
      for (i = 0; kids[i] != 0; i++)
        ;
      kids[i] = pid;
      live++;
    }
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    close(clientsock); /* parent closes the connected socket */
  }
  close(serversock);
  sigprocmask(SIG_BLOCK, &chld, NULL); /* the children still serving are stopped */
  for (i = 0; i < max_children; i++)
    if (kids[i] != 0)
      kill(kids[i], SIGTERM);
  reap(0); /* until none is left */
  free(kids);
  return 0;
}
