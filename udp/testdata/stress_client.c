/* stress_client.c: the threaded stress client of the tutorial's section 6
 * (UDPechoclient2.py), written for socklab as the C twin of
 * udp/stress_client.go.
 *
 *   N threads at once: socket -> sendto(server) -> recvfrom -> check sender
 *                      -> close -> print; then the total time
 *
 * USAGE: stress_client <server_ip> <word> <port> [clients [timeout_ms]]
 * (defaults 20, the tutorial's, and 0: wait forever, as the tutorial's
 * client does). Client n sends "<word> [n]" from a socket of its own and
 * must get it back upper-cased, as the lengthy-action servers make it.
 * Each reply is printed as it arrives, "N.NN seconds" last.
 *
 * Differences from the tutorial's client, mirrored by the Go version:
 *   - each reply is checked; a lost one (with timeout_ms), a wrong one or
 *     one longer than the buffer is reported by its client's number, the
 *     run's tally goes to stderr after the time and the exit status is 1;
 *   - the reports are held back until a client gets its right reply: when
 *     none does (nothing answered within timeout_ms), one line says that
 *     every client failed and why the first did, and no time is printed;
 *   - as in echo_client.c: a dotted quad only, a datagram from anyone but
 *     the server is reported and ignored, recvfrom passes MSG_TRUNC;
 *   - timeout_ms > 0 sets SO_RCVTIMEO after socket, and a stray datagram
 *     does not restart the clock (setsockopt again with what is left).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUFFSIZE 255
#define MAXCLIENTS 10000

static struct sockaddr_in echoserver;
static const char *word;
static long timeout_ms; /* 0: wait forever */
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER; /* stdout, stderr's reports, result */
static enum { RIGHT, MISSING, WRONG } result[MAXCLIENTS];
static long nright, nfailed;
static char first[600];            /* why the first client to fail failed */
static char held[MAXCLIENTS][144]; /* failed clients' reports, until a right reply */
static long nheld;

/* failed notes why client n failed and, if report, prints "[n]: why":
 * held back until a client gets its right reply, so that a run in which
 * none does says only that (main). Called with out locked. */
static void failed(long n, const char *why, int report) {
  if (nfailed++ == 0)
    snprintf(first, sizeof(first), "%s", why);
  if (!report)
    return;
  if (nright == 0)
    snprintf(held[nheld++], sizeof(held[0]), "[%ld]: %s", n, why);
  else
    fprintf(stderr, "[%ld]: %s\n", n, why);
}

/* right counts a right reply; the first prints the held reports. */
static void right(void) {
  long i;
  if (nright++ == 0)
    for (i = 0; i < nheld; i++)
      fprintf(stderr, "%s\n", held[i]);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* timeval_of rounds ns up to whole microseconds: a tiny wait never
 * becomes a zeroed timeval, which would wait forever. */
static struct timeval timeval_of(long long ns) {
  long long us = (ns + 999) / 1000;
  struct timeval tv = {us / 1000000, us % 1000000};
  return tv;
}

static void *request(void *arg) {
  long n = (long)arg;
  char mess[BUFFSIZE + 1], buffer[BUFFSIZE + 1], why[600] = "", from[INET_ADDRSTRLEN];
  struct sockaddr_in echoclient;
  socklen_t clientlen;
  struct timeval tv = timeval_of(timeout_ms * 1000000LL);
  long long deadline = now_ns() + timeout_ms * 1000000LL;
  ssize_t sent, received = 0;
  size_t messlen, i;
  int sock, lost = 0;

  snprintf(mess, sizeof(mess), "%s [%ld]", word, n);
  messlen = strlen(mess);
  if ((sock = socket(PF_INET, SOCK_DGRAM, IPPROTO_UDP)) < 0) {
    snprintf(why, sizeof(why), "Failed to create socket: %m");
  } else if (timeout_ms > 0 && setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
    snprintf(why, sizeof(why), "Failed to set the receive timeout: %m");
  } else if ((sent = sendto(sock, mess, messlen, 0, (struct sockaddr *)&echoserver,
                            sizeof(echoserver))) < 0) {
    snprintf(why, sizeof(why), "Mismatch in number of sent bytes: %m");
  } else if ((size_t)sent != messlen) {
    snprintf(why, sizeof(why), "Mismatch in number of sent bytes: %zd of %zu", sent, messlen);
  } else {
    for (;;) {
      clientlen = sizeof(echoclient);
      received = recvfrom(sock, buffer, BUFFSIZE, MSG_TRUNC, (struct sockaddr *)&echoclient,
                          &clientlen);
      if (received < 0 && errno == EAGAIN) { /* SO_RCVTIMEO expired */
        lost = 1;
        break;
      }
      if (received < 0) {
        snprintf(why, sizeof(why), "Failed to receive message: %m");
        break;
      }
      if (echoclient.sin_addr.s_addr == echoserver.sin_addr.s_addr &&
          echoclient.sin_port == echoserver.sin_port) {
        if (received > BUFFSIZE)
          snprintf(why, sizeof(why), "reply longer than the buffer: %zd bytes, buffer %d", received, BUFFSIZE);
        break;
      }
      inet_ntop(AF_INET, &echoclient.sin_addr, from, sizeof(from));
      fprintf(stderr, "Ignored a datagram from unexpected %s:%d\n", from, ntohs(echoclient.sin_port));
      if (timeout_ms > 0) { /* a stray does not restart the clock */
        long long left = deadline - now_ns();
        if (left <= 0) {
          lost = 1;
          break;
        }
        tv = timeval_of(left);
        if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
          snprintf(why, sizeof(why), "Failed to set the receive timeout: %m");
          break;
        }
      }
    }
  }
  if (lost)
    snprintf(why, sizeof(why), "no reply from %s:%d before the timeout",
             inet_ntop(AF_INET, &echoserver.sin_addr, from, sizeof(from)), ntohs(echoserver.sin_port));
  if (sock >= 0)
    close(sock);

  pthread_mutex_lock(&out);
  if (why[0] != '\0') {
    failed(n, why, 1);
    result[n] = received > BUFFSIZE ? WRONG : MISSING; /* a reply too long is a wrong one */
  } else {
    buffer[received] = '\0';
    printf("Received: %s\n", buffer);
    fflush(stdout);
    for (i = 0; i < messlen; i++) /* what the server must send back */
      mess[i] = toupper((unsigned char)mess[i]);
    result[n] = (size_t)received == messlen && memcmp(buffer, mess, messlen) == 0 ? RIGHT : WRONG;
    if (result[n] == RIGHT) {
      right();
    } else {
      snprintf(why, sizeof(why), "wrong reply \"%s\", want \"%s\"", buffer, mess);
      failed(n, why, 0);
    }
  }
  pthread_mutex_unlock(&out);
  return NULL;
}

