"""Measures real SGLang's serial per-request cost for /v1/score, ids vs text (issue 12 item 6).

Run with the project venv's python against ONE running real SGLang server (CPU, tiny Qwen3):

    bash patches/cpu/serve.sh --port 31755 --sleep-on-idle &
    "$(bash patches/env/venv.sh)"/bin/python bench/sglang_serial_cost.py \
        --url http://127.0.0.1:31755 --pid <server pid> --out bench/results/sglang-serial-cost.md

Why Python and not a TypeScript bench: the ids must be exactly what the served model's own HF
tokenizer produces for the text variant (same files SGLang loads), the fit needs numpy, and the
per-process CPU accounting reads /proc; the venv that runs SGLang has all three.

Method (see the markdown it writes):
- Three variants per cell (n items of L tokens each, a 32-token query): /v1/score with token ids,
  /v1/score with text (SGLang tokenizes query+item per item), and /generate with the same joined
  prompts as input_ids, max_new_tokens 0, return_logprob and the label ids (the request
  /v1/score builds internally, minus the score route's own work).
- For every block of requests the script reads the CPU time (ns, /proc/<pid>/task/*/schedstat,
  all threads) of each SGLang process: the main process (uvicorn + FastAPI + TokenizerManager, one
  asyncio thread: the serial resource), the scheduler (it runs the forward pass; on a GPU host its
  forward work is GPU time) and the detokenizer. CPU time, unlike wall time, is not inflated by
  other work on the machine, and it separates the serial front end from the forward pass without
  guessing.
- Wall latency per request is recorded too; the forward pass (scheduler CPU under /generate with
  the same prompts) is subtracted from /v1/score's wall latency as a cross-check.
- Variants are interleaved block by block; each cell is repeated; medians and IQR are reported.
- The main process's CPU per request is fitted as a + b*items + c*tokens (least squares on the
  cell medians), separately for ids and text, at concurrency 1 and at a fixed concurrency.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import psutil
from transformers import AutoTokenizer

LABELS = [9693, 2152]
QUERY_TOKENS = 32


def task_ns(pid: int) -> int:
    """CPU time of every thread of a process, in ns (schedstat's first field)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return 0
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended between listdir and open
    return total


def sglang_processes(pid: int) -> dict[str, int]:
    """The server's main process and its scheduler and detokenizer children, by name."""
    root = psutil.Process(pid)
    # serve.sh execs python directly, so pid is the main process.
    out = {"main": root.pid}
    for c in root.children(recursive=True):
        name = " ".join(c.cmdline()[:1]) + " " + c.name()
        if "scheduler" in name:
            out["scheduler"] = c.pid
        elif "detoken" in name:
            out["detokenizer"] = c.pid
    if "scheduler" not in out or "detokenizer" not in out:
        raise SystemExit(f"could not find scheduler/detokenizer under pid {pid}: "
                         f"{[(c.pid, c.name(), c.cmdline()[:2]) for c in root.children(recursive=True)]}")
    return out


class Client:
    """One keep-alive HTTP/1.1 connection per thread."""

    def __init__(self, url: str) -> None:
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.local = threading.local()

    def post(self, path: str, body: bytes) -> tuple[int, bytes, float]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            self.local.conn = conn
        t0 = time.perf_counter()
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        return r.status, data, (time.perf_counter() - t0) * 1e3


def make_text(tok, rng: random.Random, n_tokens: int) -> tuple[str, list[int]]:
    """A text of exactly n_tokens whose ids round-trip through decode and encode."""
    words = ["job", "engineer", "remote", "senior", "data", "platform", "team", "python", "cloud",
             "design", "build", "ship", "customer", "support", "sales", "Berlin", "London", "hybrid",
             "contract", "backend", "frontend", "analytics", "growth", "hiring", "salary"]
    while True:
        text = " ".join(rng.choice(words) for _ in range(n_tokens * 2))
        ids = tok.encode(text, add_special_tokens=False)[:n_tokens]
        t = tok.decode(ids)
        if tok.encode(t, add_special_tokens=False) == ids:
            # Start items with a space so query+item joins on a word boundary.
            return t, ids


def build_cell(tok, rng: random.Random, n: int, item_len: int) -> dict:
    q_text, q_ids = make_text(tok, rng, QUERY_TOKENS)
    items = [make_text(tok, rng, item_len) for _ in range(n)]
    # SGLang's single-item text path tokenizes query+item as one string.
    joined_tokens = sum(len(tok.encode(q_text + t, add_special_tokens=False)) for t, _ in items)
    id_tokens = sum(QUERY_TOKENS + len(i) for _, i in items)
    score_ids = {"query": q_ids, "items": [i for _, i in items], "label_token_ids": LABELS,
                 "apply_softmax": True, "model": "tiny"}
    score_text = {"query": q_text, "items": [t for t, _ in items], "label_token_ids": LABELS,
                  "apply_softmax": True, "model": "tiny"}
    gen_ids = {"input_ids": [q_ids + i for _, i in items], "sampling_params": {"max_new_tokens": 0},
               "return_logprob": True, "token_ids_logprob": LABELS, "logprob_start_len": -1,
               "stream": False}
    return {
        "n": n, "item_len": item_len, "id_tokens": id_tokens, "text_tokens": joined_tokens,
        "bodies": {
            "score-ids": ("/v1/score", json.dumps(score_ids).encode()),
            "score-text": ("/v1/score", json.dumps(score_text).encode()),
            "generate-ids": ("/generate", json.dumps(gen_ids).encode()),
        },
    }


def run_block(client: Client, procs: dict[str, int], path: str, body: bytes, requests: int, conc: int):
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_thread = requests // conc

    def worker() -> None:
        for _ in range(per_thread):
            status, data, ms = client.post(path, body)
            with lock:
                if status != 200:
                    errors.append(f"{status} {data[:200]!r}")
                lat.append(ms)

    before = {k: task_ns(p) for k, p in procs.items()}
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    after = {k: task_ns(p) for k, p in procs.items()}
    if errors:
        raise SystemExit(f"{path}: {errors[0]}")
    done = per_thread * conc
    cpu_us = {k: (after[k] - before[k]) / 1e3 / done for k in procs}
    return {"lat_ms": lat, "cpu_us": cpu_us, "wall_s": wall, "requests": done}


def q(xs: list[float], p: float) -> float:
    s = sorted(xs)
    k = (len(s) - 1) * p
    lo, hi = int(np.floor(k)), int(np.ceil(k))
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def fit(rows: list[tuple[int, int, float]]) -> tuple[np.ndarray, float]:
    """Least squares cpu = a + b*items + c*tokens; returns coefficients and max |residual| / value."""
    a = np.array([[1.0, n, t] for n, t, _ in rows])
    y = np.array([v for _, _, v in rows])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    rel = np.max(np.abs(a @ coef - y) / y)
    return coef, float(rel)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True, help="the SGLang server's main process")
    ap.add_argument("--model", required=True, help="the served model folder (its tokenizer)")
    ap.add_argument("--items", default="1,4,10,20")
    ap.add_argument("--lengths", default="16,64,256")
    ap.add_argument("--conc", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5, help="blocks per cell and variant")
    ap.add_argument("--block", type=int, default=8, help="requests per block")
    ap.add_argument("--conc-items", default="1,10")
    ap.add_argument("--conc-lengths", default="16,256")
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", default=None)
    ap.add_argument("--command", default="", help="the command line to record in the report")
    args = ap.parse_args()

    tok = AutoTokenizer.from_pretrained(args.model)
    procs = sglang_processes(args.pid)
    client = Client(args.url)
    rng = random.Random(12)
    variants = ["score-ids", "score-text", "generate-ids"]
    load_before = os.getloadavg()
    started = time.time()

    plan: list[tuple[int, dict]] = []
    for n in [int(x) for x in args.items.split(",") if x]:
        for L in map(int, args.lengths.split(",")):
            plan.append((1, build_cell(tok, rng, n, L)))
    for n in map(int, args.conc_items.split(",")):
        for L in map(int, args.conc_lengths.split(",")):
            plan.append((args.conc, build_cell(tok, rng, n, L)))

    # Warm up every body once (first requests pay imports and allocator growth).
    for _, cell in plan:
        for v in variants:
            path, body = cell["bodies"][v]
            client.post(path, body)

    results = []
    for conc, cell in plan:
        blocks = {v: [] for v in variants}
        for r in range(args.repeats):
            order = variants[r % 3:] + variants[:r % 3]  # rotate so no variant always goes first
            for v in order:
                path, body = cell["bodies"][v]
                blocks[v].append(run_block(client, procs, path, body, args.block * conc, conc))
        res = {"conc": conc, "n": cell["n"], "item_len": cell["item_len"], "id_tokens": cell["id_tokens"],
               "text_tokens": cell["text_tokens"], "variants": {}}
        for v in variants:
            bs = blocks[v]
            lat = [x for b in bs for x in b["lat_ms"]]
            cpu = {k: [b["cpu_us"][k] for b in bs] for k in procs}
            res["variants"][v] = {
                "lat_ms": {"median": q(lat, 0.5), "p25": q(lat, 0.25), "p75": q(lat, 0.75)},
                "cpu_us": {k: {"median": q(xs, 0.5), "p25": q(xs, 0.25), "p75": q(xs, 0.75)} for k, xs in cpu.items()},
                "throughput_rps": statistics.median(b["requests"] / b["wall_s"] for b in bs),
            }
        results.append(res)
        m = res["variants"]
        print(f"c={conc} n={cell['n']:>2} L={cell['item_len']:>3}: main CPU us/req ids {m['score-ids']['cpu_us']['main']['median']:.0f}"
              f" text {m['score-text']['cpu_us']['main']['median']:.0f} gen {m['generate-ids']['cpu_us']['main']['median']:.0f};"
              f" lat ms ids {m['score-ids']['lat_ms']['median']:.1f} text {m['score-text']['lat_ms']['median']:.1f}"
              f" gen {m['generate-ids']['lat_ms']['median']:.1f}", file=sys.stderr, flush=True)
    load_after = os.getloadavg()

    fits = {}
    for conc in sorted({r["conc"] for r in results}):
        for v in variants:
            rows = [(r["n"], r["text_tokens"] if v == "score-text" else r["id_tokens"],
                     r["variants"][v]["cpu_us"]["main"]["median"]) for r in results if r["conc"] == conc]
            coef, rel = fit(rows)
            fits[f"{v}@{conc}"] = {"per_request_us": coef[0], "per_item_us": coef[1], "per_token_us": coef[2],
                                   "max_rel_residual": rel, "cells": len(rows)}

    meta = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
            "seconds": round(time.time() - started), "loadavg_before": load_before, "loadavg_after": load_after,
            "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t"),
            "cores": os.cpu_count(), "repeats": args.repeats, "block": args.block, "conc": args.conc,
            "command": args.command}
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results, "fits": fits}, indent=1))
    Path(args.out).write_text(render(meta, results, fits))
    print(render(meta, results, fits))
    return 0


