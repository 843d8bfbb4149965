#!/usr/bin/python3
"""PyTorch side of `npx nx run trainer:bench` (issue 6, "Performance target").

End-to-end DeepFM training from Criteo-like TSV files with PyTorch 1.13 on the CPU, data loading
included: the TSV is parsed while training, in DataLoader workers (or in the main process), into
batches of --batch rows; the model, optimizers and shapes mirror tsrec's DeepFM on the `dlrm26`
tables. Run it with Debian's torch (`apt-get install -y python3-torch`), i.e. /usr/bin/python3.

  /usr/bin/python3 tools/bench_torch_deepfm.py --data /tmp/criteo_bench.tsv --threads 2 \
      --batch 4096 --steps 200 --warmup 20 [--json out.json]

Progress goes to stderr; stdout gets exactly one JSON line:
  {"name":"pytorch_deepfm_e2e","threads":N,"samples_per_s":x,"peak_rss_mb":y,"steps":n,
   "batch":b,"torch":"1.13.1","loader":"...", ...a few extra diagnostic keys}

Input: a header line (optional; skipped when the first field is not a number), then
`label, I1..I13, C1..C26` separated by tabs. Dense values are integers (or floats) or empty
(missing); categorical values are hex strings (8 digits in the synthetic set) or empty.
Features: dense = log1p(max(x, 0)), missing -> 0; id = int(hex, 16) mod rows(table), missing -> 0.

Model (tsrec's DeepFM without `final`, TorchEasyRec style):
  y = sum(wide) + FM(26 x 16) + Linear(MLP(429 -> 256 -> 128 -> 64, ReLU)) -> 1 logit
  - 26 embedding tables, dim 16, `dlrm26` shapes: C1..C25 have 1,000,000 rows, C26 10,000,000.
  - wide (first order) IS included: like tsrec (wide_embedding_dim, default 4) each categorical
    feature also has a --wide-dim embedding (same rows as its deep table); the wide term is the
    sum of all 26 x wide_dim values (tsrec: tf.sum(groups.wide, 1)). --wide-dim 1 gives the
    classic 1-wide first-order term, --wide-dim 0 drops it.
  - FM over the 26 deep embeddings: 0.5 * sum_d((sum_f e)^2 - sum_f e^2).
  - deep MLP input = [13 dense, 26 x 16 embeddings] = 429.
  Loss: BCE with logits (mean). Dense optimizer: torch.optim.Adam(lr 1e-3).
  Sparse optimizer: row-wise Adagrad written in torch (PyTorch has none built in) on the
  gradient of the batch's unique rows (--sparse-grad unique, default: torch.unique of the fused
  ids once for both groups, the rows gathered into a leaf tensor) or on the coalesced sparse
  gradient of F.embedding(sparse=True) (--sparse-grad embedding); same weights either way:
      state[row] += mean_d(g_row^2); row -= lr * g_row / (sqrt(state[row]) + eps)
  with lr 0.01 (tsrec's example configs), eps 1e-8, initial accumulator 0 (tsrec's default).
  Tables are initialised uniform(+-1/sqrt(rows)) (tsrec's EmbeddingCollection default).
  --tables fused (default, the faster one here) keeps the 26 tables of a group in one
  35,000,000-row tensor with per-feature row offsets (what TBE/torchrec do); --tables separate
  uses 26 tensors (26 lookups, 26 sparse gradients, 26 optimizer updates per group).

Data loading: a torch.utils.data.DataLoader over an IterableDataset. The files are cut into
byte ranges, one per worker (line-aligned the Hadoop way); each worker reads its range in
--block-mb blocks, parses them (--parser numpy: vectorised parsing of the raw bytes with numpy;
--parser pandas: pandas.read_csv on the block plus a vectorised hex decode) and emits exact
batches of --batch rows, cycling over its range (epochs) without restarting. No shuffling.
--workers 0 parses in the main process.

Throughput: samples/s = steps * batch / wall time of the measured steps (after --warmup steps);
each step includes waiting for the next batch from the loader, forward, backward and both
optimizer updates. Peak RSS: VmHWM of the main process (/proc/self/status) plus the VmHWM of
each DataLoader worker (/proc/<pid>/status, read just before the workers are shut down). The
workers are started before the tables are allocated, so the forked workers do not count the
tables; pages they share with the main process from before the fork (the Python interpreter,
torch's libraries) are counted in both, so the sum is a slight over-estimate.
"""
import argparse
import io
import json
import os
import sys
import time