/* tally prints "<label> [1] [4]" for the clients whose result is r, after
 * "; " unless it comes first, and returns whether there were any. */
static int tally(long clients, int r, const char *label, int first) {
  long n;
  int any = 0;
  for (n = 0; n < clients; n++)
    if ((int)result[n] == r) {
      if (!any)
        fprintf(stderr, "%s%s", first ? "" : "; ", label);
      fprintf(stderr, " [%ld]", n);
      any = 1;
    }
  return any;
}

int main(int argc, char *argv[]) {
  static pthread_t tids[MAXCLIENTS];
  long clients = 20, n, right = 0, port;
  struct timespec t0, t1;
  char *end;
  int e, missing;

  if (argc < 4 || argc > 6) {
    fprintf(stderr, "USAGE: %s <server_ip> <word> <port> [clients [timeout_ms]]\n", argv[0]);
    exit(2);
  }
  memset(&echoserver, 0, sizeof(echoserver));
  echoserver.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[1], &echoserver.sin_addr) != 1) {
    fprintf(stderr, "invalid server \"%s\": the C client takes a dotted-quad IPv4 address and does no name lookup\n", argv[1]);
    exit(2);
  }
  port = strtol(argv[3], &end, 10);
  if (*argv[3] < '0' || *argv[3] > '9' || *end != '\0' || port > 65535) {
    fprintf(stderr, "invalid port \"%s\": want a number from 1 to 65535\n", argv[3]);
    exit(2);
  }
  if (port == 0) {
    fprintf(stderr, "invalid port \"%s\": a client needs the server's port, 1 to 65535\n", argv[3]);
    exit(2);
  }
  echoserver.sin_port = htons(port);
  if (argc > 4 && ((clients = strtol(argv[4], &end, 10)) < 1 || clients > MAXCLIENTS || *end != '\0')) {
    fprintf(stderr, "invalid clients %s: want 1 to %d\n", argv[4], MAXCLIENTS);
    exit(2);
  }
  if (argc > 5 && ((timeout_ms = strtol(argv[5], &end, 10)) < 0 || *end != '\0')) {
    fprintf(stderr, "invalid timeout_ms %s: must not be negative\n", argv[5]);
    exit(2);
  }
  word = argv[2];
  if (snprintf(NULL, 0, "%s [%ld]", word, clients - 1) > BUFFSIZE) {
    fprintf(stderr, "word of %zu bytes: with \" [n]\" each message must fit the server's %d-byte buffer\n",
            strlen(word), BUFFSIZE);
    exit(2);
  }

  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (n = 0; n < clients; n++)
    if ((e = pthread_create(&tids[n], NULL, request, (void *)n)) != 0) {
      fprintf(stderr, "Failed to create a thread: %s\n", strerror(e));
      exit(1);
    }
  for (n = 0; n < clients; n++)
    pthread_join(tids[n], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (nright == 0) {
    fprintf(stderr, "every one of the %ld clients failed; first: %s\n", clients, first);
    return 1;
  }
  printf("%.2f seconds\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  fflush(stdout);

  for (n = 0; n < clients; n++)
    right += result[n] == RIGHT;
  if (right == clients)
    return 0;
  fprintf(stderr, "%ld of %ld replies right: ", right, clients);
  missing = tally(clients, MISSING, "no reply for", 1);
  tally(clients, WRONG, "wrong reply for", !missing);
  fputc('\n', stderr);
  return 1;
}
