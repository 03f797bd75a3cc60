/* thread.c: the thread-per-connection TCP echo server, written for
 * socklab as the C twin of tcp/thread.go.
 *
 *   socket -> bind -> listen(somaxconn) -> loop { accept -> report -> pthread_create(str_echo -> close) }
 *
 * Threads are detached and block SIGINT/SIGTERM/SIGHUP, so the signal reaches the
 * main thread, whose handler shuts the listening socket down (common.h):
 * accept fails (EINVAL or EINTR), the process closes its listening socket
 * and exits 0, and the kernel closes the connections.
 *
 * USAGE: thread <port> [max_clients] (default 4096, as the Go version's
 * tcp.DefaultMaxThreads). A client over the bound is refused (reported
 * and closed at once), counted on stderr: a server never dies of its
 * clients, and a Go program has at most 10000 threads.
 */
#include <pthread.h>

#include "common.h"

static int live; /* threads serving, with __atomic operations */

static void *serve(void *arg) {
  int sock = (int)(long)arg;
  str_echo(sock);
  close(sock);
  __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char *argv[]) {
  int serversock, clientsock, max_clients = 4096, refused = 0;
  struct sockaddr_in echoclient;
  socklen_t clientlen;
  pthread_t tid;
  pthread_attr_t attr;
  sigset_t block, old;

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "USAGE: %s <port> [max_clients]\n", argv[0]);
    exit(2);
  }
  if (argc == 3 && (max_clients = atoi(argv[2])) < 1) {
    fprintf(stderr, "max_clients: 1 or more\n");
    exit(2);
  }
  catch_signals();
  serversock = listen_on(argv[1], backlog(0));
  shutdown_on_signal(serversock);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  while (!stop) {
    clientlen = sizeof(echoclient);
    if ((clientsock = accept(serversock, (struct sockaddr *)&echoclient, &clientlen)) < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
        continue;
      if (errno == EINVAL && stop)
        break; /* the handler shut the listening socket down */
      die("Failed to accept client connection");
    }
    connected(&echoclient);
    if (__atomic_load_n(&live, __ATOMIC_SEQ_CST) >= max_clients) {
      fprintf(stderr, "Refused client %s:%d: %d threads (--max-clients %d); %d refused so far\n",
              inet_ntoa(echoclient.sin_addr), ntohs(echoclient.sin_port), max_clients, max_clients, ++refused);
      close(clientsock);
      continue;
    }
    __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* the thread inherits the mask */
    if (pthread_create(&tid, &attr, serve, (void *)(long)clientsock) != 0) {
      perror("Failed to create a thread");
      __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
      close(clientsock);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  close(serversock);
  return 0;
}
