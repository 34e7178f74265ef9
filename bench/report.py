#!/usr/bin/env python3
"""bench/report.py: the summary and plots of a benchmark report folder made by scripts/bench.

usage: bench/report.py [--no-plots] [--goals FILE] FOLDER

Reads what the benchmarks wrote in FOLDER (each NAME.json with the json module, else its NAME.csv and
NAME-TABLE.csv files with the csv module; meta.txt and runs.tsv from scripts/bench) and writes
FOLDER/summary.md: the verdict, every goal of the goals file met, missed or not measured, the machine
and versions, the figures too noisy to trust, the CPU/GPU speedups and crossover, ltc against its
peers side by side, the plots, and every table. Then draws the plots in FOLDER/plots/ as PNG and SVG:
with matplotlib where it imports, else with gnuplot (the .gp scripts and .dat files are kept beside),
else not at all, saying how to draw them. Python's standard library is all it needs.

The goals: --goals FILE, else FOLDER/goals (scripts/bench copies bench/goals there when it runs),
else the bench/goals beside this program.

environment:
  LTC_PLOT     how to draw: auto (default: matplotlib, else gnuplot, else none), matplotlib, gnuplot
               or none
  LTC_GNUPLOT  the gnuplot to run (default: gnuplot on PATH)
exit codes: 0 written (the plots drawn, or not drawn for want of a tool: said on stderr); 1 a file
could not be written, or the plotting tool failed; 2 bad usage, or FOLDER is not a report folder
"""
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys

KNOWN = ["cold_start", "transfer", "train", "model"]
HERE = os.path.dirname(os.path.abspath(__file__))

# A figure is too noisy to trust when its spread is wider than these.
IQR_LIMIT_PCT = 25.0  # (p75 - p25) / median, in percent
MIN_LIMIT = 2.0  # median / min
THREADS_LIMIT = 2.0  # a CPU case with more threads this many times slower than with 1 thread

PLOTS = [
    ("train_step_time", "Step time against global batch, CPU and GPU, crossover marked"),
    ("train_scaling", "Samples/s against GPU count, with the ideal line"),
    ("train_vs_python", "ltc against Python (plain PyTorch), side by side"),
    ("transfer_bandwidth", "Copy bandwidth against size, with the PCIe link"),
]
# Okabe-Ito: told apart with colour blindness too; then greys
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C564B", "#999999", "#F0E442"]


class ReportError(Exception):
    """A file that could not be written (exit 1)."""


class UsageError(Exception):
    """Bad usage, or not a report folder (exit 2)."""


# ------------------------------------------------------------------------------------------------
# Numbers and Markdown
# ------------------------------------------------------------------------------------------------

NUMBER = re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def num(row, col):
    """A cell as a number, or None (missing, empty, text, null, not finite)."""
    v = row.get(col) if row else None
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        v = v.strip()
        if not NUMBER.match(v):
            return None
        v = float(v)
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    return None


def text(row, col):
    """A cell as text ("" when missing or null)."""
    v = row.get(col) if row else None
    return "" if v is None else v if isinstance(v, str) else fmt(num(row, col))


def fmt(v, digits=4):
    """1.23, 45.6, 789: `digits` significant digits at most, no exponent for everyday sizes."""
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e7 or 0 < a < 1e-3:
        return "%.3g" % v
    if a >= 1000:
        return "%.0f" % v
    return "%.*g" % (digits, v)


def whole(v):
    """262144.0 -> "262144"; other numbers as fmt does."""
    return str(int(v)) if v is not None and float(v).is_integer() else fmt(v)


