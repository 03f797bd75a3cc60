/* lengthy_prefork.c: a preforked lengthy-action server (after Stevens' UNIX
 * Network Programming, chapter 30; not in the tutorial), written for
 * socklab as the C twin of udp/lengthy_prefork.go.
 *
 *   socket -> bind -> workers x fork
 *   worker: loop { recvfrom -> report -> sleep -> toupper -> sendto }
 *   parent: waitpid until every worker has exited
 *
 * Usage: lengthy_prefork <port> [delay_ms [workers]]   (20 workers by default)
 *
 * Every worker blocks in recvfrom on the one socket they all inherited, and
 * the kernel hands each datagram to one of them: no process is created per
 * request, and no more than workers requests are served at once.
 *
 * Additions, mirrored by the Go version: port 0 reported, MSG_TRUNC,
 * MSG_DONTWAIT replies, SOCKLAB_QUIET (see lengthy_iterative.c); at most
 * 1024 workers. The workers die with the parent (PR_SET_PDEATHSIG). On
 * SIGINT/SIGTERM/SIGHUP the parent's handler shuts the socket down for
 * reading (common.h), as Go's StopLengthy does, which wakes every worker's
 * recvfrom with no datagram from no sender, and the parent forwards SIGTERM
 * to the workers, whose handler sets their stop flag: each finishes the
 * request it has in progress and exits, however many datagrams are still
 * queued, and the parent reaps them all before it closes the socket. A
 * signal during start-up forks no more workers. A worker that fails makes
 * the exit status 1.
 *
 * Differences from the Go version, from Go itself: Go cannot fork and go on
 * running Go code, so its workers are the program itself again, started
 * by os/exec (clone(CLONE_VM|CLONE_VFORK) and execve), with a duplicate of
 * the socket moved to their fd 3; a C worker is a plain fork that goes on
 * with the socket it has.
 */
#include "common.h"
#include <sys/prctl.h>

static void lengthy_action(int sock, char *message, ssize_t len,
                           struct sockaddr_in *client, long delay_ms) {
  sleep_ms(delay_ms);
  reply(sock, message, len, client);
}

/* the worker: lengthy_iterative.c's loop, until stopped or shut down */
static void worker(int sock, long delay_ms) {
  struct sockaddr_in client;
  char buffer[BUFFSIZE];
  socklen_t clientlen;
  ssize_t received;

  while (!stop) {
    clientlen = sizeof(client);
    received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC,
                        (struct sockaddr *)&client, &clientlen);
    if (received < 0) {
      if (errno == EINTR)
        continue;
      die("Failed to receive message");
    }
    if (received == 0 && clientlen == 0) /* shut down: no datagram, no sender */
      break;
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
}

/* the workers started, for the handler to forward a stop to (0: reaped) */
static pid_t *pids;
static volatile sig_atomic_t started;

/* common.h's on_signal (stop, shutdown), then SIGTERM to every worker */
static void on_stop(int sig) {
  int i, saved = errno;
  on_signal(sig);
  for (i = 0; i < started; i++)
    if (pids[i] > 0)
      kill(pids[i], SIGTERM);
  errno = saved;
}

int main(int argc, char *argv[]) {
  int sock, i, status, running = 0, failed = 0;
  long delay_ms = argc > 2 ? atol(argv[2]) : 5000;
  int workers = argc > 3 ? atoi(argv[3]) : 20;
  pid_t pid;
  struct sigaction sa;
  sigset_t stopsigs, oldmask;

  if (argc < 2 || argc > 4 || workers < 1 || workers > 1024) {
    fprintf(stderr, "USAGE: %s <port> [delay_ms [workers (1 to 1024)]]\n", argv[0]);
    exit(2);
  }
  if ((pids = calloc(workers, sizeof(*pids))) == NULL)
    die("Failed to allocate the worker table");
  catch_signals();
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop; /* no SA_RESTART, as catch_signals */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigemptyset(&stopsigs);
  sigaddset(&stopsigs, SIGINT);
  sigaddset(&stopsigs, SIGTERM);
  sigaddset(&stopsigs, SIGHUP);
  sock = bind_on(argv[1]);
  shutdown_on_signal(sock);
  for (i = 0; i < workers && !stop; i++) {
    sigprocmask(SIG_BLOCK, &stopsigs, &oldmask); /* a stop now finds the worker in pids */
    if ((pid = fork()) == 0) { /* worker: a signal sets stop, the socket stays up */
      started = 0;
      stop_sock = -1;
      sigprocmask(SIG_SETMASK, &oldmask, NULL);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      worker(sock, delay_ms);
      _exit(0);
    }
    if (pid < 0) { /* no worker is left behind */
      perror("Failed to start a worker");
      while (i-- > 0) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &status, 0);
      }
      exit(1);
    }
    pids[i] = pid;
    started = i + 1;
    running++;
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
  }
  while (running > 0) {
    if ((pid = waitpid(-1, &status, 0)) < 0) {
      if (errno == EINTR)
        continue; /* the handler shut the socket down and told the workers */
      die("Failed to wait for a worker");
    }
    for (i = 0; i < started; i++)
      if (pids[i] == pid)
        pids[i] = 0;
    running--;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "Worker (pid %d) failed: status %#x\n", pid, status);
      failed = 1;
    }
  }
  started = 0; /* the handler forwards to no one now */
  free(pids);
  close(sock);
  return failed;
}
