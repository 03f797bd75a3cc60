/* slow_client.c: the tutorial's "slow connection" client of section 6,
 * written for socklab as the C twin of tcp/slow_client.go.
 *
 *   N threads at once: socket -> connect -> for each byte { send 1; sleep } ->
 *                      until all back { recv 1; sleep } -> close -> print
 *
 * USAGE: slow_client <server_ip> <word> <port> [clients] [delay_ms]
 * (defaults 20 and 100, the tutorial's). Connection n sends "<word> [n]".
 * A connection whose echo is wrong or missing is reported by number and
 * the program exits 1; the elapsed time is printed last, as "N.NN seconds".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in echoserver;
static const char *word;
static long delay_ms = 100;
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;
static int failed;

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static void *request(void *arg) {
  long n = (long)arg;
  char mess[512], data[512];
  size_t messlen, received = 0, i;
  const char *why = NULL;
  int sock;

  snprintf(mess, sizeof(mess), "%s [%ld]", word, n);
  messlen = strlen(mess);
  if ((sock = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)) < 0) {
    why = "socket";
  } else if (connect(sock, (struct sockaddr *)&echoserver, sizeof(echoserver)) < 0) {
    why = "connect";
  } else {
    for (i = 0; i < messlen && !why; i++) {
      if (send(sock, mess + i, 1, MSG_NOSIGNAL) != 1)
        why = "send";
      pause_ms(delay_ms);
    }
    while (received < messlen && !why) {
      ssize_t r = recv(sock, data + received, 1, 0);
      if (r <= 0)
        why = r == 0 ? "server closed before echoing every byte" : "recv";
      else
        received++;
      pause_ms(delay_ms);
    }
  }
  if (sock >= 0)
    close(sock);
  data[received] = '\0';
  pthread_mutex_lock(&out);
  if (!why && strcmp(data, mess) != 0)
    why = "wrong echo";
  if (why) {
    fprintf(stderr, "connection %ld: %s (%s)\n", n, why, errno ? strerror(errno) : "");
    failed = 1;
  } else {
    printf("Received: %s\n", data);
    fflush(stdout);
  }
  pthread_mutex_unlock(&out);
  return NULL;
}

int main(int argc, char *argv[]) {
  long clients = 20, n;
  pthread_t tids[1000];
  struct timespec t0, t1;

  if (argc < 4 || argc > 6) {
    fprintf(stderr, "USAGE: %s <server_ip> <word> <port> [clients] [delay_ms]\n", argv[0]);
    exit(2);
  }
  memset(&echoserver, 0, sizeof(echoserver));
  echoserver.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[1], &echoserver.sin_addr) != 1) {
    fprintf(stderr, "%s: not a dotted-quad IPv4 address\n", argv[1]);
    exit(2);
  }
  echoserver.sin_port = htons(atoi(argv[3]));
  word = argv[2];
  if (strlen(word) > 400) {
    fprintf(stderr, "word: at most 400 bytes\n");
    exit(2);
  }
  if (argc > 4 && ((clients = atol(argv[4])) < 1 || clients > 1000)) {
    fprintf(stderr, "clients: 1 to 1000\n");
    exit(2);
  }
  if (argc > 5 && (delay_ms = atol(argv[5])) < 0) {
    fprintf(stderr, "delay_ms: not negative\n");
    exit(2);
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (n = 0; n < clients; n++)
    if (pthread_create(&tids[n], NULL, request, (void *)n) != 0) {
      perror("Failed to create a thread");
      exit(1);
    }
  for (n = 0; n < clients; n++)
    pthread_join(tids[n], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.2f seconds\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return failed;
}
