#!/usr/bin/env python3
"""bench_llamacpp.py — layerlab's throughput against llama.cpp (llama-cpp-python) in the same run.

For each model: prompt processing (one batched forward over P tokens) and generation (G single-token
forwards from position 0, as llama-bench's tg), 2 threads by default, best of R runs, for layerlab's two compute modes and for
llama.cpp. Prints a table with the ratios layerlab / llama.cpp, and JSON with --json.

Usage: bench/bench_llamacpp.py --layerlab build/layerlab MODEL.gguf [MODEL.gguf ...] [-p 256] [-n 128]
                               [--reps 3] [--threads 2] [--json]
"""
import argparse, json, os, subprocess, sys, time


def llamacpp(model, p, g, reps, threads):
    from llama_cpp import Llama
    llm = Llama(model_path=model, n_ctx=p + g + 8, n_batch=max(p, 32), n_threads=threads, n_threads_batch=threads,
                verbose=False)
    vocab = llm.n_vocab()
    s, ids = 12345, []
    for _ in range(p + g):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        ids.append((s >> 8) % vocab)
    best_pp = best_tg = float("inf")
    for _ in range(reps):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(ids[:p])
        t1 = time.perf_counter()
        llm.reset()
        t2 = time.perf_counter()
        for t in ids[:g]:
            llm.eval([t])
        t3 = time.perf_counter()
        best_pp, best_tg = min(best_pp, t1 - t0), min(best_tg, t3 - t2)
    return p / best_pp, g / best_tg


def layerlab(binary, model, p, g, reps, threads, mode):
    out = subprocess.run([binary, "bench", model, "-p", str(p), "-n", str(g), "-r", str(reps), "-t",
                          str(threads), "-o", "json", "--quiet", mode], check=True, capture_output=True, text=True).stdout
    t = {x["test"][:2]: x for x in json.loads(out)["tests"]}
    return t["pp"]["max_ts"], t["tg"]["max_ts"]   # the best run, as on the llama.cpp side


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--layerlab", required=True)
    ap.add_argument("-p", type=int, default=256)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for m in a.models:
        ref_pp, ref_tg = llamacpp(m, a.p, a.n, a.reps, a.threads)
        for mode in ("--exact", "--llamacpp"):
            pp, tg = layerlab(a.layerlab, m, a.p, a.n, a.reps, a.threads, mode)
            rows.append({"model": os.path.basename(m), "mode": mode.lstrip("-"), "threads": a.threads,
                         "pp_tokens": a.p, "tg_tokens": a.n, "layerlab_pp_tok_s": round(pp, 1),
                         "llamacpp_pp_tok_s": round(ref_pp, 1), "pp_ratio": round(pp / ref_pp, 3),
                         "layerlab_tg_tok_s": round(tg, 1), "llamacpp_tg_tok_s": round(ref_tg, 1),
                         "tg_ratio": round(tg / ref_tg, 3)})
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"| model | layerlab mode | pp{a.p} layerlab | pp{a.p} llama.cpp | ratio | tg{a.n} layerlab | tg{a.n} llama.cpp | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['mode']} | {r['layerlab_pp_tok_s']} | {r['llamacpp_pp_tok_s']} | {r['pp_ratio']} | "
              f"{r['layerlab_tg_tok_s']} | {r['llamacpp_tg_tok_s']} | {r['tg_ratio']} |")


if __name__ == "__main__":
    sys.exit(main())
