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
 * The reports are held back until a connection succeeds: when none does
 * (no server: connection refused), one line says that every one failed
 * and why the first did, and no time is printed.
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
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER; /* stdout, stderr, what follows */
static long right, failed;
static char first[300];           /* why the first connection to fail failed */
static char held[1000][320];      /* reports held back until a connection succeeds */
static long nheld;

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static void *request(void *arg) {
  long n = (long)arg;
  char mess[512], data[512], why[300] = "";
  size_t messlen, received = 0, i;
  int sock;

  snprintf(mess, sizeof(mess), "%s [%ld]", word, n);
  messlen = strlen(mess);
  if ((sock = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)) < 0) {
    snprintf(why, sizeof(why), "Failed to create socket: %s", strerror(errno));
  } else if (connect(sock, (struct sockaddr *)&echoserver, sizeof(echoserver)) < 0) {
    snprintf(why, sizeof(why), "Failed to connect with server: %s", strerror(errno));
  } else {
    for (i = 0; i < messlen && !why[0]; i++) {
      if (send(sock, mess + i, 1, MSG_NOSIGNAL) != 1)
        snprintf(why, sizeof(why), "Failed to send byte %zu: %s", i, strerror(errno));
      pause_ms(delay_ms);
    }
    while (received < messlen && !why[0]) {
      ssize_t r = recv(sock, data + received, 1, 0);
      if (r < 0)
        snprintf(why, sizeof(why), "Failed to receive byte %zu: %s", received, strerror(errno));
      else if (r == 0)
        snprintf(why, sizeof(why), "server closed before echoing every byte: %zu of %zu", received, messlen);
      else
        received++;
      pause_ms(delay_ms);
    }
  }
  if (sock >= 0)
    close(sock);
  data[received] = '\0';
  if (!why[0] && strcmp(data, mess) != 0)
    snprintf(why, sizeof(why), "echo \"%.100s\", want \"%.100s\"", data, mess);
  pthread_mutex_lock(&out);
  if (why[0]) {
    if (failed++ == 0)
      snprintf(first, sizeof(first), "%s", why);
    if (right > 0)
      fprintf(stderr, "connection %ld: %s\n", n, why);
    else /* held back: if no connection succeeds, main says so instead */
      snprintf(held[nheld++], sizeof(held[0]), "connection %ld: %s", n, why);
  } else {
    if (right++ == 0)
      for (i = 0; i < (size_t)nheld; i++)
        fprintf(stderr, "%s\n", held[i]);
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
  if (right == 0) {
    fprintf(stderr, "every one of the %ld clients failed; first: %s\n", clients, first);
    return 1;
  }
  printf("%.2f seconds\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return failed > 0;
}
