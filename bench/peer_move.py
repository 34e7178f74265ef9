#!/usr/bin/env python3
"""Peer for bench_transfer: the move in Python, plain PyTorch: x = torch.randn(100, 100); y = x.to(device), synced.

usage: peer_move.py [DEVICE]   (default cuda:0)
Speaks the peer protocol of bench/harness.h on stdin/stdout: after a warm-up it prints
"ready torch <version>"; to "run <min_time_s>" it answers "<runs> <median_s> <min_s> <max_s> <p25_s> <p75_s>";
"quit" or end of input ends it.
"""
import statistics
import sys
import time

import torch


def serve(once, warmup=50):
    """The peer protocol of bench/harness.h around once() (one synced run; returns its seconds): warm up,
    say "ready", then answer each "run <min_time_s>" with the statistics of enough runs."""
    for _ in range(warmup):
        once()
    print("ready torch", torch.__version__, flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] != "run":
            print("error: unknown command", words[0], flush=True)
            continue
        min_time = float(words[1])
        times = []
        total = 0.0
        while total < min_time or len(times) < 5:
            t = once()
            times.append(t)
            total += t
        v = sorted(times)
        q = [v[int(h)] + (h - int(h)) * (v[int(h) + 1] - v[int(h)]) if int(h) + 1 < len(v) else v[-1]
             for h in ((len(v) - 1) * 0.25, (len(v) - 1) * 0.75)]
        print(len(times), statistics.median(times), min(times), max(times), q[0], q[1], flush=True)


def main():
    device = sys.argv[1] if len(sys.argv) > 1 else "cuda:0"
    x = torch.randn(100, 100)

    def once():
        t0 = time.perf_counter()
        y = x.to(device)  # the line measured
        torch.cuda.synchronize(device)
        t = time.perf_counter() - t0
        del y
        return t

    serve(once)


if __name__ == "__main__":
    main()
