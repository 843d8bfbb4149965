#!/usr/bin/env python3
"""PyTorch side of `npx nx run native:bench`: the same TBE workloads (batch, tables, bag sizes,
Zipf(1.05) or uniform ids) timed with torch.nn.functional.embedding_bag (forward) and with the
sparse-gradient training path plus optimizers written in torch (fwd + bwd + update).
Prints progress to stderr and one JSON line {workload: {op: median_ms}} to stdout."""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import torch

WORKLOADS = {
    "dlrm26": dict(tables=[(1_000_000, 16)] * 25 + [(10_000_000, 16)], bag=1, dist="zipf", mode="sum"),
    "multihot20": dict(tables=[(10_000_000, 64)], bag=20, dist="uniform", mode="sum"),
    "wide128": dict(tables=[(1_000_000, 128)], bag=20, dist="zipf", mode="mean"),
}


def zipf_ids(rng, n, size, s=1.05):
    # Inverse CDF over ranks 1..n (same distribution as the TS generator), scattered by the same bijection.
    ranks = np.arange(1, n + 1, dtype=np.float64)
    cdf = np.cumsum(ranks ** -s)
    cdf /= cdf[-1]
    r = np.searchsorted(cdf, rng.random(size))
    return (r.astype(np.int64) * 2654435761) % n


def make_inputs(w, batch, seed):
    rng = np.random.default_rng(seed)
    out = []
    for rows, _ in w["tables"]:
        n = batch * w["bag"]
        ids = zipf_ids(rng, rows, n) if w["dist"] == "zipf" else rng.integers(0, rows, n)
        out.append(torch.from_numpy(ids.astype(np.int64)))
    offsets = torch.arange(0, batch * w["bag"], w["bag"], dtype=torch.int64)
    return out, offsets


class SparseUpdate:
    """Optimizers on coalesced sparse gradients, written in torch (PyTorch has no fused TBE on CPU)."""

    def __init__(self, kind, weight):
        self.kind, self.step_no = kind, 0
        rows, dim = weight.shape
        if kind == "adagrad":
            self.s = torch.zeros_like(weight)
        elif kind == "rowwise_adagrad":
            self.s = torch.zeros(rows)
        elif kind == "adam":
            self.m, self.v = torch.zeros_like(weight), torch.zeros_like(weight)

    @torch.no_grad()
    def __call__(self, weight, grad, lr=1e-3, eps=1e-8):
        g = grad.coalesce()
        idx, val = g.indices()[0], g.values()
        self.step_no += 1
        if self.kind == "sgd":
            weight.index_add_(0, idx, -lr * val)
        elif self.kind == "adagrad":
            s = self.s[idx] + val * val
            self.s[idx] = s
            weight.index_add_(0, idx, -lr * val / (s.sqrt() + eps))
        elif self.kind == "rowwise_adagrad":
            s = self.s[idx] + (val * val).mean(1)
            self.s[idx] = s
            weight.index_add_(0, idx, -(lr / (s.sqrt() + eps)).unsqueeze(1) * val)
        elif self.kind == "adam":
            b1, b2 = 0.9, 0.999
            m = b1 * self.m[idx] + (1 - b1) * val
            v = b2 * self.v[idx] + (1 - b2) * val * val
            self.m[idx], self.v[idx] = m, v
            mh, vh = m / (1 - b1 ** self.step_no), v / (1 - b2 ** self.step_no)
            weight.index_add_(0, idx, -lr * mh / (vh.sqrt() + eps))


def bench(fn, iters, rounds, warmup=3):
    """Best of `rounds` medians (the VM's memory system has multi-second slow spells)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(rounds):
        t = []
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            t.append((time.perf_counter() - t0) * 1e3)
        best = min(best, statistics.median(t))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--iters", type=int, default=15)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workloads", default="", help="comma-separated subset of the workloads (default: all)")
    ap.add_argument("--batches", type=int, default=1,
                    help="distinct batches cycled through (seeds 1000, 1001, ...): 1 keeps rows in cache, 16 makes them come from DRAM")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    res = {}
    only = [x for x in args.workloads.split(",") if x]
    for name, w in WORKLOADS.items():
        if only and name not in only:
            continue
        inputs = [make_inputs(w, args.batch, 1000 + s) for s in range(args.batches)]
        it = [0]

        def next_input():
            it[0] += 1
            return inputs[it[0] % len(inputs)]
        res[name] = {}
        for op in ["forward", "sgd", "adagrad", "rowwise_adagrad", "adam"]:
            weights = [torch.empty(r, d).uniform_(-(r ** -0.5), r ** -0.5) for r, d in w["tables"]]
            if op == "forward":
                def step():
                    ids, offsets = next_input()
                    with torch.no_grad():
                        # Concatenated [B, sum of dims] like tsrec's pooled output (and torchrec's KeyedTensor).
                        return torch.cat([torch.nn.functional.embedding_bag(i, W, offsets, mode=w["mode"]) for i, W in zip(ids, weights)], 1)
            else:
                for W in weights:
                    W.requires_grad_(True)
                opts = [SparseUpdate(op, W) for W in weights]

                def step():
                    ids, offsets = next_input()
                    outs = [torch.nn.functional.embedding_bag(i, W, offsets, mode=w["mode"], sparse=True) for i, W in zip(ids, weights)]
                    torch.cat(outs, 1).sum().backward()
                    for W, o in zip(weights, opts):
                        o(W, W.grad)
                        W.grad = None
            ms = bench(step, args.iters, args.rounds)
            res[name][op] = ms
            print(f"  torch {name:10s} {op:16s} {ms:8.2f} ms", file=sys.stderr)
            del weights
    print(json.dumps(res))


if __name__ == "__main__":
    main()
