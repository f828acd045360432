#!/usr/bin/env python3
"""A flowinfer integrand worker in plain Python (stdlib only): the camel of
simulators/src/integrands/camel.rs (two Gaussian peaks, width 0.2) in any dimension.

Speaks both protocols (docs/CLUSTER.md):
  * one-shot (FLOWINFER_MODE unset or "oneshot"): read all CSV rows from stdin,
    write one value per line, exit;
  * persistent (FLOWINFER_MODE=persistent): loop over framed requests
        BATCH <rows> <cols> <seed> <batch>      + <rows> CSV lines
    answering
        OK <rows> 1                              + <rows> values
    until stdin closes. Anything wrong with a batch: one line `ERR <message>`.
A header ending in " f64" (mode = "persistent-f64") sends the rows as
rows × cols little-endian doubles; the answer is then "OK <rows> 1 f64" followed by
rows doubles. With mode = "persistent-shm" the rows are in the file named by
FLOWINFER_SHM (mapped with the mmap module): the header is
    BATCH <rows> <cols> <seed> <batch> shm <slot> <in_offset> <out_offset> <file_bytes>
with rows × cols doubles at byte in_offset; the answer goes as rows doubles to byte
out_offset, then "OK <rows> 1 shm <slot>" on stdout (the file is mapped again when
file_bytes changed). Logs go to stderr, never stdout.
"""
import array
import math
import mmap
import os
import sys

ALPHA = 0.2


def camel(row):
    d = len(row)
    log_norm = -d * math.log(ALPHA * math.sqrt(math.pi))
    r1 = sum((x - 1.0 / 3.0) ** 2 for x in row)
    r2 = sum((x - 2.0 / 3.0) ** 2 for x in row)
    a2 = ALPHA * ALPHA
    return 0.5 * (math.exp(log_norm - r1 / a2) + math.exp(log_norm - r2 / a2))


def values(lines):
    return [repr(camel([float(v) for v in line.split(",")])) for line in lines]


class Shared:
    """The FLOWINFER_SHM file, mapped at the length the last header gave."""

    def __init__(self):
        self.map = None

    def at(self, size):
        if self.map is None or len(self.map) != size:
            if self.map is not None:
                self.map.close()
            with open(os.environ["FLOWINFER_SHM"], "r+b") as f:
                self.map = mmap.mmap(f.fileno(), size)
        return self.map


def persistent():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    shared = Shared()
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
            m = shared.at(size)
            x = array.array("d")
            x.frombytes(m[start:start + 8 * rows * cols])
            out = array.array("d", (camel(x[r * cols:(r + 1) * cols]) for r in range(rows)))
            m[out_at:out_at + 8 * rows] = out.tobytes()
            stdout.write(b"OK %d 1 shm %d\n" % (rows, slot))
            stdout.flush()
            continue
        if words[-1] == "f64":  # binary rows (assumes a little-endian machine)
            x = array.array("d")
            x.frombytes(stdin.read(8 * rows * cols))
            out = array.array("d", (camel(x[r * cols:(r + 1) * cols]) for r in range(rows)))
            stdout.write(b"OK %d 1 f64\n" % rows + out.tobytes())
            stdout.flush()
            continue
        lines = [stdin.readline().decode() for _ in range(rows)]
        try:
            out = values(lines)
        except ValueError as e:
            stdout.write(b"ERR %s\n" % str(e).replace("\n", " ").encode())
        else:
            text = "\n".join(out) + ("\n" if out else "")
            stdout.write(b"OK %d 1\n" % rows + text.encode())
        stdout.flush()


def oneshot():
    out = values(line for line in sys.stdin if line.strip())
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    if os.environ.get("FLOWINFER_MODE") == "persistent":
        persistent()
    else:
        oneshot()
