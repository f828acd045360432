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
rows doubles. Logs go to stderr, never stdout.
"""
import array
import math
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


def persistent():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
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
