/* udpblast: the UDP row's sender and its ceiling, compiled by bench/bench.py
 * (cc -O2). Python has no recvmmsg/sendmmsg, and the ceiling must be a bare
 * socket, so this is C.
 *
 *   udpblast send PORT FILE [RATE [SECONDS]]
 *       sends the lines of FILE (one datagram each, cycled) to 127.0.0.1:PORT
 *       with sendmmsg, RATE datagrams/s (0: as fast as it can) for SECONDS
 *       (default 10); prints {"sent":N,"seconds":T,"refused":R}
 *   udpblast sink PORT [RCVBUF [IDLE_MS]]
 *       binds 127.0.0.1:PORT, prints "ready" on stderr, reads with recvmmsg
 *       until IDLE_MS (default 1000) pass without a datagram after the first;
 *       prints {"received":N,"seconds":T,"per_second":R,"drops":D} (T: first
 *       to last datagram; D: the kernel's SO_MEMINFO drop count)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int send_mode(int port, const char *path, double rate, double seconds) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 2; }
    size_t cap = 1024, count = 0;
    struct iovec *lines = malloc(cap * sizeof *lines);
    char *line = NULL;
    size_t size = 0;
    ssize_t n;
    while ((n = getline(&line, &size, f)) > 0) {
        if (line[n - 1] == '\n') n--;
        if (n == 0) continue;
        if (count == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[count].iov_base = memcpy(malloc(n), line, n);
        lines[count++].iov_len = n;
    }
    fclose(f);
    if (count == 0) { fprintf(stderr, "%s: no datagrams\n", path); return 2; }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = loopback(port);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 2; }
    struct mmsghdr msgs[BATCH];
    long long sent = 0, refused = 0;
    size_t next = 0;
    double start = now(), end = start + seconds;
    for (;;) {
        double t = now();
        if (t >= end) break;
        if (rate > 0) {  /* paced: never ahead of rate * elapsed */
            double due = (t - start) * rate - (double)sent;
            if (due < 1) { struct timespec pause = {0, 50000}; nanosleep(&pause, NULL); continue; }
        }
        int batch = BATCH;
        if (rate > 0) {
            double due = (now() - start) * rate - (double)sent;
            if (due < batch) batch = due < 1 ? 1 : (int)due;
        }
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < batch; i++) {
            msgs[i].msg_hdr.msg_iov = &lines[next];
            msgs[i].msg_hdr.msg_iovlen = 1;
            next = (next + 1) % count;
        }
        int done = sendmmsg(fd, msgs, batch, 0);
        if (done < 0) {
            if (errno == ECONNREFUSED) { refused++; continue; }  /* nobody listening yet: ICMP */
            if (errno == ENOBUFS || errno == EAGAIN) continue;
            perror("sendmmsg");
            return 1;
        }
        sent += done;
    }
    printf("{\"sent\":%lld,\"seconds\":%.3f,\"refused\":%lld}\n", sent, now() - start, refused);
    return 0;
}

static int sink_mode(int port, int rcvbuf, int idle_ms) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in at = loopback(port);
    if (bind(fd, (struct sockaddr *)&at, sizeof at) != 0) { perror("bind"); return 2; }
    struct timeval timeout = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    fprintf(stderr, "ready\n");
    static char buffers[BATCH][2048];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = buffers[i];
        iov[i].iov_len = sizeof buffers[i];
    }
    long long received = 0;
    double first = 0, last = 0;
    for (;;) {
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < BATCH; i++) {
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs, BATCH, 0, NULL);
        double t = now();
        if (n > 0) {
            if (received == 0) first = t;
            received += n;
            last = t;
        } else if (received > 0 && (t - last) * 1000 >= idle_ms) {
            break;
        }
    }
    unsigned int meminfo[9] = {0};
    socklen_t length = sizeof meminfo;
    long long drops = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &length) == 0 ? meminfo[8] : -1;
    double seconds = last - first;
    printf("{\"received\":%lld,\"seconds\":%.3f,\"per_second\":%.1f,\"drops\":%lld}\n", received, seconds,
           seconds > 0 ? received / seconds : 0.0, drops);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "send") == 0)
        return send_mode(atoi(argv[2]), argv[3], argc > 4 ? atof(argv[4]) : 0, argc > 5 ? atof(argv[5]) : 10);
    if (argc >= 3 && strcmp(argv[1], "sink") == 0)
        return sink_mode(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 4 << 20, argc > 4 ? atoi(argv[4]) : 1000);
    fprintf(stderr, "usage: udpblast send PORT FILE [RATE [SECONDS]] | sink PORT [RCVBUF [IDLE_MS]]\n");
    return 2;
}