DEEP_DIM = 16
DLRM26_ROWS = [1_000_000] * 25 + [10_000_000]
N_DENSE, N_CAT = 13, 26
N_COLS = 1 + N_DENSE + N_CAT


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="PyTorch (CPU) end-to-end DeepFM training benchmark on Criteo-like TSV (tsrec issue 6).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", nargs="+", required=True, help="TSV files and/or directories (all *.tsv inside, sorted)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (OpenMP) and OpenBLAS threads")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--steps", type=int, default=200, help="measured training steps")
    p.add_argument("--warmup", type=int, default=20, help="steps run before the clock starts")
    p.add_argument("--json", help="also write the JSON result to this file")
    p.add_argument("--workers", type=int, default=1, help="DataLoader workers (0 = parse in the main process)")
    p.add_argument("--parser", choices=["numpy", "pandas"], default="numpy")
    p.add_argument("--block-mb", type=float, default=2.0, help="bytes read and parsed at a time per worker")
    p.add_argument("--tables", choices=["fused", "separate"], default="fused")
    p.add_argument("--sparse-grad", choices=["unique", "embedding"], default="unique",
                   help="unique: torch.unique of the batch's rows, gather them into a leaf, dense gradient of the unique rows "
                        "(needs --tables fused); embedding: F.embedding(sparse=True) and coalesce() of the sparse gradient")
    p.add_argument("--wide-dim", type=int, default=4, help="wide (first-order) embedding dim, 0 = no wide part")
    p.add_argument("--sparse-lr", type=float, default=0.01)
    p.add_argument("--dense-lr", type=float, default=1e-3)
    p.add_argument("--thp", action=argparse.BooleanOptionalAction, default=True,
                   help="transparent huge pages for torch's big allocations (glibc.malloc.hugetlb=1: glibc madvises them; "
                        "the kernel here only gives THP on madvise); --no-thp = stock allocator")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=["e2e", "loader", "model"], default="e2e",
                   help="e2e: the benchmark; loader: only iterate the loader; model: train on the first batches cycled in memory (diagnostics)")
    p.add_argument("--check-parser", action="store_true", help="compare the numpy and pandas parsers on the first block of each file, then exit")
    p.add_argument("--log-every", type=int, default=20)
    a = p.parse_args(argv)
    if a.sparse_grad == "unique" and a.tables == "separate":
        a.sparse_grad = "embedding"
    if a.threads < 1 or a.batch < 1 or a.steps < 1 or a.warmup < 0 or a.workers < 0 or a.wide_dim < 0:
        p.error("--threads, --batch, --steps must be >= 1; --warmup, --workers, --wide-dim >= 0")
    return a


TUNABLE = "glibc.malloc.hugetlb=1"


def thp_on():
    return TUNABLE in os.environ.get("GLIBC_TUNABLES", "")


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    if ARGS.thp != thp_on():  # glibc reads its tunables at start-up: re-run with them set or cleared
        t = [x for x in os.environ.get("GLIBC_TUNABLES", "").split(":") if x and x != TUNABLE]
        os.environ["GLIBC_TUNABLES"] = ":".join(t + ([TUNABLE] if ARGS.thp else []))
        os.execv(sys.executable, [sys.executable] + sys.argv)
    # Before torch/numpy load their thread pools. OpenBLAS (Debian's torch uses the pthread build
    # through libblas.so.3) ignores torch.set_num_threads, so it is limited here as well.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- input

