/* A flowinfer integrand worker in C: the camel of
 * simulators/src/integrands/camel.rs (two Gaussian peaks, width 0.2), any dimension.
 *
 * Build: cc -O2 -o camel examples/workers/camel.c -lm
 * (a POSIX system: mmap for persistent-shm; assumes a little-endian machine)
 *
 * Speaks both protocols (docs/CLUSTER.md): one-shot (FLOWINFER_MODE unset or
 * "oneshot": CSV rows on stdin until EOF, one value per line) and persistent
 * (FLOWINFER_MODE=persistent: "BATCH <rows> <cols> <seed> <batch>" + rows, answered
 * by "OK <rows> 1" + values, until stdin closes; a bad batch gets "ERR <message>").
 * Values are printed with %.17g, so they read back to the same double. A header
 * ending in " f64" (mode = "persistent-f64") means the rows come as rows × cols raw
 * little-endian doubles; the answer is then "OK <rows> 1 f64" + rows raw doubles.
 *
 * mode = "persistent-shm": the rows are in the file named by FLOWINFER_SHM, which
 * this worker maps (MAP_SHARED). The header is
 *   "BATCH <rows> <cols> <seed> <batch> shm <slot> <in_offset> <out_offset> <file_bytes>":
 * rows × cols little-endian doubles at byte in_offset; the answer goes as rows
 * doubles to byte out_offset, then "OK <rows> 1 shm <slot>" on stdout. The file is
 * mapped again when file_bytes differs from the mapped length (it grew). */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ALPHA 0.2
#define MAX_DIM 64

static double camel(const double *x, int d) {
    double log_norm = -d * log(ALPHA * sqrt(M_PI));
    double r1 = 0.0, r2 = 0.0, a2 = ALPHA * ALPHA;
    for (int i = 0; i < d; i++) {
        r1 += (x[i] - 1.0 / 3.0) * (x[i] - 1.0 / 3.0);
        r2 += (x[i] - 2.0 / 3.0) * (x[i] - 2.0 / 3.0);
    }
    return 0.5 * (exp(log_norm - r1 / a2) + exp(log_norm - r2 / a2));
}

/* Parses one CSV line into x; returns the number of values. */
static int parse_row(char *line, double *x) {
    int d = 0;
    char *p = line, *end;
    while (d < MAX_DIM) {
        x[d] = strtod(p, &end);
        if (end == p) break;
        d++;
        p = end;
        if (*p != ',') break;
        p++;
    }
    return d;
}

/* The FLOWINFER_SHM file mapped at its current length `bytes` (kept across batches;
 * mapped again when the length changed). NULL when it cannot be mapped. */
static char *shm_map(long bytes) {
    static char *base = NULL;
    static long mapped = 0;
    if (base != NULL && mapped == bytes) return base;
    if (base != NULL) munmap(base, (size_t)mapped);
    base = NULL;
    const char *path = getenv("FLOWINFER_SHM");
    int fd = path ? open(path, O_RDWR) : -1;
    if (fd < 0) return NULL;
    void *p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return NULL;
    base = p;
    mapped = bytes;
    return base;
}

int main(void) {
    static char line[1 << 16];
    double x[MAX_DIM];
    const char *mode = getenv("FLOWINFER_MODE");
    if (mode == NULL || strcmp(mode, "persistent") != 0) {
        while (fgets(line, sizeof line, stdin)) {
            int d = parse_row(line, x);
            if (d > 0) printf("%.17g\n", camel(x, d));
        }
        return 0;
    }
    long rows, cols;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "BATCH %ld %ld", &rows, &cols) != 2 || cols > MAX_DIM || cols < 1) {
            printf("ERR expected BATCH <rows> <cols> <seed> <batch> with cols <= %d\n", MAX_DIM);
            fflush(stdout);
            continue;
        }
        long slot, in_off, out_off, bytes;
        if (sscanf(line, "BATCH %*s %*s %*s %*s shm %ld %ld %ld %ld", &slot, &in_off, &out_off,
                   &bytes) == 4) { /* rows in the shared file */
            char *base = shm_map(bytes);
            if (base == NULL) {
                printf("ERR cannot map FLOWINFER_SHM\n");
            } else {
                const double *in = (const double *)(base + in_off);
                double *out = (double *)(base + out_off);
                for (long r = 0; r < rows; r++) out[r] = camel(in + r * cols, (int)cols);
                printf("OK %ld 1 shm %ld\n", rows, slot);
            }
            fflush(stdout);
            continue;
        }
        double *values = malloc((rows > 0 ? rows : 1) * sizeof *values);
        if (strstr(line, " f64") != NULL) { /* binary rows */
            double *in = malloc((rows > 0 ? rows : 1) * cols * sizeof *in);
            if (fread(in, sizeof *in, rows * cols, stdin) != (size_t)(rows * cols)) return 1;
            for (long r = 0; r < rows; r++) values[r] = camel(in + r * cols, (int)cols);
            printf("OK %ld 1 f64\n", rows);
            fwrite(values, sizeof *values, rows, stdout);
            fflush(stdout);
            free(in);
            free(values);
            continue;
        }
        for (long r = 0; r < rows; r++) {
            if (!fgets(line, sizeof line, stdin)) return 1; /* stdin closed mid-batch */
            values[r] = camel(x, parse_row(line, x));
        }
        printf("OK %ld 1\n", rows);
        for (long r = 0; r < rows; r++) printf("%.17g\n", values[r]);
        fflush(stdout);
        free(values);
    }
    return 0;
}
