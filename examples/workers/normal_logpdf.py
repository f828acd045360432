#!/usr/bin/env python3
"""A flowinfer log-density worker (a `flowinfer variational` target) in plain Python:
the standard normal in any dimension, log p(x) = -|x|^2 / 2 (unnormalised).

Speaks the three modes of docs/CLUSTER.md, as examples/workers/camel.py does:
one-shot (read every CSV row from stdin, write one value per line, exit),
persistent (FLOWINFER_MODE=persistent: answer `BATCH <rows> <cols> <seed> <batch>`
+ rows with `OK <rows> 1` + values until stdin closes) and its binary variant
(a header ending in " f64": little-endian doubles both ways), and the shared-memory
variant (mode persistent-shm: the rows and answers in the file named by FLOWINFER_SHM,
the header `BATCH <rows> <cols> <seed> <batch> shm <slot> <in_offset> <out_offset>
<file_bytes>` answered by `OK <rows> 1 shm <slot>`). Run it with
    flowinfer variational --target-command "python3 normal_logpdf.py" --dim 2 \
        --command-mode persistent
"""
import array
import mmap
import os
import sys


def logpdf(row):
    return -0.5 * sum(x * x for x in row)


def persistent():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    shared = None  # the FLOWINFER_SHM file, mapped at the length the header gave
    while True:
        header = stdin.readline().decode()
        if not header:
            return  # stdin closed: flowinfer is done with us
        words = header.split()
        if len(words) < 3 or words[0] != "BATCH":
            stdout.write(b"ERR expected BATCH <rows> <cols> <seed> <batch>\n")
            stdout.flush()
            continue
        rows, cols = int(words[1]), int(words[2])
        if len(words) == 10 and words[5] == "shm":  # rows in the shared file
            slot, start, out_at, size = (int(w) for w in words[6:])
            if shared is None or len(shared) != size:
                with open(os.environ["FLOWINFER_SHM"], "r+b") as f:
                    shared = mmap.mmap(f.fileno(), size)
            x = array.array("d")
            x.frombytes(shared[start:start + 8 * rows * cols])
            out = array.array("d", (logpdf(x[r * cols:(r + 1) * cols]) for r in range(rows)))
            shared[out_at:out_at + 8 * rows] = out.tobytes()
            stdout.write(b"OK %d 1 shm %d\n" % (rows, slot))
        elif words[-1] == "f64":  # binary rows (assumes a little-endian machine)
            x = array.array("d")
            x.frombytes(stdin.read(8 * rows * cols))
            out = array.array("d", (logpdf(x[r * cols:(r + 1) * cols]) for r in range(rows)))
            stdout.write(b"OK %d 1 f64\n" % rows + out.tobytes())
        else:
            lines = [stdin.readline().decode() for _ in range(rows)]
            out = [repr(logpdf([float(v) for v in l.split(",")])) for l in lines]
            stdout.write(b"OK %d 1\n" % rows + "".join(v + "\n" for v in out).encode())
        stdout.flush()


def oneshot():
    for line in sys.stdin:
        if line.strip():
            print(repr(logpdf([float(v) for v in line.split(",")])))


if __name__ == "__main__":
    if os.environ.get("FLOWINFER_MODE") == "persistent":
        persistent()
    else:
        oneshot()