def batch_label(b):
    """262144 -> 256K, 2097152 -> 2M, 1536 -> 1536 (K = 1024)."""
    b = int(b)
    if b >= 1048576 and b % 1048576 == 0:
        return "%dM" % (b // 1048576)
    if b >= 16384 and b % 1024 == 0:
        return "%dK" % (b // 1024)
    return str(b)


def bytes_label(b):
    """4 -> 4 B, 65536 -> 64 KiB, 1073741824 -> 1 GiB."""
    b = int(b)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= size and b % size == 0:
            return "%d %s" % (b // size, unit)
    return "%d B" % b


def md_cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def md_table(rows, cols, heads=None, need=None):
    """A Markdown table of some columns of rows (dicts); numbers right-aligned by the first row; "" when
    no row qualifies (need: a column that must hold something other than "" or "-")."""
    rows = [r for r in rows if not need or text(r, need) not in ("", "-")]
    if not rows:
        return ""
    heads = heads or cols
    first = rows[0]
    out = ["| " + " | ".join(md_cell(h) for h in heads) + " |",
           "|" + "".join(" --- |" if num(first, c) is None and text(first, c) not in ("", "-") else " ---: |"
                         for c in cols)]
    for r in rows:
        cells = []
        for c in cols:
            n = num(r, c)
            cells.append(fmt(n) if n is not None else md_cell(text(r, c)) if text(r, c) != "" else "-")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
# Reading the folder
# ------------------------------------------------------------------------------------------------

class Table:
    def __init__(self, name, title, cols, rows):
        self.name, self.title, self.cols, self.rows = name, title, cols, rows


class Bench:
    """What one benchmark wrote: its JSON (context, tables, summary, goals, notes), else its CSV tables."""

    def __init__(self, name):
        self.name = name
        self.context = {}
        self.tables = []
        self.summary = {}
        self.goals = []
        self.notes = []
        self.problems = []
        self.has_json = False

    def table(self, name=None):
        """The table of that name; None: the first one."""
        for t in self.tables:
            if name is None or t.name == name:
                return t
        return None

    def rows(self, name=None):
        t = self.table(name)
        return t.rows if t else []


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_csv(path):
    """The rows of a CSV file as dicts, numbers as floats and empty cells as None; and its columns."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = []
        for r in reader:
            rows.append({k: (None if v in (None, "") else float(v) if NUMBER.match(v.strip()) else v)
                         for k, v in r.items() if k is not None})
        return rows, list(reader.fieldnames or [])


def load_bench(folder, name):
    b = Bench(name)
    path = os.path.join(folder, name + ".json")
    data = None
    if os.path.isfile(path):
        try:
            data = read_json(path)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            b.problems.append("%s.json could not be read (%s); its CSV files are used" % (name, e))
            data = None
    if data is not None:
        b.has_json = True
        ctx = data.get("context")
        if isinstance(ctx, dict):
            b.context = {str(k): str(v) for k, v in ctx.items()}
        tables = data.get("tables")
        for tname, t in (tables.items() if isinstance(tables, dict) else []):
            if not isinstance(t, dict):
                continue
            rows = [r for r in t.get("rows") or [] if isinstance(r, dict)]
            units = t.get("units") if isinstance(t.get("units"), dict) else {}
            cols = list(units) or (list(rows[0]) if rows else [])
            b.tables.append(Table(str(tname), str(t.get("title") or ""), cols, rows))
        for m in data.get("summary") or []:
            if isinstance(m, dict) and "key" in m:
                b.summary[str(m["key"])] = num(m, "value")
        b.goals = [g for g in data.get("goals") or [] if isinstance(g, dict)]
        b.notes = [str(n) for n in data.get("notes") or []]
    if not b.tables:  # a benchmark that wrote CSV only (or a JSON that could not be read)
        files = sorted(f for f in os.listdir(folder) if f.startswith(name + "-") and f.endswith(".csv"))
        for f, tname in [(name + ".csv", "")] + [(f, f[len(name) + 1:-4]) for f in files]:
            p = os.path.join(folder, f)
            if os.path.isfile(p):
                try:
                    rows, cols = read_csv(p)
                except (OSError, ValueError, csv.Error) as e:
                    b.problems.append("%s could not be read (%s)" % (f, e))
                    continue
                b.tables.append(Table(tname, f, cols, rows))
    return b


def read_meta(folder):
    meta = {}
    try:
        with open(os.path.join(folder, "meta.txt"), encoding="utf-8") as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition(": ")
                if sep and k not in meta:
                    meta[k] = v
    except OSError:
        pass
    return meta


def read_runs(folder):
    with open(os.path.join(folder, "runs.tsv"), newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r.get("benchmark")]


def read_goals(path):
    """bench/goals: one goal a line: benchmark, key, >= or <=, target, unit ("-": none), words."""
    goals = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 5)
            if len(parts) < 6 or parts[2] not in (">=", "<=") or num({"t": parts[3]}, "t") is None:
                raise UsageError("%s:%d is not a goal line (benchmark, key, >= or <=, target, unit, words): %s"
                                 % (path, n, line))
            goals.append({"bench": parts[0], "key": parts[1], "higher_is_better": parts[2] == ">=",
                          "target": float(parts[3]), "unit": "" if parts[4] == "-" else parts[4], "goal": parts[5]})
    return goals


# ------------------------------------------------------------------------------------------------
# The figures the summary and the plots share
# ------------------------------------------------------------------------------------------------

def crossover(rows):
    """bench_train's crossover rule over its sweep: the CPU case with the most threads, and for "1 GPU
    eager" and "1 GPU eager + H2D" the smallest batch from which it beats that CPU case at every larger
    batch measured ("none": the CPU is faster at the largest; None: not measured)."""
    cpu, cpu_name, threads, other = {}, "", 0, {"gpu": {}, "h2d": {}}
    for r in rows:
        c, b, m = text(r, "case"), num(r, "batch"), num(r, "median_us")
        if b is None or m is None:
            continue
        t = re.match(r"^CPU, (\d+) threads$", c)
        if t:
            if int(t.group(1)) > threads:
                cpu, cpu_name, threads = {}, c, int(t.group(1))
            if int(t.group(1)) == threads:
                cpu[b] = m
        elif c == "1 GPU eager":
            other["gpu"][b] = m
        elif c == "1 GPU eager + H2D":
            other["h2d"][b] = m
    found = {}
    for k, o in other.items():
        bs = sorted(b for b in o if b in cpu)
        if not bs:
            found[k] = None
            continue
        found[k] = "none"
        for b in reversed(bs):
            if o[b] >= cpu[b]:
                break
            found[k] = b
    return found, cpu_name


def train_crossover(train):
    """The benchmark's own crossover figures where it recorded them, else the rule applied to its rows."""
    found, cpu_name = crossover(train.rows("sweep") or train.rows())
    for k, key in (("gpu", "crossover_batch"), ("h2d", "crossover_batch_with_h2d")):
        if train.summary.get(key) is not None:
            found[k] = train.summary[key]
    return found, cpu_name


def spread_flags(benches):
    """(benchmark, table, figure, median, why) of each figure too noisy to trust."""
    flags = {}

    def flag(bench, table, figure, median, why):
        key = (bench, table, figure)
        if key in flags:
            flags[key] = flags[key][:4] + (flags[key][4] + "; " + why,)
        else:
            flags[key] = (bench, table, figure, median, why)
    for b in benches:
        for t in b.tables:
            med = next((c for c in ("median_us", "median_s") if c in t.cols), None)
            low = next((c for c in ("min_us", "min_s") if c in t.cols), None)
            if not med:
                continue
            unit = " us" if med.endswith("_us") else " s"
            for r in t.rows:
                m, lo, iqr = num(r, med), num(r, low) if low else None, num(r, "iqr_pct")
                why = []
                if iqr is not None and iqr > IQR_LIMIT_PCT:
                    why.append("IQR %.0f%% of the median" % iqr)
                if m is not None and lo and m / lo > MIN_LIMIT:
                    why.append("median %.1fx the fastest run" % (m / lo))
                if why:
                    flag("bench_" + b.name, t.name, figure_name(t, r), fmt(m) + unit, "; ".join(why))
        if b.name == "train":  # more threads should never be much slower than one: ltc's, or the raw C++ peer's
            for col, who in (("median_us", ""), ("cpp_median_us", "raw C++ peer: ")):
                one, many = {}, {}
                for r in b.rows("sweep") or b.rows():
                    c, bt, m = text(r, "case"), num(r, "batch"), num(r, col)
                    if bt is None or m is None:
                        continue
                    if c == "CPU, 1 thread":
                        one[bt] = m
                    elif re.match(r"^CPU, \d+ threads$", c):
                        many[(c, bt)] = m
                for (c, bt), m in many.items():
                    if bt in one and m > THREADS_LIMIT * one[bt]:
                        flag("bench_train", "sweep", "%s%s, batch %s" % (who, c, whole(bt)), fmt(m) + " us",
                             "%.1fx the time with 1 thread: the threads wait for each other (other work on the "
                             "machine?)" % (m / one[bt]))
    return list(flags.values())


def figure_name(table, row):
    """What a row measures, in words: its text cells, and its batch."""
    words = [text(row, c) for c in table.cols
             if c != "peer" and num(row, c) is None and text(row, c) not in ("", "-")]
    if num(row, "batch") is not None:
        words.append("batch " + whole(num(row, "batch")))
    return ", ".join(words) or "-"


def machine_line(b):
    """"2 x NVIDIA H200, host gpu-node, commit 0123456789ab, 2026-11-24" from a benchmark's context."""
    if not b or not b.context:
        return ""
    ctx = b.context
    gpus = [v.split(",")[0] for k, v in ctx.items() if re.match(r"^cuda:\d+$", k)]
    if not gpus:
        m = "no GPU: " + re.sub(r", \d+ logical CPUs.*", "", ctx.get("CPU", "?"))
    elif len(gpus) == 1:
        m = gpus[0]
    else:
        m = "%d x %s" % (len(gpus), gpus[0]) if len(set(gpus)) == 1 else "%d GPUs" % len(gpus)
    for k, label in (("host", "host "), ("git", "commit ")):
        if ctx.get(k):
            m += ", " + label + ctx[k]
    if ctx.get("date"):
        m += ", " + ctx["date"][:10]
    return m


# ------------------------------------------------------------------------------------------------
# Plots: each described once (series of points, lines, labels), drawn by matplotlib or gnuplot
# ------------------------------------------------------------------------------------------------
# A plot is a dict: name, title, machine, xlabel, ylabel, logx (base or 0), logy, xticks [(value, label)],
# xrange, yrange (or None), key_title, yfmt ("si" or ""), series [{label, x, y, lo, hi, color, dash,
# marker, open, lw}], vlines [{x, dash}], hlines [{y, label}], labels [{text, at: (fx, fy in the axes),
# align}], and done: the line that says what was drawn. A builder returns one, or a string: why not.

def ticks(values, label, most):
    """About `most` of the sorted values, evenly spaced, counted back from the last one."""
    step = -(-len(values) // most) if len(values) > most else 1
    picked = values[::-1][::step][::-1]
    return [(v, label(v)) for v in picked]


def plot_train_step_time(benches):
    train = benches.get("train")
    rows = train.rows("sweep") or train.rows() if train else []
    series, seen, xs = {}, [], set()
    for r in rows:
        c, b, m = text(r, "case"), num(r, "batch"), num(r, "median_us")
        if not c or b is None or m is None:
            continue
        if c not in series:
            series[c] = {"label": c, "x": [], "y": [], "lo": [], "hi": [], "color": len(seen)}
            seen.append(c)
        s = series[c]
        s["x"].append(b), s["y"].append(m), s["lo"].append(num(r, "min_us")), s["hi"].append(num(r, "max_us"))
        xs.add(b)
    if not series:
        return "bench_train wrote no step times (no rows with case, batch and median)"
    xs = sorted(xs)
    (found, cpu_name) = train_crossover(train)
    x, x_h2d = found["gpu"], found["h2d"]
    vlines, labels, what = [], [], ""
    if x not in (None, "none"):
        vlines.append({"x": x, "dash": "dashed"})
        labels.append({"text": "dashed: 1 GPU eager beats %s from batch %s" % (cpu_name, batch_label(x)),
                       "at": (0.02, 0.04), "align": "left"})
        what = ", crossover at batch %s" % whole(x)
    elif x == "none":
        labels.append({"text": "no crossover: the CPU is faster up to the largest batch", "at": (0.98, 0.04),
                       "align": "right"})
        what = ", no crossover"
    if x_h2d not in (None, "none") and x_h2d != x:
        vlines.append({"x": x_h2d, "dash": "dotted"})
        labels.append({"text": "dotted: with the batch copied in (+ H2D), from batch %s" % batch_label(x_h2d),
                       "at": (0.02, 0.10), "align": "left"})
    return {"title": "Linear(100, 10) SGD step time against global batch (bench_train)",
            "machine": machine_line(train), "xlabel": "global batch (samples; K = 1024, M = 1024 K)",
            "ylabel": "step time (µs): median, bars from min to max", "logx": 10, "logy": True,
            "xticks": ticks(xs, batch_label, 10), "xrange": (xs[0] / 1.5, xs[-1] * 1.5), "yrange": None,
            "key_title": "", "yfmt": "", "series": [series[c] for c in seen], "vlines": vlines, "hlines": [],
            "labels": labels, "done": "ok: %d cases%s" % (len(seen), what)}


def plot_train_scaling(benches):
    train = benches.get("train")
    rows = train.rows("sweep") or train.rows() if train else []
    base, val, ns, multi = {}, {}, {"ddp": set(), "dp": set()}, set()
    for r in rows:
        c, b = text(r, "case"), num(r, "batch")
        v = num(r, "samples_per_s")
        if v is None and b is not None and num(r, "median_us"):
            v = b / (num(r, "median_us") * 1e-6)
        if b is None or v is None:
            continue
        if c == "1 GPU eager":
            base[b] = v
            continue
        m = re.match(r"^(\d+) GPUs? (ddp|dp)$", c)
        if not m:
            continue
        n = int(num(r, "gpus") or m.group(1))
        val[(m.group(2), b, n)] = v
        ns[m.group(2)].add(n)
        if n >= 2:
            multi.add(b)
    bs = sorted(b for b in multi if b in base)
    if not bs:
        return "bench_train has no 1 GPU eager row and ddp or dp rows on 2 or more GPUs at the same batch"
    picks = [bs[0]] + ([bs[(len(bs) + 1) // 2 - 1]] if len(bs) >= 3 else []) + ([bs[-1]] if len(bs) >= 2 else [])
    maxn = max(max(s) for s in ns.values() if s)
    series = []
    for p, b in enumerate(picks):
        for mode, dash, marker in (("ddp", "solid", "o"), ("dp", "dashdot", "s")):
            have = [n for n in sorted(ns[mode]) if n >= 2 and (mode, b, n) in val]
            if not have:
                continue
            last = have[-1]
            eff = val[(mode, b, last)] / (last * base[b]) * 100
            series.append({"label": "%s: ltc %s, %.0f%% of ideal on %d GPUs" % (batch_label(b), mode, eff, last),
                           "x": [1] + have, "y": [base[b]] + [val[(mode, b, n)] for n in have], "color": p,
                           "dash": dash, "marker": marker})
        hi = max(maxn, 2) * 1.2
        series.append({"label": "%s: ideal, N x 1 GPU" % batch_label(b), "x": [0.85, hi],
                       "y": [0.85 * base[b], hi * base[b]], "color": p, "dash": "dotted", "marker": "", "lw": 1.5})
    xt, n = [], 1
    while n <= maxn:
        xt.append(n)
        n *= 2
    if maxn > 1 and maxn not in xt:
        xt.append(maxn)
    return {"title": "Scaling: samples/s against GPUs (bench_train)", "machine": machine_line(train),
            "xlabel": "GPUs (1 = 1 GPU eager; the global batch split over the GPUs)",
            "ylabel": "samples/s (global batch / median step time)", "logx": 2, "logy": True,
            "xticks": [(v, str(v)) for v in xt], "xrange": (0.85, max(maxn, 2) * 1.2), "yrange": None,
            "key_title": "global batch (K, M = 2^10, 2^20): case", "yfmt": "si", "series": series, "vlines": [],
            "hlines": [], "labels": [], "done": "ok: %d batches, up to %d GPUs" % (len(picks), maxn)}


def plot_train_vs_python(benches):
    train = benches.get("train")
    if not train:
        return "bench_train did not run"
    series, order, xs = {}, [], set()

    def add(name, b, m, py):
        if name not in series:
            series[name] = {"label": name, "x": [], "y": [], "color": len(order), "dash": "dashed" if py else "solid",
                            "marker": "o", "open": py, "lw": 2.5 if py else 2}
            order.append(name)
        series[name]["x"].append(b)
        series[name]["y"].append(m)
        xs.add(b)

    for r in train.rows("sweep") or train.rows():
        b, m = num(r, "batch"), num(r, "median_us")
        if b is not None and m is not None and text(r, "peer") not in ("", "-"):
            add("ltc: " + text(r, "case"), b, m, False)
    npy = 0
    for r in train.rows("peers"):
        b, m = num(r, "batch"), num(r, "median_us")
        if b is not None and m is not None and text(r, "peer"):
            npy += text(r, "peer") not in series
            add(text(r, "peer"), b, m, True)
    if not npy:
        return "no Python figures (no Python peer ran)"
    xs = sorted(xs)
    return {"title": "ltc against Python (plain PyTorch), side by side (bench_train)", "machine": machine_line(train),
            "xlabel": "global batch (samples; K = 1024, M = 1024 K)", "ylabel": "step time, median (µs)",
            "logx": 10, "logy": True, "xticks": ticks(xs, batch_label, 10), "xrange": (xs[0] / 1.5, xs[-1] * 1.5),
            "yrange": None, "key_title": "", "yfmt": "", "series": [series[s] for s in order], "vlines": [],
            "hlines": [], "labels": [], "done": "ok: %d ltc cases, %d Python peers" % (len(order) - npy, npy)}


def plot_transfer_bandwidth(benches):
    tr = benches.get("transfer")
    rows = tr.rows("sweep") or tr.rows() if tr else []
    series, order, xs, ymax, link, link_pct = {}, [], set(), 0.0, None, None
    for r in rows:
        b, bw = num(r, "bytes"), num(r, "bandwidth_GBps")
        if b is None or bw is None:
            continue
        s = text(r, "copy") + (", " + text(r, "memory") if text(r, "memory") else "")
        if s not in series:
            series[s] = {"label": s, "x": [], "y": [], "color": len(order), "marker": "o"}
            order.append(s)
        series[s]["x"].append(b)
        series[s]["y"].append(bw)
        xs.add(b)
        ymax = max(ymax, bw)
        pct = num(r, "of_link_pct")
        if link_pct is None and pct:
            link_pct = bw / pct * 100
    if not series:
        return "bench_transfer wrote no sweep (no rows with bytes and bandwidth)"
    for r in tr.rows("fit"):
        if link is None and num(r, "link_GBps"):
            link = num(r, "link_GBps")
    link = link if link is not None else link_pct
    link_name = "PCIe link"
    for k, v in tr.context.items():
        m = re.search(r"Gen\d+ x\d+", v)
        if re.match(r"^cuda:\d+$", k) and m:
            link_name = "PCIe " + m.group(0)
            break
    xs = sorted(xs)
    hlines, labels = [], []
    if link:
        hlines.append({"y": link, "label": "PCIe link"})
        labels.append({"text": "%s, theoretical: %.1f GB/s per direction" % (link_name, link),
                       "at": (0.02, min(0.95, link / (max(link, ymax) * 1.12) + 0.025)), "align": "left"})
    return {"title": "Copy bandwidth against size (bench_transfer)", "machine": machine_line(tr),
            "xlabel": "copy size (bytes; KiB = 1024 B)",
            "ylabel": "bandwidth = bytes / median time of a synced copy (GB/s = 10^9 B/s)", "logx": 2, "logy": False,
            "xticks": ticks(xs, bytes_label, 11), "xrange": (xs[0] / 1.5, xs[-1] * 1.5),
            "yrange": (0, max(link or 0, ymax) * 1.12), "key_title": "", "yfmt": "",
            "series": [series[s] for s in order], "vlines": [], "hlines": hlines, "labels": labels,
            "done": "ok: %d series, %s" % (len(order), "PCIe line at %.1f GB/s" % link if link
                                           else "no PCIe line (no GPU link in the report)")}


BUILDERS = {"train_step_time": plot_train_step_time, "train_scaling": plot_train_scaling,
            "train_vs_python": plot_train_vs_python, "transfer_bandwidth": plot_transfer_bandwidth}
DASH_MPL = {"solid": "-", "dashed": "--", "dotted": ":", "dashdot": "-."}
DASH_GP = {"solid": 1, "dashed": 2, "dotted": 3, "dashdot": 4}
MARKER_GP = {"o": 7, "s": 5, "^": 9, "D": 13, "": 0}


def draw_matplotlib(spec, name, plots):
    """Draws plots/NAME.png and NAME.svg; raises ReportError when they cannot be written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    fig, ax = plt.subplots(figsize=(12, 7.5), dpi=100)
    try:
        for s in spec["series"]:
            color = COLORS[s.get("color", 0) % len(COLORS)]
            kw = {"color": color, "linestyle": DASH_MPL[s.get("dash", "solid")], "linewidth": s.get("lw", 2),
                  "marker": s.get("marker", "o") or None, "markersize": 6, "label": s["label"]}
            if s.get("open"):
                kw["markerfacecolor"] = "none"
            if s.get("lo") and any(v is not None for v in s["lo"]):
                err = [[y - (lo if lo is not None else y) for y, lo in zip(s["y"], s["lo"])],
                       [(hi if hi is not None else y) - y for y, hi in zip(s["y"], s["hi"])]]
                ax.errorbar(s["x"], s["y"], yerr=err, capsize=3, elinewidth=1, **kw)
            else:
                ax.plot(s["x"], s["y"], **kw)
        for v in spec["vlines"]:
            ax.axvline(v["x"], color="#444444", linestyle=DASH_MPL[v["dash"]], linewidth=2, zorder=0)
        for h in spec["hlines"]:
            ax.axhline(h["y"], color="#444444", linestyle="--", linewidth=2, label=h["label"])
        for lab in spec["labels"]:
            ax.text(lab["at"][0], lab["at"][1], lab["text"], transform=ax.transAxes, ha=lab["align"],
                    color="#444444", fontsize=11, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
        if spec["logx"]:
            ax.set_xscale("log", base=spec["logx"])
        if spec["logy"]:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator([v for v, _ in spec["xticks"]]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: dict(spec["xticks"]).get(v, "")))
        if spec["yfmt"] == "si":
            ax.yaxis.set_major_formatter(FuncFormatter(si_label))
        elif spec["logy"]:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: "%g" % v))
        ax.set_xlim(*spec["xrange"])
        if spec["yrange"]:
            ax.set_ylim(*spec["yrange"])
        ax.set_title(spec["title"] + ("\n" + spec["machine"] if spec["machine"] else ""), fontsize=13)
        ax.set_xlabel(spec["xlabel"])
        ax.set_ylabel(spec["ylabel"])
        ax.grid(True, color="#d0d0d0", linewidth=1)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), title=spec["key_title"] or None, fontsize=10,
                  frameon=True)
        fig.tight_layout()
        for ext in ("png", "svg"):
            path = os.path.join(plots, name + "." + ext)
            try:
                fig.savefig(path, format=ext)
            except OSError as e:
                raise ReportError("cannot write %s: %s" % (path, e.strerror or e))
    finally:
        plt.close(fig)


def si_label(v, _pos=None):
    for f, s in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= f:
            return "%g%s" % (v / f, s)
    return "%g" % v


def gp_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def gp_num(v):
    return "NaN" if v is None else "%d" % v if float(v).is_integer() and abs(v) < 2 ** 53 else "%.9g" % v


def gnuplot_script(spec, name, term):
    """The gnuplot script (NAME.gp) and its data (NAME.dat) of a plot."""
    dat, plot = [], []
    for i, s in enumerate(spec["series"]):
        block = ["# " + s["label"]]
        bars = bool(s.get("lo")) and any(v is not None for v in s["lo"])
        for k, (x, y) in enumerate(zip(s["x"], s["y"])):
            block.append("\t".join([gp_num(x), gp_num(y)] + ([gp_num(s["lo"][k]), gp_num(s["hi"][k])] if bars else [])))
        dat.append("\n".join(block))
        lt = "lt %d dt %d lw %g" % (s.get("color", 0) % len(COLORS) + 1, DASH_GP[s.get("dash", "solid")], s.get("lw", 2))
        if bars:
            how = "using 1:2:3:4 with yerrorlines %s" % lt
        elif s.get("marker", "o"):
            how = "using 1:2 with linespoints %s pt %d ps 1.4" % (lt, 6 if s.get("open") else MARKER_GP[s["marker"]])
        else:
            how = "using 1:2 with lines %s" % lt
        plot.append("%s index %d %s title %s" % (gp_str(name + ".dat"), i, how, gp_str(s["label"])))
    for h in spec["hlines"]:
        plot.append('%s with lines dt 2 lw 2 lc rgb "#444444" title %s' % (gp_num(h["y"]), gp_str(h["label"])))
    gp = ["# %s.gp: written by bench/report.py from the report's files." % name,
          "# To draw %s.png and %s.svg again: cd to this folder, then gnuplot %s.gp" % (name, name, name),
          "set encoding utf8",
          'set terminal %s size 1200,750 font "Sans,13" noenhanced' % term,
          "set output " + gp_str(name + ".png"),
          'set datafile separator "\\t"',
          "set title " + gp_str(spec["title"] + ("\n" + spec["machine"] if spec["machine"] else "")),
          "set xlabel " + gp_str(spec["xlabel"]),
          "set ylabel " + gp_str(spec["ylabel"]),
          'set grid xtics ytics lc rgb "#d0d0d0" lw 1 dt 1',
          "set border lw 1.2",
          "set key outside right top vertical Left reverse box opaque spacing 1.3 samplen 3"]
    gp += ['set linetype %d lc rgb "%s" lw 2' % (i + 1, c) for i, c in enumerate(COLORS)]
    if spec["logx"]:
        gp.append("set logscale x %d" % spec["logx"])
    if spec["logy"]:
        gp.append("set logscale y")
    gp.append('set format y "%.0s%c"' if spec["yfmt"] == "si" else 'set format y "%g"')
    gp.append("set xtics (" + ", ".join("%s %s" % (gp_str(lab), gp_num(v)) for v, lab in spec["xticks"]) + ")")
    gp.append("set xrange [%s:%s]" % tuple(gp_num(v) for v in spec["xrange"]))
    if spec["yrange"]:
        gp.append("set yrange [%s:%s]" % tuple(gp_num(v) for v in spec["yrange"]))
    if spec["key_title"]:
        gp.append("set key title " + gp_str(spec["key_title"]))
    for v in spec["vlines"]:
        gp.append('set arrow from %s, graph 0 to %s, graph 1 nohead dt %d lw 2 lc rgb "#444444" back'
                  % (gp_num(v["x"]), gp_num(v["x"]), DASH_GP[v["dash"]]))
    for lab in spec["labels"]:
        gp.append('set label %s at graph %g, graph %g %s textcolor rgb "#444444" front'
                  % (gp_str(lab["text"]), lab["at"][0], lab["at"][1], lab["align"]))
    gp.append("plot " + ", \\\n     ".join(plot))
    gp += ['set terminal svg size 1200,750 font "Sans,13" noenhanced dynamic background rgb "white"',
           "set output " + gp_str(name + ".svg"), "replot", "set output"]
    return "\n".join(gp) + "\n", "\n\n\n".join(dat) + "\n"


def gnuplot_terminal(gnuplot):
    """pngcairo, or png for a gnuplot built without cairo."""
    try:
        p = subprocess.run([gnuplot, "-e", "set terminal pngcairo"], capture_output=True, text=True, timeout=30)
        return "png" if re.search(r"unknown|ambiguous", p.stdout + p.stderr, re.I) else "pngcairo"
    except (OSError, subprocess.SubprocessError):
        return "pngcairo"


def draw_gnuplot(spec, name, plots, gnuplot, term):
    """Writes NAME.gp and NAME.dat, runs gnuplot on them; raises ReportError when it fails."""
    gp, dat = gnuplot_script(spec, name, term)
    write_text(os.path.join(plots, name + ".gp"), gp)
    write_text(os.path.join(plots, name + ".dat"), dat)
    log = os.path.join(plots, name + ".log")
    try:
        p = subprocess.run([gnuplot, name + ".gp"], cwd=plots, capture_output=True, text=True, timeout=120)
        out = (p.stdout + p.stderr).strip()
        rc = p.returncode
    except (OSError, subprocess.SubprocessError) as e:
        out, rc = str(e), -1
    drawn = all(os.path.isfile(os.path.join(plots, name + ext)) and os.path.getsize(os.path.join(plots, name + ext)) > 0
                for ext in (".png", ".svg"))
    if out:
        write_text(log, out + "\n")
    elif os.path.exists(log):
        os.remove(log)
    if rc != 0 or not drawn:
        tail = " ".join(out.splitlines()[-3:])
        raise ReportError("gnuplot failed on plots/%s.gp (exit %s): %s (all of it: plots/%s.log)" % (name, rc, tail, name))


def plot_tool():
    """("matplotlib" | "gnuplot", gnuplot path) to draw with, or (None, why not)."""
    want = os.environ.get("LTC_PLOT", "auto") or "auto"
    if want not in ("auto", "matplotlib", "gnuplot", "none"):
        raise UsageError('LTC_PLOT="%s" is not valid: use auto, matplotlib, gnuplot or none' % want)
    if want == "none":
        return None, "LTC_PLOT=none"
    why = []
    if want in ("auto", "matplotlib"):
        try:
            import matplotlib  # noqa: F401
            return "matplotlib", None
        except ImportError:
            why.append("matplotlib does not import in %s" % sys.executable)
    if want in ("auto", "gnuplot"):
        gnuplot = os.environ.get("LTC_GNUPLOT") or "gnuplot"
        found = shutil.which(gnuplot)
        if found:
            return "gnuplot", found
        why.append("gnuplot is not installed here" + (" (LTC_GNUPLOT=%s)" % gnuplot if os.environ.get("LTC_GNUPLOT") else ""))
    return None, " and ".join(why)


def how_to_draw(folder):
    return ("install matplotlib (python3 -m pip install matplotlib; Debian/Ubuntu: apt-get install python3-matplotlib) "
            "or gnuplot (apt-get install gnuplot-nox; macOS: brew install gnuplot) and run scripts/bench --summary %s "
            "again, or copy the folder to a machine that has one and run it there" % folder)


def draw_plots(folder, benches):
    """{name: (state, text)}: state "drawn", "skip" (nothing to draw), "not drawn" (no tool) or "failed"."""
    tool, arg = plot_tool()
    plots = os.path.join(folder, "plots")
    result, term = {}, None
    for name, _title in PLOTS:
        spec = BUILDERS[name](benches)
        if isinstance(spec, str):
            result[name] = ("skip", spec)
            continue
        if tool is None:
            result[name] = ("not drawn", arg)
            continue
        try:
            os.makedirs(plots, exist_ok=True)
            for ext in (".png", ".svg"):
                if os.path.exists(os.path.join(plots, name + ext)):
                    os.remove(os.path.join(plots, name + ext))
            if tool == "matplotlib":
                draw_matplotlib(spec, name, plots)
            else:
                term = term or gnuplot_terminal(arg)
                draw_gnuplot(spec, name, plots, arg, term)
            result[name] = ("drawn", spec["done"])
        except OSError as e:
            result[name] = ("failed", "cannot write in %s: %s" % (plots, e.strerror or e))
        except ReportError as e:
            result[name] = ("failed", str(e))
    return tool, result


# ------------------------------------------------------------------------------------------------
# The summary
# ------------------------------------------------------------------------------------------------

def write_text(path, content):
    """Writes path whole (through path.tmp, then renamed); ReportError when any write or the close fails."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise ReportError("cannot write %s: %s" % (path, e.strerror or e))


def goal_rows(benches, runs, goals):
    """The goals table's rows (benchmark, goal, measured, target, result): those the benchmarks reported,
    then those of the goals file that none did."""
    rows, reported = [], set()

    def figure(v, unit):
        return "-" if v is None else fmt(v) + ("" if not unit else unit if unit == "x" else " " + unit)

    for b in benches.values():
        for g in b.goals:
            key, unit = str(g.get("key") or g.get("goal") or ""), str(g.get("unit") or "")
            v, t, hib = num(g, "value"), num(g, "target"), g.get("higher_is_better", True) is not False
            result = str(g.get("result") or "")
            if result not in ("PASS", "MISS"):
                result = "NOT MEASURED" if v is None or t is None else "PASS" if (v >= t if hib else v <= t) else "MISS"
            rows.append(("bench_" + b.name, str(g.get("goal") or key), figure(v, unit),
                         ("%s %s" % (">=" if hib else "<=", figure(t, unit))) if t is not None else "-",
                         {"PASS": "met", "MISS": "**missed**"}.get(result, "not measured")))
            reported.add((b.name, key))
            reported.add((b.name, str(g.get("goal") or "")))
    status = {r["benchmark"]: r.get("status") or "" for r in runs}
    for g in goals:
        if (g["bench"], g["key"]) in reported or (g["bench"], g["goal"]) in reported:
            continue
        name = "bench_" + g["bench"]
        if name not in status:
            why = "no benchmark %s measures it" % name
        elif status[name] != "ok":
            why = "%s: %s" % (name, status[name])
        else:
            why = "not in %s's output" % name
        rows.append((name, g["goal"], "-", "%s %s" % (">=" if g["higher_is_better"] else "<=", figure(g["target"], g["unit"])),
                     "not measured (%s)" % md_cell(why)))
    return rows


def section_speedup(train):
    rows = train.rows("sweep") or train.rows()
    cases, t, bs = [], {}, set()
    for r in rows:
        c, b, m = text(r, "case"), num(r, "batch"), num(r, "median_us")
        if not c or b is None or m is None or not (c.startswith("CPU, ") or c.startswith("1 GPU ")):
            continue
        if c not in cases:
            cases.append(c)
        t[(c, b)] = m
        bs.add(b)
    if not cases:
        return ["No CPU or one-GPU rows in bench_train's sweep."]
    bs = sorted(bs)
    found, cpu = train_crossover(train)
    gpus = [c for c in cases if "GPU" in c]
    ratio_cols = [c for c in gpus if cpu]
    out = ["| global batch | " + " | ".join("%s (us)" % md_cell(c) for c in cases)
           + "".join(" | %s / %s (x)" % (md_cell(cpu), md_cell(c)) for c in ratio_cols) + " |",
           "| ---: |" + " ---: |" * (len(cases) + len(ratio_cols))]
    for b in bs:
        cells = [fmt(t.get((c, b))) for c in cases]
        cells += ["%.2f" % (t[(cpu, b)] / t[(c, b)]) if (c, b) in t and (cpu, b) in t else "-" for c in ratio_cols]
        out.append("| %s | %s |" % (whole(b), " | ".join(cells)))
    out.append("")
    if not gpus:
        out.append("No GPU case was measured (no usable GPU where the report was made): no speedup or crossover.")
        return out
    for what, x, how in (("1 GPU eager", found["gpu"], "the batch already on the GPU"),
                         ("1 GPU eager + H2D", found["h2d"], "the batch copied in from pinned host memory every step")):
        if x is None:
            continue
        if x == "none":
            out.append("- Crossover, %s (%s): **none**; %s is faster up to the largest batch, %s." % (what, how, cpu, whole(bs[-1])))
        elif x == bs[0]:
            out.append("- Crossover, %s (%s): **%s**, the smallest batch measured: the GPU is faster at every batch."
                       % (what, how, whole(x)))
        else:
            out.append("- Crossover, %s (%s): **batch %s**: from there on, the GPU is faster than %s at every larger batch "
                       "measured." % (what, how, whole(x), cpu))
    return out


def peers_table(train):
    """bench_train's side by side: per global batch, each Python peer's median, then each ltc case compared
    with it; "" without Python figures."""
    peers, cases, pt, t, bs = [], {}, {}, {}, set()
    for r in train.rows("sweep") or train.rows():
        c, p, b, m, pm = text(r, "case"), text(r, "peer"), num(r, "batch"), num(r, "median_us"), num(r, "peer_median_us")
        if not c or p in ("", "-") or None in (b, m, pm):
            continue
        if p not in peers:
            peers.append(p)
            cases[p] = []
        if c not in cases[p]:
            cases[p].append(c)
        pt[(p, b)], t[(c, b)] = pm, m
        bs.add(b)
    if not peers:
        return ""
    head, sep = "| global batch |", "| ---: |"
    for p in peers:
        head += " %s (us) |" % md_cell(p) + "".join(" ltc %s (us) | %s / it (x) |" % (md_cell(c), md_cell(p)) for c in cases[p])
        sep += " ---: |" * (1 + 2 * len(cases[p]))
    out = [head, sep]
    for b in sorted(bs):
        line = "| %s |" % whole(b)
        for p in peers:
            line += " %s |" % fmt(pt.get((p, b)))
            for c in cases[p]:
                line += " %s | %s |" % (fmt(t.get((c, b))), "%.2f" % (pt[(p, b)] / t[(c, b)])
                                        if (c, b) in t and (p, b) in pt else "-")
        out.append(line)
    return "\n".join(out)


def section_python(benches, meta):
    blocks = []
    cold = benches.get("cold_start")
    if cold and any(text(r, "command").lower().startswith("python") for r in cold.rows()):
        blocks.append(md_table(cold.rows(), ["command", "runs", "median_s", "min_s", "max_s"],
                               ["cold process, a fresh one per run, alternated", "runs", "median (s)", "min (s)", "max (s)"]))
    tr = benches.get("transfer")
    if tr and any(text(r, "implementation").startswith("Python") for r in tr.rows("move")):
        blocks.append(md_table(tr.rows("move"), ["implementation", "median_us", "min_us", "max_us", "runs", "python_over_this"],
                               ["100x100 float32 to the GPU, synced", "median (us)", "min (us)", "max (us)", "runs",
                                "Python / this (x)"]))
    train = benches.get("train")
    t = peers_table(train) if train else ""
    if t:
        blocks.append("Step time of bench_train, median (the peers' own table, against ltc ddp, is under Every table):\n\n" + t)
    if not blocks:
        return ["No side-by-side figures: the benchmarks found no Python with torch (%s)." % meta.get("python", "none"),
                "Set LTC_PYTHON to a Python whose `import torch` works."]
    out = ["Each peer runs in its own process, alternated with ltc round by round (A B A B ...), in this one run."]
    for blk in blocks:
        out += ["", blk]
    return out


def section_plots(folder, tool, result):
    out = []
    why = next((w for s, w in result.values() if s == "not drawn"), None)
    if why:
        out += ["Not drawn yet: %s. To draw them, %s." % (why, how_to_draw(folder)), ""]
    for name, title in PLOTS:
        state, why = result[name]
        if state == "drawn":
            extra = ", [gnuplot script](plots/%s.gp)" % name if tool == "gnuplot" else ""
            out += ["![%s](plots/%s.png)" % (title, name), "",
                    "%s ([SVG](plots/%s.svg)%s)" % (title, name, extra), ""]
        elif state == "skip":
            out += ["- %s: not drawn, %s" % (name, why), ""]
        elif state == "not drawn":
            out += ["- %s: %s" % (name, dict(PLOTS)[name]), ""]
        else:
            out += ["- %s: not drawn: %s" % (name, why), ""]
    return out[:-1]


def summary(folder, benches, runs, meta, goals, tool, plots):
    ctx_bench = next((benches[n] for n in ["train", "transfer"] + list(benches) if n in benches and benches[n].context), None)
    ctx = ctx_bench.context if ctx_bench else {}
    ran = sum(1 for r in runs if r.get("status") == "ok")
    not_built = sum(1 for r in runs if r.get("status") == "not built")
    bad = len(runs) - ran - not_built
    grows = goal_rows(benches, runs, goals)
    met = sum(1 for g in grows if g[4] == "met")
    missed = sum(1 for g in grows if g[4] == "**missed**")
    flags = spread_flags(benches.values())
    gpus = [v.split(",")[0] for k, v in ctx.items() if re.match(r"^cuda:\d+$", k)]
    gpu_text = "no GPU" if not gpus else gpus[0] if len(gpus) == 1 else (
        "%d x %s" % (len(gpus), gpus[0]) if len(set(gpus)) == 1 else "%d GPUs" % len(gpus))
    host = ctx.get("host") or meta.get("host", "")
    out = ["# Benchmark report: %s, host %s, commit %s, %s" % (gpu_text, host, meta.get("commit", ""),
                                                               meta.get("started", "")[:10]), ""]
    if meta.get("mode") == "quick":
        out += ["**Quick run** (`--quick`): smaller sweeps, fewer runs and rounds, no Python in bench_train; it",
                "shows that everything runs. Quote the figures of a full run.", ""]
    verdict = "**Result: %d of %d benchmarks ran and exited 0" % (ran, len(runs))
    verdict += "; %d failed or did not run" % bad if bad else ""
    verdict += "; %d not built" % not_built if not_built else ""
    verdict += ".** Goals (bench/goals): %d met, %d missed, %d not measured." % (met, missed, len(grows) - met - missed)
    if flags:
        verdict += " **%d figure%s too noisy to trust** (see Spread)." % (len(flags), "" if len(flags) == 1 else "s")
    if meta.get("seconds"):
        verdict += " The benchmarks took %s s." % meta["seconds"]
    out += [verdict, "", "Made by `%s` from %s (UTC), commit %s, build `%s`." % (
        meta.get("command", ""), meta.get("started", ""), meta.get("commit", ""), meta.get("build", ""))]
    problems = [p for b in benches.values() for p in b.problems]
    if problems:
        out += [""] + ["- " + p for p in problems]

    out += ["", "## Machine", "", "| | |", "| --- | --- |"]
    if ctx:
        out += ["| %s | %s |" % ("commit" if k == "git" else md_cell(k), md_cell(v))
                for k, v in ctx.items() if k not in ("date", "timing", "host")]
    else:
        out += ["| CPU | %s |" % md_cell(meta.get("cpu", "")),
                "| versions | not recorded: no benchmark using the shared harness (bench/harness.h) ran |"]
    if meta.get("gpus"):
        out.append("| nvidia-smi | %s |" % md_cell(meta["gpus"]))
    out.append("| host | %s |" % md_cell(host))
    if ctx.get("timing"):
        out.append("| timing | %s |" % md_cell(ctx["timing"]))
    out.append("| Python for the peers | %s |" % md_cell(meta.get("python", "")))

    out += ["", "## Benchmarks", "", "| benchmark | result | time (s) | files |", "| --- | --- | ---: | --- |"]
    listing = sorted(os.listdir(folder))
    for r in runs:
        n = r["benchmark"][len("bench_"):] if r["benchmark"].startswith("bench_") else r["benchmark"]
        files = [f for f in listing if f.startswith(n + ".") or (f.startswith(n + "-") and f.endswith(".csv"))]
        out.append("| %s | %s | %s | %s |" % (md_cell(r["benchmark"]), md_cell(r.get("status") or ""),
                                            r.get("seconds") or "-", " ".join(files) or "-"))

    out += ["", "## Goals", ""]
    if grows:
        out += ["| benchmark | goal | measured | target | result |", "| --- | --- | ---: | ---: | --- |"]
        out += ["| %s | %s | %s | %s | %s |" % (g[0], md_cell(g[1]), g[2], g[3], g[4]) for g in grows]
    else:
        out.append("No goal was measured.")

    out += ["", "## Spread: figures too noisy to trust", "",
            "A figure is flagged when its spread is wide: the IQR (p75 - p25) over %g%% of the median, the median over "
            "%gx the fastest run, or a CPU case with more threads over %gx slower than with 1 thread. Something ran beside "
            "it (other processes, a busy machine) or it varies by itself: rerun on an idle machine before quoting it."
            % (IQR_LIMIT_PCT, MIN_LIMIT, THREADS_LIMIT), ""]
    if flags:
        out += ["| benchmark | table | figure | median | why |", "| --- | --- | --- | ---: | --- |"]
        out += ["| %s | %s | %s | %s | %s |" % tuple(md_cell(x) for x in f) for f in flags]
    else:
        out.append("No figure is flagged.")

    out += ["", "## CPU against GPU: speedups and crossover (bench_train)", ""]
    if "train" in benches and benches["train"].tables:
        out += ["Median step time of a Linear(100, 10) SGD step (zero_grad, forward, MSE, backward, step), each",
                "step synced; the ratios are the CPU's time over the GPU's (above 1: the GPU is faster).", ""]
        out += section_speedup(benches["train"])
    else:
        out.append("Not measured: bench_train did not run (see Benchmarks).")

    out += ["", "## Against Python, side by side", ""] + section_python(benches, meta)
    out += ["", "## Plots", ""] + section_plots(folder, tool, plots)

    out += ["", "## Every table"]
    for n, b in benches.items():
        md = os.path.join(folder, n + ".md")
        if os.path.isfile(md):
            with open(md, encoding="utf-8") as f:
                out += ["", "### bench_" + n, "", f.read().rstrip("\n")]
        elif b.tables:
            out += ["", "### bench_" + n]
            for i, t in enumerate(b.tables):
                out += [""] + (["%s:" % (t.title or t.name), ""] if i else []) + [md_table(t.rows, t.cols) or "(no rows)"]
    return "\n".join(out) + "\n"


def bench_names(folder, runs):
    """The known benchmarks, then any other one that ran or left a file."""
    names = list(KNOWN)
    for r in runs:
        n = r["benchmark"][len("bench_"):] if r["benchmark"].startswith("bench_") else r["benchmark"]
        if n not in names:
            names.append(n)
    for f in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(f)
        if ext in (".json", ".csv") and "-" not in stem and stem not in names:
            names.append(stem)
    return names


def main(argv):
    args, plots_wanted, goals_path = [], True, None
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        if a == "--no-plots":
            plots_wanted = False
        elif a == "--goals":
            if i + 1 >= len(argv):
                raise UsageError("--goals needs a file (--help says more)")
            goals_path = argv[i + 1]
            i += 1
        elif a.startswith("-"):
            raise UsageError('unknown option "%s" (--help lists the options)' % a)
        else:
            args.append(a)
        i += 1
    if len(args) != 1:
        raise UsageError("one FOLDER, got %d (usage: bench/report.py [--no-plots] [--goals FILE] FOLDER)" % len(args))
    folder = args[0].rstrip("/") or "/"
    if not os.path.isdir(folder):
        raise UsageError('"%s" is not a folder' % folder)
    if not os.path.isfile(os.path.join(folder, "runs.tsv")):
        raise UsageError('"%s" is not a report folder: it has no runs.tsv (scripts/bench makes one)' % folder)
    if not goals_path and os.path.isfile(os.path.join(folder, "goals")):
        goals_path = os.path.join(folder, "goals")
    goals_path = goals_path or os.path.join(HERE, "goals")
    try:
        goals = read_goals(goals_path)
        runs = read_runs(folder)
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (e.filename, e.strerror))
    meta = read_meta(folder)
    benches = {n: load_bench(folder, n) for n in bench_names(folder, runs)}
    benches = {n: b for n, b in benches.items() if b.tables or b.goals or b.context or b.problems}
    if plots_wanted:
        tool, plots = draw_plots(folder, benches)
    else:
        tool, plots = None, {name: ("not drawn", "--no-plots") for name, _ in PLOTS}
    write_text(os.path.join(folder, "summary.md"), summary(folder, benches, runs, meta, goals, tool, plots))
    print("report: wrote %s" % os.path.join(folder, "summary.md"))
    failed = 0
    for name, _title in PLOTS:
        state, why = plots[name]
        print("  %-19s %s%s" % (name, why if state != "not drawn" else "not drawn",
                                " -> plots/%s.png, plots/%s.svg" % (name, name) if state == "drawn" else ""))
        failed += state == "failed"
    why = next((w for s, w in plots.values() if s == "not drawn"), None)
    if plots_wanted and why:
        print("report: the plots are not drawn: %s. To draw them, %s." % (why, how_to_draw(folder)), file=sys.stderr)
    if failed:
        print("report: %d plot(s) failed; see the lines above" % failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except UsageError as e:
        print("report: %s" % e, file=sys.stderr)
        sys.exit(2)
    except ReportError as e:
        print("report: %s" % e, file=sys.stderr)
        sys.exit(1)
