/* Where the time of one persistent-f64 batch goes (docs/CLUSTER.md, "Where the
 * time of a `persistent-f64` batch went"): a C-only probe, no flowinfer in the
 * loop. For a batch of 4096 8-D points (256 KiB in, 32 KiB out) it times, per batch:
 *   compute  the camel of examples/workers/camel.c on the points, in one process;
 *   pipe     a child that reads 256 KiB from a pipe (widened to 1 MiB as flowinfer
 *            does) and writes 32 KiB back, no compute: the transport alone;
 *   pipe+c   the same child computing the camel between the read and the write;
 *   shm      the points in a shared mapping, one byte over a pipe each way (the
 *            child computes in place and writes its answer into the mapping).
 * Times are medians over the batches.
 * Build and run: cc -O2 -o /tmp/worker-probe scripts/worker-probe.c -lm && /tmp/worker-probe [BATCHES]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROWS 4096
#define DIM 8
#define ALPHA 0.2

static double camel(const double *x, int d) {
    double log_norm = -d * log(ALPHA * sqrt(M_PI));
    double r1 = 0.0, r2 = 0.0, a2 = ALPHA * ALPHA;
    for (int i = 0; i < d; i++) {
        r1 += (x[i] - 1.0 / 3.0) * (x[i] - 1.0 / 3.0);
        r2 += (x[i] - 2.0 / 3.0) * (x[i] - 2.0 / 3.0);
    }
    return 0.5 * (exp(log_norm - r1 / a2) + exp(log_norm - r2 / a2));
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void full_read(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0) exit(0);
        p += k;
        n -= (size_t)k;
    }
}

static void full_write(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0) exit(1);
        p += k;
        n -= (size_t)k;
    }
}

/* Median of n per-batch times (sorts them). */
static double median(double *times, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && times[j - 1] > times[j]; j--) {
            double s = times[j];
            times[j] = times[j - 1];
            times[j - 1] = s;
        }
    return times[n / 2];
}

/* Median of the per-batch microseconds of `kind` (0 pipe, 1 pipe+compute, 2 shm). */
static double transport(int kind, int batches, const double *x) {
    int to_child[2], to_parent[2];
    if (pipe(to_child) || pipe(to_parent)) exit(1);
    fcntl(to_child[1], F_SETPIPE_SZ, 1 << 20);
    size_t in_bytes = sizeof(double) * ROWS * DIM, out_bytes = sizeof(double) * ROWS;
    double *shared = mmap(NULL, in_bytes + out_bytes, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fflush(stdout);
    if (fork() == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        double *in = malloc(in_bytes), *out = malloc(out_bytes);
        for (;;) {
            if (kind == 2) {
                char c;
                full_read(to_child[0], &c, 1);
                for (int r = 0; r < ROWS; r++) shared[ROWS * DIM + r] = camel(shared + r * DIM, DIM);
                full_write(to_parent[1], &c, 1);
                continue;
            }
            full_read(to_child[0], in, in_bytes);
            if (kind == 1)
                for (int r = 0; r < ROWS; r++) out[r] = camel(in + r * DIM, DIM);
            full_write(to_parent[1], out, out_bytes);
        }
    }
    close(to_child[0]);
    close(to_parent[1]);
    double *back = malloc(out_bytes), *times = malloc(sizeof(double) * batches);
    for (int b = 0; b < batches; b++) {
        double t = now();
        if (kind == 2) {
            char c = 'x';
            memcpy(shared, x, in_bytes); /* flowinfer writes the rows into the mapping */
            full_write(to_child[1], &c, 1);
            full_read(to_parent[0], &c, 1);
            memcpy(back, shared + ROWS * DIM, out_bytes);
        } else {
            full_write(to_child[1], x, in_bytes);
            full_read(to_parent[0], back, out_bytes);
        }
        times[b] = 1e6 * (now() - t);
    }
    close(to_child[1]);
    close(to_parent[0]);
    wait(NULL);
    return median(times, batches);
}

int main(int argc, char **argv) {
    int batches = argc > 1 ? atoi(argv[1]) : 2001;
    double *x = malloc(sizeof(double) * ROWS * DIM), *out = malloc(sizeof(double) * ROWS);
    srand(1);
    for (int i = 0; i < ROWS * DIM; i++) x[i] = rand() / (RAND_MAX + 1.0);
    double *times = malloc(sizeof(double) * batches);
    for (int b = 0; b < batches; b++) {
        double t = now();
        for (int r = 0; r < ROWS; r++) out[r] = camel(x + r * DIM, DIM);
        times[b] = 1e6 * (now() - t);
    }
    printf("per batch of %d x %d (median of %d batches)\n", ROWS, DIM, batches);
    printf("compute  %7.1f us  (one process)\n", median(times, batches));
    printf("pipe     %7.1f us  (256 KiB in, 32 KiB out, no compute)\n", transport(0, batches, x));
    printf("pipe+c   %7.1f us\n", transport(1, batches, x));
    printf("shm      %7.1f us  (1 byte each way, compute in place)\n", transport(2, batches, x));
    return out[0] < 0;
}
