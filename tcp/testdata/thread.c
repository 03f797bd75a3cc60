/* thread.c: the thread-per-connection TCP echo server, written for
 * socklab as the C twin of tcp/thread.go.
 *
 *   socket -> bind -> listen(20) -> loop { accept -> report -> pthread_create(str_echo -> close) }
 *
 * Threads are detached and block SIGINT/SIGTERM, so the signal reaches the
 * main thread, whose handler shuts the listening socket down (common.h):
 * accept fails (EINVAL or EINTR), the process closes its listening socket
 * and exits 0, and the kernel closes the connections.
 */
#include <pthread.h>

#include "common.h"

static void *serve(void *arg) {
  int sock = (int)(long)arg;
  str_echo(sock);
  close(sock);
  return NULL;
}

int main(int argc, char *argv[]) {
  int serversock, clientsock;
  struct sockaddr_in echoclient;
  socklen_t clientlen;
  pthread_t tid;
  pthread_attr_t attr;
  sigset_t block, old;

  if (argc != 2) {
    fprintf(stderr, "USAGE: %s <port>\n", argv[0]);
    exit(2);
  }
  catch_signals();
  serversock = listen_on(argv[1]);
  shutdown_on_signal(serversock);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
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
    pthread_sigmask(SIG_BLOCK, &block, &old); /* the thread inherits the mask */
    if (pthread_create(&tid, &attr, serve, (void *)(long)clientsock) != 0) {
      perror("Failed to create a thread");
      close(clientsock);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  close(serversock);
  return 0;
}
