#!/usr/bin/env python3
"""bench_llamabench.py — layerlab against llama.cpp's own llama-bench, alternating, in one run (issue 13 §2).

For each model, R rounds; each round runs llama-bench once (-r 1: pp P and tg N, its own warm-up), then
`layerlab bench` once in each compute mode (-r 1, one warm-up), so both sides see the same machine state.
Same GGUF, same threads, P and N as llama-bench's defaults (pp512, tg128). Prints per test the median
tokens/s of each side over the rounds and the ratio layerlab / llama.cpp, and each side as a fraction of
what the machine allows, measured in the same run by `layerlab bench --machine` (before and after the
rounds; the median of both):
  - tg: bytes of weights read per generated token ÷ read bandwidth = the fastest possible tokens/s.
    Bytes per token = every 2-D weight tensor of the file, except that the token-embedding table counts
    only when it is also the output head (tied); otherwise one row of it is read per token.
  - pp: FLOPs per prompt token ÷ peak 8-lane fp32 FMA throughput. FLOPs per token = 2 × the weights of the
    layers (the head runs for the last token only, as in both benches) + attention 4 × n_layer × q-width ×
    (P+1)/2 (QKᵀ and AV over the causal half).

llama-bench is built for the benchmark from the llama.cpp source the llama-cpp-python sdist carries
(docs/PERFORMANCE.md has the commands) and is never committed; pass its path with --llama-bench.

Usage: bench/bench_llamabench.py --layerlab build/layerlab --llama-bench PATH MODEL.gguf [MODEL.gguf ...]
                                 [-p 512] [-n 128] [--rounds 5] [--threads 2] [--modes exact,llamacpp]
                                 [--json OUT.json]
"""
import argparse, json, os, statistics, subprocess, sys


def run_json(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_llamabench: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


def llama_bench(binary, model, p, n, threads):
    out = run_json([binary, "-m", model, "-p", str(p), "-n", str(n), "-r", "1", "-t", str(threads), "-o", "json"])
    res = {}
    for t in out:
        key = "pp" if t["n_gen"] == 0 else "tg"
        res[key] = t["avg_ts"]
    return res


def layerlab_bench(binary, model, p, n, threads, mode):
    out = run_json([binary, "bench", model, "-p", str(p), "-n", str(n), "-r", "1", "-t", str(threads), "-o", "json",
                    "--quiet", "--" + mode])
    return {t["test"][:2]: t["median_ts"] for t in out["tests"]}


def machine(binary, threads):
    return run_json([binary, "bench", "--machine", "-t", str(threads), "-r", "5", "-o", "json", "--quiet"])


def model_costs(path, p):
    """(bytes of weights read per generated token, FLOPs per prompt token) from the GGUF's tensors."""
    from gguf import GGUFReader
    r = GGUFReader(path)
    names = {t.name: t for t in r.tensors}
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    def kv(k):
        f = r.fields[f"{arch}.{k}"]
        return int(f.parts[-1][0])
    n_layer, n_embd, n_head = kv("block_count"), kv("embedding_length"), kv("attention.head_count")
    d_head = kv("attention.key_length") if f"{arch}.attention.key_length" in r.fields else n_embd // n_head
    tied = "output.weight" not in names
    bytes_tok, layer_params = 0, 0
    for t in r.tensors:
        shape = [int(x) for x in t.shape]
        if len(shape) < 2 or (len(shape) > 1 and shape[1] == 1):
            continue  # norms and biases: negligible, and not matrices
        if t.name == "token_embd.weight":
            bytes_tok += int(t.n_bytes) if tied else int(t.n_bytes) // shape[1]
            continue
        bytes_tok += int(t.n_bytes)
        if t.name.startswith("blk."):
            layer_params += int(t.n_elements)
    flops_tok = 2 * layer_params + 4 * n_layer * n_head * d_head * (p + 1) / 2
    return bytes_tok, flops_tok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--layerlab", required=True)
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="exact,llamacpp")
    ap.add_argument("--json")
    a = ap.parse_args()
    modes = a.modes.split(",")
    m0 = machine(a.layerlab, a.threads)
    runs = {}
    for model in a.models:
        name = os.path.basename(model)
        for k in range(a.rounds):
            print(f"bench_llamabench: {name} round {k + 1}/{a.rounds}", file=sys.stderr)
            for side, res in [("llama.cpp", llama_bench(a.llama_bench, model, a.p, a.n, a.threads))] + \
                    [(m, layerlab_bench(a.layerlab, model, a.p, a.n, a.threads, m)) for m in modes]:
                for test, ts in res.items():
                    runs.setdefault((name, side, test), []).append(ts)
    m1 = machine(a.layerlab, a.threads)
    bw = statistics.median([m0["read_gbs_median"], m1["read_gbs_median"]]) * 1e9
    peak = statistics.median([m0["fma_gflops_median"], m1["fma_gflops_median"]]) * 1e9
    rows = []
    for model in a.models:
        name = os.path.basename(model)
        bytes_tok, flops_tok = model_costs(model, a.p)
        bound = {"tg": bw / bytes_tok, "pp": peak / flops_tok}
        for test, tokens in (("pp", a.p), ("tg", a.n)):
            ref = statistics.median(runs[(name, "llama.cpp", test)])
            for m in modes:
                v = statistics.median(runs[(name, m, test)])
                rows.append({"model": name, "test": f"{test}{tokens}", "mode": m, "threads": a.threads,
                             "rounds": a.rounds, "layerlab_ts": round(v, 2), "llamacpp_ts": round(ref, 2),
                             "ratio": round(v / ref, 3), "bound_ts": round(bound[test], 1),
                             "layerlab_of_bound": round(v / bound[test], 3),
                             "llamacpp_of_bound": round(ref / bound[test], 3),
                             "layerlab_runs": [round(x, 2) for x in runs[(name, m, test)]],
                             "llamacpp_runs": [round(x, 2) for x in runs[(name, "llama.cpp", test)]]})
    print(f"machine: read {bw / 1e9:.1f} GB/s, fp32 FMA peak {peak / 1e9:.1f} GFLOP/s at {a.threads} threads "
          f"({m0['kernels']}); medians of {a.rounds} alternating rounds")
    print("| model | test | layerlab mode | layerlab t/s | llama.cpp t/s | ratio | bound t/s | layerlab / bound | llama.cpp / bound |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['test']} | {r['mode']} | {r['layerlab_ts']} | {r['llamacpp_ts']} | {r['ratio']} | "
              f"{r['bound_ts']} | {r['layerlab_of_bound']} | {r['llamacpp_of_bound']} |")
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"machine_before": m0, "machine_after": m1, "rows": rows}, f, indent=1)
        os.replace(tmp, a.json)


if __name__ == "__main__":
    sys.exit(main())