def fmt_iqr(d: dict) -> str:
    return f"{d['median']:.0f} ({d['p25']:.0f}–{d['p75']:.0f})"


def fmt_iqr1(d: dict) -> str:
    return f"{d['median']:.1f} ({d['p25']:.1f}–{d['p75']:.1f})"


def render(meta: dict, results: list[dict], fits: dict) -> str:
    lines = [
        "# Real SGLang's serial per-request cost, ids vs text (MEASURED, CPU)",
        "",
        f"SGLang 0.5.23 on CPU (`patches/cpu/serve.sh`, tiny random Qwen3: 2 layers, hidden 64, vocab 151,936, "
        f"float32, OMP_NUM_THREADS=1, `--sleep-on-idle`) on this {meta['cores']}-core VM ({meta['cpu']}), "
        f"run {meta['started']}, {meta['seconds']} s. Load average before: "
        f"{' / '.join(f'{x:.2f}' for x in meta['loadavg_before'])}; after: "
        f"{' / '.join(f'{x:.2f}' for x in meta['loadavg_after'])} (other agents share the machine).",
        "",
        "Command:",
        "",
        "```",
        meta["command"] or "(not recorded)",
        "```",
        "",
        "## Method",
        "",
        "- Cells: n items of L tokens each behind one 32-token query, `label_token_ids` [9693, 2152], "
        "`apply_softmax` true, single-item mode (stock SGLang, no MIS). Texts are built so that their ids "
        "round-trip through the served model's own tokenizer; the ids variant sends exactly those ids.",
        "- Variants, interleaved block by block (rotated order): `/v1/score` with ids, `/v1/score` with text, "
        "`/generate` with the same joined prompts as `input_ids`, `max_new_tokens: 0`, `return_logprob`, "
        "`token_ids_logprob` = the labels, `logprob_start_len: -1` (what `/v1/score` builds internally).",
        f"- {meta['repeats']} blocks per cell and variant, {meta['block']} requests per block at concurrency 1 "
        f"({meta['block']} x {meta['conc']} at concurrency {meta['conc']}), after one warm-up request per body. "
        "Medians with the interquartile range in brackets: over blocks for CPU time, over requests for latency.",
        "- CPU time per request of each SGLang process, from /proc/<pid>/task/*/schedstat (ns, all threads) "
        "around each block: **main** = uvicorn + FastAPI + TokenizerManager on one asyncio thread, the "
        "serial front end every request passes; **sched** = the scheduler, which runs the forward pass; "
        "**detok** = the detokenizer. CPU time is what a busy shared machine inflates least, and it separates "
        "the front end from the forward pass directly.",
        "- The forward pass (plus the scheduler's batch bookkeeping) is the scheduler's CPU under `/generate` "
        "with the same prompts; `score wall - fwd` subtracts it from `/v1/score`'s wall latency.",
        "",
        "## Per cell",
        "",
        "| conc | items | item tokens | prompt tokens (ids / text) | variant | main CPU µs/req | sched CPU µs/req | detok CPU µs/req | wall ms/req | req/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for v, m in r["variants"].items():
            lines.append(
                f"| {r['conc']} | {r['n']} | {r['item_len']} | {r['id_tokens']} / {r['text_tokens']} | {v} | "
                f"{fmt_iqr(m['cpu_us']['main'])} | {fmt_iqr(m['cpu_us']['scheduler'])} | "
                f"{fmt_iqr(m['cpu_us']['detokenizer'])} | {fmt_iqr1(m['lat_ms'])} | {m['throughput_rps']:.1f} |")
    lines += ["", "## Wall latency minus the forward pass (concurrency 1)", "",
              "| items | item tokens | score-ids wall ms | fwd ms (sched CPU, /generate) | ids wall - fwd | score-text wall ms | text wall - fwd |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        if r["conc"] != 1:
            continue
        m = r["variants"]
        fwd = m["generate-ids"]["cpu_us"]["scheduler"]["median"] / 1e3
        lines.append(f"| {r['n']} | {r['item_len']} | {m['score-ids']['lat_ms']['median']:.1f} | {fwd:.1f} | "
                     f"{m['score-ids']['lat_ms']['median'] - fwd:.1f} | {m['score-text']['lat_ms']['median']:.1f} | "
                     f"{m['score-text']['lat_ms']['median'] - fwd:.1f} |")
    lines += ["", "## Fit of the main process's CPU per request: a + b·items + c·tokens", "",
              "| variant @ concurrency | a: per request µs | b: per item µs | c: per token µs | max residual | cells |",
              "|---|---|---|---|---|---|"]
    for k, f in fits.items():
        lines.append(f"| {k} | {f['per_request_us']:.0f} | {f['per_item_us']:.1f} | {f['per_token_us']:.3f} | "
                     f"{f['max_rel_residual'] * 100:.0f}% | {f['cells']} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