def list_files(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            inside = sorted(os.path.join(p, f) for f in os.listdir(p) if os.path.isfile(os.path.join(p, f)))
            tsv = [f for f in inside if f.endswith(".tsv")]
            files += tsv or inside
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise SystemExit(f"bench_torch_deepfm: no such file or directory: {p}")
    if not files:
        raise SystemExit("bench_torch_deepfm: no input files")
    return files


def header_length(path):
    """Bytes of the header line (0 when the first field is a number)."""
    with open(path, "rb") as f:
        first = f.readline()
    field = first.split(b"\t", 1)[0].strip()
    try:
        float(field)
        return 0
    except ValueError:
        return len(first)


def split_ranges(files, parts):
    """Per part: a list of (path, start, end) byte ranges; every file is cut into `parts` ranges."""
    out = [[] for _ in range(parts)]
    for path in files:
        h, size = header_length(path), os.path.getsize(path)
        n = size - h
        for k in range(parts):
            s, e = h + n * k // parts, h + n * (k + 1) // parts
            if e > s:
                out[k].append((path, s, e))
    return out


def line_blocks(path, start, end, block_bytes):
    """Blocks of whole lines whose first byte lies in [start, end) (each block ends with a newline)."""
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            f.readline()  # ends at the first newline at or after start - 1: the line crossing start belongs to the previous range
        pos = f.tell()
        carry = b""
        while pos < end:
            data = f.read(min(block_bytes, end - pos))
            if not data:
                break
            pos += len(data)
            if pos >= end and not data.endswith(b"\n"):
                data += f.readline()  # finish the line crossing `end`
            data = carry + data
            cut = data.rfind(b"\n") + 1
            if cut:
                yield data[:cut]
            carry = data[cut:]
        if carry:
            yield carry + b"\n"


HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    HEX[_c] = 10 + _i


def horner(digits, valid, base):
    """Sum of digits[..., p] * base^(len-1-p) over valid positions (valid = a prefix)."""
    v = np.zeros(digits.shape[:-1], dtype=np.int64)
    for p in range(digits.shape[-1]):
        v = np.where(valid[..., p], v * base + digits[..., p], v)
    return v


def features(labels, dense_raw, dense_missing, hex_ids, rows):
    dense = np.log1p(np.maximum(dense_raw, 0.0))
    dense[dense_missing] = 0.0
    ids = hex_ids % np.asarray(rows, dtype=np.int64)  # missing ids are 0 -> row 0
    return labels.astype(np.float32), dense.astype(np.float32), ids


def parse_numpy(block, rows):
    """Vectorised parse of a block of whole TSV lines (raw bytes) -> (labels, dense, ids)."""
    buf = np.frombuffer(block, dtype=np.uint8)
    seps = np.flatnonzero((buf == 9) | (buf == 10))
    n = int(np.count_nonzero(buf[seps] == 10))
    if len(seps) != n * N_COLS or (n and not np.all(buf[seps[N_COLS - 1::N_COLS]] == 10)):
        raise ValueError(f"expected {N_COLS} tab-separated fields on every line of the block")
    ends = seps.reshape(n, N_COLS)
    starts = np.empty_like(ends)
    starts.flat[0] = 0
    starts.flat[1:] = seps[:-1] + 1
    lens = ends - starts
    pad = np.concatenate([buf, np.zeros(24, dtype=np.uint8)])  # gathers may run past the last field

    # label (0/1, maybe other integers)
    labels = (buf[starts[:, 0]].astype(np.int64) - 48)
    if not (np.all(lens[:, 0] == 1) and np.all((labels >= 0) & (labels <= 9))):
        labels = np.array([float(block[s:e]) for s, e in zip(starts[:, 0], ends[:, 0])])

    # dense: integers with an optional '-'
    ls, ln = starts[:, 1:1 + N_DENSE], lens[:, 1:1 + N_DENSE]
    width = max(1, int(ln.max()))
    b = pad[ls[..., None] + np.arange(width)]
    neg = b[..., 0] == 45
    valid = np.arange(width) < ln[..., None]
    valid[..., 0] &= ~neg
    digits = b.astype(np.int64) - 48
    if np.any(valid & ((digits < 0) | (digits > 9))) or width > 18:  # floats etc.: slow path
        dense_raw = np.array([[float(block[s:e]) if e > s else 0.0 for s, e in zip(rs, re)]
                              for rs, re in zip(ls, ends[:, 1:1 + N_DENSE])])
    else:
        dense_raw = horner(digits, valid, 10).astype(np.float64)
        dense_raw[neg] = -dense_raw[neg]
    missing = ln == 0

    # categorical: hex strings
    cs, cl = starts[:, 1 + N_DENSE:], lens[:, 1 + N_DENSE:]
    width = max(1, int(cl.max()))
    if width > 15:
        raise ValueError("categorical values longer than 15 hex digits")
    d = HEX[pad[cs[..., None] + np.arange(width)]]
    valid = np.arange(width) < cl[..., None]
    if np.any(valid & (d == 255)):
        raise ValueError("categorical values must be hex strings")
    ids = horner(d.astype(np.int64), valid, 16)
    return features(labels, dense_raw, missing, ids, rows)


DENSE_COLS = [f"I{i + 1}" for i in range(N_DENSE)]
CAT_COLS = [f"C{i + 1}" for i in range(N_CAT)]
ALL_COLS = ["label"] + DENSE_COLS + CAT_COLS


def parse_pandas(block, rows):
    """pandas.read_csv (C engine) on the block; hex strings decoded with numpy."""
    import pandas as pd
    df = pd.read_csv(io.BytesIO(block), sep="\t", header=None, names=ALL_COLS, engine="c",
                     dtype={**{"label": np.float64}, **{c: np.float64 for c in DENSE_COLS}, **{c: object for c in CAT_COLS}},
                     keep_default_na=False, na_values={c: [""] for c in DENSE_COLS})
    dense_raw = df[DENSE_COLS].to_numpy(dtype=np.float64)
    missing = np.isnan(dense_raw)
    dense_raw = np.nan_to_num(dense_raw)
    cat = df[CAT_COLS].to_numpy().astype("S16")  # '' (missing) -> all zero bytes
    b = np.frombuffer(cat.tobytes(), dtype=np.uint8).reshape(len(df), N_CAT, 16)
    valid = b != 0
    d = HEX[b]
    if np.any(valid & (d == 255)):
        raise ValueError("categorical values must be hex strings")
    width = max(1, int(valid.sum(-1).max()))
    ids = horner(d[..., :width].astype(np.int64), valid[..., :width], 16)
    return features(df["label"].to_numpy(), dense_raw, missing, ids, rows)


PARSERS = {"numpy": parse_numpy, "pandas": parse_pandas}


class TsvBatches(torch.utils.data.IterableDataset):
    """Endless stream of (labels [B], dense [B,13], ids [B,26]) batches; each worker cycles over its byte ranges."""

    def __init__(self, files, batch, parser, block_bytes, rows, parts):
        self.ranges = split_ranges(files, max(1, parts))
        self.batch, self.parser, self.block_bytes, self.rows = batch, parser, block_bytes, rows

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        ranges = self.ranges[info.id] if info else sum(self.ranges, [])
        parse = PARSERS[self.parser]
        pending, have, epoch = [], 0, 0
        while True:
            produced = False
            for path, s, e in ranges:
                for block in line_blocks(path, s, e, self.block_bytes):
                    parsed = parse(block, self.rows)
                    pending.append(parsed)
                    have += len(parsed[0])
                    produced = produced or len(parsed[0]) > 0
                    while have >= self.batch:
                        cat = [np.concatenate([p[k] for p in pending]) if len(pending) > 1 else pending[0][k] for k in range(3)]
                        yield tuple(torch.from_numpy(np.ascontiguousarray(c[:self.batch])) for c in cat)
                        rest = [c[self.batch:] for c in cat]
                        have -= self.batch
                        pending = [rest] if have else []
            if not produced:
                raise RuntimeError("no rows in this loader's input ranges")
            epoch += 1


# ----------------------------------------------------------------------------- model

def init_table(rows, dim, gen):
    w = torch.empty(rows, dim)
    bound = 1.0 / np.sqrt(rows)
    w.uniform_(-bound, bound, generator=gen)
    return w


class SparseGroup:
    """26 tables of one dim (fused into one tensor or separate), sparse gradients, row-wise Adagrad."""

    def __init__(self, rows, dim, fused, gen):
        self.fused, self.rows = fused, rows
        if fused:
            offs = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
            self.offsets = torch.from_numpy(offs)
            w = torch.empty(sum(rows), dim)
            for o, r in zip(offs, rows):  # each table's slice with its own bound
                w[o:o + r].uniform_(-1.0 / np.sqrt(r), 1.0 / np.sqrt(r), generator=gen)
            self.weights = [w.requires_grad_()]
        else:
            self.weights = [init_table(r, dim, gen).requires_grad_() for r in rows]
        self.state = [torch.zeros(w.shape[0]) for w in self.weights]

    def lookup(self, ids, unique=None):
        """ids [B, 26] (per-table rows) -> [B, 26, dim]. Without `unique`: F.embedding(sparse=True),
        the tables get sparse (uncoalesced) gradients. With unique = (rows, inverse) of the fused ids:
        the unique rows are gathered into a leaf tensor whose dense gradient is the coalesced one."""
        if unique is not None:
            uniq, inv = unique
            self._rows = self.weights[0].detach().index_select(0, uniq).requires_grad_()
            self.uniq = uniq
            return F.embedding(inv, self._rows)
        if self.fused:
            return F.embedding(ids + self.offsets, self.weights[0], sparse=True)
        return torch.stack([F.embedding(ids[:, f], w, sparse=True) for f, w in enumerate(self.weights)], 1)

    @torch.no_grad()
    def step(self, lr, eps=1e-8):
        # Row ids are unique here, so the updates are gathers + index_put_ (parallel, vectorised);
        # torch 1.13's index_add_ on 2-D tensors loops row by row and was the slowest op.
        if getattr(self, "_rows", None) is not None:
            w, s, idx, val, old = self.weights[0], self.state[0], self.uniq, self._rows.grad, self._rows.detach()
            acc = s.index_select(0, idx).add_(val.pow(2).mean(1))
            s.index_put_((idx,), acc)
            w.index_put_((idx,), old.addcmul_(val, acc.sqrt_().add_(eps).reciprocal_().mul_(-lr).unsqueeze(1)))
            self._rows = None
            return
        for w, s in zip(self.weights, self.state):
            g = w.grad.coalesce()
            idx, val = g._indices()[0], g._values()
            acc = s.index_select(0, idx).add_(val.pow(2).mean(1))
            s.index_put_((idx,), acc)
            w.index_put_((idx,), w.detach().index_select(0, idx).addcmul_(val, acc.sqrt_().add_(eps).reciprocal_().mul_(-lr).unsqueeze(1)))
            w.grad = None

    def nbytes(self):
        return sum(w.numel() * 4 for w in self.weights) + sum(s.numel() * 4 for s in self.state)


class DeepFM(nn.Module):
    def __init__(self, wide_dim, hidden=(256, 128, 64)):
        super().__init__()
        layers, d = [], N_DENSE + N_CAT * DEEP_DIM
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(d, 1)
        self.wide_dim = wide_dim

    def forward(self, dense, emb, wide):
        b = dense.shape[0]
        s = emb.sum(1)
        fm = 0.5 * (s * s - (emb * emb).sum(1)).sum(1, keepdim=True)
        y = self.out(self.mlp(torch.cat([dense, emb.reshape(b, -1)], 1))) + fm
        if wide is not None:
            y = y + wide.reshape(b, -1).sum(1, keepdim=True)
        return y.squeeze(1)


# ----------------------------------------------------------------------------- measuring

def vm_hwm_mb(pid="self"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def cpu_jiffies(pids):
    """(busy jiffies of the whole machine, jiffies used by `pids`)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = sum(v[:8]) - v[3] - v[4]  # minus idle and iowait
    ours = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ours += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError):
            pass
    return busy, ours


def other_cpu_frac(j0, j1, wall):
    """Share of the machine's CPU time used by other processes during `wall` seconds."""
    hz, n = os.sysconf("SC_CLK_TCK"), os.cpu_count()
    return max(0.0, ((j1[0] - j0[0]) - (j1[1] - j0[1])) / (wall * hz * n))


def pss_mb(pid):
    """Current proportional set size (shared pages split between their users), or None."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def torch_version():
    try:
        import subprocess
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"], capture_output=True, text=True).stdout.strip()
        if v and os.path.realpath(torch.__file__).startswith("/usr/lib/python3/"):
            return v.split("+")[0], f"Debian python3-torch {v}, torch.__version__ {torch.__version__}"
    except OSError:
        pass
    return torch.__version__, f"torch.__version__ {torch.__version__}"


def check_parsers(files, block_bytes):
    ok = True
    for path in files:
        h = header_length(path)
        block = next(line_blocks(path, h, os.path.getsize(path), block_bytes))
        a, b = parse_numpy(block, DLRM26_ROWS), parse_pandas(block, DLRM26_ROWS)
        same = all(np.array_equal(x, y) for x, y in zip(a, b))
        log(f"{path}: {len(a[0])} rows, numpy == pandas: {same}")
        ok &= same
    return ok


def main(a):
    files = list_files(a.data)
    block_bytes = int(a.block_mb * (1 << 20))
    if a.check_parser:
        sys.exit(0 if check_parsers(files, block_bytes) else 1)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tver, tdesc = torch_version()
    log(f"torch {tdesc}; threads {torch.get_num_threads()}; files {files}")

    loader_desc = (f"torch DataLoader(IterableDataset, batch_size=None, num_workers={a.workers}), "
                   f"{a.parser} TSV parser, {a.block_mb:g} MiB line-aligned blocks, byte ranges per worker, no shuffle")
    ds = TsvBatches(files, a.batch, a.parser, block_bytes, DLRM26_ROWS, a.workers)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=a.workers)
    it = iter(loader)  # workers fork here, before the tables exist
    workers = [w.pid for w in getattr(it, "_workers", [])]
    pids = [os.getpid()] + workers

    total = a.warmup + a.steps
    if a.mode == "loader":
        t0 = None
        for i in range(total):
            next(it)
            if i + 1 == a.warmup or (a.warmup == 0 and i == 0):
                t0, j0 = time.perf_counter(), cpu_jiffies(pids)
        dt = time.perf_counter() - t0
        other = other_cpu_frac(j0, cpu_jiffies(pids), dt)
        measured = a.steps if a.warmup else a.steps - 1
        log(f"loader only: {measured * a.batch / dt:,.0f} rows/s; other processes used {100 * other:.0f}% of the CPUs")
        return finish(a, tver, loader_desc, workers, it, measured * a.batch / dt, measured, {"mode": "loader", "other_cpu_frac": round(other, 3)})

    gen = torch.Generator().manual_seed(a.seed)
    t = time.perf_counter()
    deep = SparseGroup(DLRM26_ROWS, DEEP_DIM, a.tables == "fused", gen)
    wide = SparseGroup(DLRM26_ROWS, a.wide_dim, a.tables == "fused", gen) if a.wide_dim else None
    model = DeepFM(a.wide_dim)
    opt = torch.optim.Adam(model.parameters(), lr=a.dense_lr)
    sparse_bytes = deep.nbytes() + (wide.nbytes() if wide else 0)
    log(f"tables + row-wise Adagrad state: {sparse_bytes / 2**20:,.0f} MiB (tables {a.tables}), built in {time.perf_counter() - t:.1f} s; "
        f"dense params {sum(p.numel() for p in model.parameters()):,}")

    cached = [next(it) for _ in range(8)] if a.mode == "model" else None
    wait = 0.0
    losses, step_times, t_prev = [], [], 0.0
    t0, j0 = time.perf_counter(), cpu_jiffies(pids)
    for i in range(total):
        if i == a.warmup:
            t0, wait, j0 = time.perf_counter(), 0.0, cpu_jiffies(pids)
        tw = time.perf_counter()
        if i > a.warmup:
            step_times.append(tw - t_prev)
        t_prev = tw
        label, dense, ids = cached[i % len(cached)] if cached else next(it)
        wait += time.perf_counter() - tw
        unique = None
        if a.sparse_grad == "unique":  # one sort for both groups (same ids, same offsets)
            uniq, inv = torch.unique(ids + deep.offsets, return_inverse=True)
            unique = (uniq, inv)
        emb = deep.lookup(ids, unique)
        wemb = wide.lookup(ids, unique) if wide else None
        logit = model(dense, emb, wemb)
        loss = F.binary_cross_entropy_with_logits(logit, label)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        deep.step(a.sparse_lr)
        if wide:
            wide.step(a.sparse_lr)
        losses.append(loss.item())
        if (i + 1) % a.log_every == 0 or i + 1 == total:
            el = time.perf_counter() - t0
            done = i + 1 - a.warmup
            rate = f"{done * a.batch / el:,.0f} samples/s, data wait {100 * wait / el:.0f}%" if done > 0 else "warmup"
            log(f"step {i + 1}/{total}: loss {np.mean(losses[-a.log_every:]):.4f}; {rate}")
    dt = time.perf_counter() - t0
    other = other_cpu_frac(j0, cpu_jiffies(pids), dt)
    step_times.append(time.perf_counter() - t_prev)
    sps = a.steps * a.batch / dt
    med = float(np.median(step_times))
    log(f"{a.steps} steps in {dt:.1f} s: {a.steps / dt:.2f} steps/s, {sps:,.0f} samples/s; "
        f"waiting for data {100 * wait / dt:.0f}%; other processes used {100 * other:.0f}% of the CPUs; "
        f"median step {1000 * med:.0f} ms ({a.batch / med:,.0f} samples/s)")
    extra = {"mode": a.mode, "steps_per_s": round(a.steps / dt, 3), "median_step_ms": round(1000 * med, 1),
             "samples_per_s_at_median_step": round(a.batch / med, 1), "data_wait_frac": round(wait / dt, 3),
             "final_loss": round(float(np.mean(losses[-min(20, len(losses)):])), 4), "tables": a.tables,
             "wide_dim": a.wide_dim, "sparse_grad": a.sparse_grad, "sparse_state_mb": round(sparse_bytes / 2**20, 1),
             "other_cpu_frac": round(other, 3), "thp": thp_on()}
    return finish(a, tver, loader_desc, workers, it, sps, a.steps, extra)


def finish(a, tver, loader_desc, workers, it, sps, steps, extra):
    main_mb = vm_hwm_mb()
    worker_mb = [vm_hwm_mb(p) for p in workers]
    worker_pss = [pss_mb(p) for p in workers]
    getattr(it, "_shutdown_workers", lambda: None)()
    import resource
    children_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    worker_mb = [w if w is not None else children_max for w in worker_mb]
    peak = main_mb + sum(worker_mb)
    log(f"peak RSS: main {main_mb:,.0f} MB + workers {[round(w) for w in worker_mb]} MB = {peak:,.0f} MB")
    res = {"name": "pytorch_deepfm_e2e", "threads": a.threads, "samples_per_s": round(sps, 1), "peak_rss_mb": round(peak, 1),
           "steps": steps, "batch": a.batch, "torch": tver, "loader": loader_desc,
           "rss_main_mb": round(main_mb, 1), "rss_workers_mb": [round(w, 1) for w in worker_mb],
           "pss_workers_now_mb": [round(w, 1) if w is not None else None for w in worker_pss], **extra}
    line = json.dumps(res)
    if a.json:
        with open(a.json, "w") as f:
            f.write(line + "\n")
    print(line, flush=True)


if __name__ == "__main__":
    main(ARGS)
