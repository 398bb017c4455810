#!/usr/bin/env python3
"""ref_lmeval.py — lm-evaluation-harness itself on the items `layerlab eval` scores, and a per-item
comparison of the two.

lm-eval (PyPI lm-eval==0.4.13) runs its own built-in task YAMLs: each task here is a YAML that
`include`s the built-in one and changes only the dataset source (a local JSON file converted from
../shared/data into the field names that task expects). The model is lm-eval's `hf` backend around
transformers' AutoModelForCausalLM loaded from the GGUF (dequantized to float32, eager attention, as
scripts/ref_transformers.py loads it), batch size 1, add_bos_token=False, --log_samples. Then
`layerlab eval --samples` runs the same task and limit, and the script reports:
  * multiple choice: per-item agreement of pred (acc) and pred_norm (acc_norm), max |Δ loglikelihood|,
    and each metric on both sides;
  * lambada_openai: agreement of is_greedy, max |Δ loglikelihood|, acc and perplexity on both sides;
  * gsm8k: prompts equal byte for byte, responses equal, extracted answers and exact_match on both sides.

With --prompts-only (gsm8k): no model on the lm-eval side; its requests are built exactly as
simple_evaluate builds them (TaskManager, set_fewshot_seed(1234), build_all_requests) and their prompts
are compared byte for byte with `layerlab eval --task gsm8k --max-gen-toks 1 --samples`.

Usage: ref_lmeval.py MODEL.gguf --task arc_easy [--task ...] --limit N [--layerlab build/layerlab]
                     [--data-dir ../shared/data] [--out RESULT.json] [--bootstrap-iters N] [--threads N]
Needs a venv with torch + transformers + lm-eval, e.g. .venv or /tmp/tenv (`VENV/bin/pip install lm-eval==0.4.13`;
pin torch and transformers to the installed versions if pip tries to upgrade them).
"""
import argparse, bz2, json, os, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
MC_TASKS = ("arc_easy", "arc_challenge", "hellaswag", "winogrande", "piqa", "boolq", "sst2")
TASKS = MC_TASKS + ("lambada_openai", "gsm8k")
BUILTIN = {  # task -> the built-in YAML, relative to lm_eval/tasks
    "arc_easy": "arc/arc_easy.yaml", "arc_challenge": "arc/arc_challenge.yaml",
    "hellaswag": "hellaswag/hellaswag.yaml", "winogrande": "winogrande/default.yaml",
    "lambada_openai": "lambada/lambada_openai.yaml", "piqa": "piqa/piqa.yaml",
    "boolq": "super_glue/boolq/default.yaml", "gsm8k": "gsm8k/gsm8k.yaml", "sst2": "glue/sst2/default.yaml",
}
FILES = {"arc_easy": "arc_easy.jsonl", "arc_challenge": "arc_challenge.jsonl", "winogrande": "winogrande.jsonl",
         "lambada_openai": "lambada_openai.jsonl", "piqa": "piqa.jsonl", "boolq": "boolq.jsonl",
         "hellaswag": "hellaswag_val_full.txt.bz2", "gsm8k": "gsm8k_test.jsonl", "sst2": "sst2_dev.tsv"}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---- conversion of ../shared/data into the fields each lm-eval task reads ----

def convert(task, data_dir):
    """Returns {split: [docs]} in lm-eval's field names; the prompts they produce equal layerlab's."""
    if task == "hellaswag":
        lines = bz2.open(os.path.join(data_dir, FILES[task]), "rt", encoding="utf-8").read().split("\n")
        docs = []
        for i in range(0, len(lines) - 5, 6):
            ctx = lines[i]
            label, sep, rest = ctx.partition(": ")
            assert sep, f"line {i + 1}: no ': ' after the activity label"
            # process_docs builds preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize());
            # with ctx_b empty that is preprocess(the line) (strip() drops the trailing space)
            docs.append({"activity_label": label, "ctx_a": rest, "ctx_b": "", "endings": lines[i + 2:i + 6],
                         "label": lines[i + 1]})
        return {"validation": docs}
    if task == "sst2":
        # GLUE's SST-2 dev.tsv ("sentence<TAB>label"), the rows of nyu-mll/glue sst2's validation split in order;
        # read by hand, not with csv, so quotes stay as they are. The sentence is kept verbatim (most end in " ")
        with open(os.path.join(data_dir, FILES[task]), encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")
        assert lines[0].rstrip("\r") == "sentence\tlabel", "expected the header 'sentence<TAB>label'"
        docs = []
        for k, line in enumerate(lines[1:], start=2):
            line = line[:-1] if line.endswith("\r") else line
            if not line:
                continue
            sentence, sep, label = line.rpartition("\t")
            assert sep and label in ("0", "1"), f"line {k}: expected 'sentence<TAB>0' or 'sentence<TAB>1'"
            # doc_to_choice ["negative", "positive"], doc_to_target label: 0 negative, 1 positive
            docs.append({"sentence": sentence, "label": int(label), "idx": len(docs)})
        return {"validation": docs}
    rows = read_jsonl(os.path.join(data_dir, FILES[task]))
    if task in ("arc_easy", "arc_challenge"):
        out = []
        for r in rows:
            assert r["query"].startswith("Question: ")
            labels = [chr(ord("A") + k) for k in range(len(r["choices"]))]
            out.append({"question": r["query"][len("Question: "):], "choices": {"text": r["choices"], "label": labels},
                        "answerKey": labels[r["gold"]]})
        return {"test": out}
    if task == "piqa":
        out = []
        for r in rows:
            q = r["query"]
            assert q.startswith("Question: ") and q.endswith("\n")
            out.append({"goal": q[len("Question: "):-1], "sol1": r["choices"][0], "sol2": r["choices"][1],
                        "label": r["gold"]})
        return {"validation": out}
    if task == "boolq":
        out = []
        for r in rows:
            q = r["query"]
            assert q.startswith("Passage: ") and q.endswith("?") and r["choices"] == ["no", "yes"]
            passage, sep, question = q[len("Passage: "):].rpartition("\nQuestion: ")
            assert sep
            out.append({"passage": passage, "question": question[:-1], "label": r["gold"]})
        return {"validation": out}
    if task == "winogrande":
        out = []
        for r in rows:
            a, b = r["context_options"]
            k = 0
            while k < min(len(a), len(b)) and a[k] == b[k]:
                k += 1
            assert "_" not in a[:k], "an underscore before the blank would move lm-eval's split point"
            # doc_to_choice = sentence[:blank] + option; doc_to_target = sentence[blank + 1:].strip()
            out.append({"sentence": a[:k] + "_ " + r["continuation"], "option1": a[k:], "option2": b[k:],
                        "answer": str(r["gold"] + 1)})
        return {"validation": out}
    if task == "lambada_openai":
        return {"test": [{"text": r["context"] + " " + r["continuation"]} for r in rows]}
    if task == "gsm8k":
        return {"test": rows, "train": read_jsonl(os.path.join(data_dir, "gsm8k_train.jsonl"))}
    raise ValueError(task)


def write_task_yaml(task, data_dir, tmp):
    import lm_eval
    builtin = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", BUILTIN[task])
    splits = convert(task, data_dir)
    files = {}
    for split, docs in splits.items():
        p = os.path.join(tmp, f"{task}.{split}.jsonl")
        with open(p, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        files[split] = p
    y = [f"include: {json.dumps(builtin)}", f"task: {task}", "dataset_path: json", "dataset_name: null",
         "dataset_kwargs:", "  data_files:"]
    y += [f"    {s}: {json.dumps(p)}" for s, p in files.items()]
    # the split the built-in YAML evaluates keeps its name; the others it names are dropped
    with open(os.path.join(tmp, f"{task}.yaml"), "w") as f:
        f.write("\n".join(y) + "\n")
        if task in ("arc_easy", "arc_challenge"):
            f.write("training_split: null\nvalidation_split: null\ntest_split: test\n")
        elif task in ("piqa", "boolq", "winogrande", "hellaswag", "sst2"):
            f.write("training_split: null\nvalidation_split: validation\ntest_split: null\n")
        elif task == "lambada_openai":
            f.write("test_split: test\n")
        elif task == "gsm8k":
            f.write("training_split: train\nfewshot_split: train\ntest_split: test\n")
    return files


# ---- lm-eval ----

def fix_pretokenizer(tok, model_path):
    """transformers' GGUF conversion gives every byte-level BPE vocabulary GPT-2's ByteLevel pre-tokenizer and
    drops the model's own: SmolLM2's tokenizer.json (and llama.cpp's `smollm` pre-tokenizer) first split
    digits one by one, so "sugar,  3" is "sugar" "," "  " "3", while the converted tokenizer gives
    "sugar" "," " " " " "3" (8 of the 2000 texts of piqa's first 500 items). This restores the model's own
    pre-tokenizer where the GGUF names it; --converted-tokenizer keeps transformers' conversion."""
    from gguf import GGUFReader
    from tokenizers import pre_tokenizers
    r = GGUFReader(model_path)
    fld = r.fields.get("tokenizer.ggml.pre")
    pre = bytes(fld.parts[fld.data[0]]).decode() if fld else None
    if pre == "smollm":
        tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True),
             pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
        print("ref_lmeval: tokenizer pre-tokenizer set to SmolLM2's (Digits(individual) + ByteLevel)", file=sys.stderr)
    else:
        print(f"ref_lmeval: GGUF pre-tokenizer {pre!r}: keeping transformers' converted tokenizer", file=sys.stderr)


def run_lmeval(model_path, tasks, limit, data_dir, bootstrap_iters, threads, converted_tokenizer=False):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    torch.set_num_threads(threads)
    d, f = os.path.split(os.path.abspath(model_path))
    t0 = time.time()
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    if not converted_tokenizer:
        fix_pretokenizer(tok, model_path)
    model.eval()
    print(f"ref_lmeval: transformers loaded {f} in {time.time() - t0:.1f} s "
          f"(eos {tok.eos_token!r} id {tok.eos_token_id}, generation eos {model.generation_config.eos_token_id})",
          file=sys.stderr)
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=1, add_bos_token=False, max_length=model.config.max_position_embeddings)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for t in tasks:
            write_task_yaml(t, data_dir, tmp)
        tm = TaskManager(include_path=tmp)
        for t in tasks:
            t0 = time.time()
            res = lm_eval.simple_evaluate(model=lm, tasks=[t], task_manager=tm, limit=limit, log_samples=True,
                                          bootstrap_iters=bootstrap_iters, random_seed=0, numpy_random_seed=1234,
                                          torch_random_seed=1234, fewshot_random_seed=1234)
            secs = time.time() - t0
            samples = sorted(res["samples"][t], key=lambda s: s["doc_id"])
            out[t] = {"results": res["results"][t], "samples": samples, "seconds": secs}
            print(f"ref_lmeval: lm-eval {t} --limit {limit}: {secs:.1f} s", file=sys.stderr)
    return out


def lmeval_gsm8k_prompts(limit, data_dir):
    """gsm8k's first `limit` prompts as lm-eval builds them, without a model"""
    from lm_eval.tasks import TaskManager, get_task_dict
    with tempfile.TemporaryDirectory() as tmp:
        write_task_yaml("gsm8k", data_dir, tmp)
        task = get_task_dict(["gsm8k"], TaskManager(include_path=tmp))["gsm8k"]
        task.set_fewshot_seed(seed=1234)   # simple_evaluate's fewshot_random_seed default
        task.build_all_requests(limit=limit, rank=0, world_size=1)
        insts = sorted(task.instances, key=lambda i: i.doc_id)
        return [i.args[0] for i in insts]


def run_layerlab(binary, model_path, task, limit, data_dir, bootstrap_iters, threads, tmp, extra=()):
    samples = os.path.join(tmp, f"{task}.samples.jsonl")
    cmd = [binary, "eval", model_path, "--task", task, "--limit", str(limit), "--json", "--samples", samples,
           "--bootstrap-iters", str(bootstrap_iters), "--threads", str(threads)] + list(extra)
    if data_dir:
        env = dict(os.environ, LAYERLAB_DATA=data_dir)
    else:
        env = None
    t0 = time.time()
    p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env)
    secs = time.time() - t0
    return json.loads(p.stdout), read_jsonl(samples), secs


# ---- comparison ----

def metric(res, name, flt="none"):
    v = res.get(f"{name},{flt}")
    return None if v is None or v == "N/A" else float(v)


def compare(task, ref, ours, our_samples):
    import math
    res, rs = ref["results"], ref["samples"]
    n = min(len(rs), len(our_samples))
    rep = {"task": task, "n": n}
    if task in MC_TASKS:
        agree = agree_norm = n_far = 0
        dmax = 0.0
        disagree, worst = [], None
        for r, o in zip(rs, our_samples):
            lls = [float(x[0]) for x in r["filtered_resps"]]
            pred = max(range(len(lls)), key=lambda k: (lls[k], -k))
            agree += pred == o["pred"]
            if "acc_norm" in r:
                agree_norm += int(r["acc_norm"]) == int(o["acc_norm"])
            if pred != o["pred"]:
                disagree.append(r["doc_id"])
            d = max(abs(a - b) for a, b in zip(lls, o["loglikelihoods"]))
            if d > dmax:
                dmax, worst = d, {"doc_id": r["doc_id"], "lmeval": lls, "layerlab": o["loglikelihoods"]}
            n_far += d > 1e-2
        rep.update({"pred_agreement": agree / n, "max_abs_dll": dmax, "pred_disagree_doc_ids": disagree,
                    "items_dll_over_1e-2": n_far, "worst_item": worst})
        if "acc_norm" in rs[0]:
            rep["acc_norm_item_agreement"] = agree_norm / n
        for m in ("acc", "acc_norm"):
            if metric(res, m) is not None:
                rep[m] = {"lmeval": metric(res, m), "layerlab": ours.get(m),
                          "lmeval_stderr": metric(res, m + "_stderr"), "layerlab_stderr": ours.get(m + "_stderr")}
    elif task == "lambada_openai":
        agree = 0
        dmax = 0.0
        for r, o in zip(rs, our_samples):
            ll, g = float(r["filtered_resps"][0][0]), bool(r["filtered_resps"][0][1])
            agree += g == o["is_greedy"]
            dmax = max(dmax, abs(ll - o["loglikelihood"]))
        rep.update({"greedy_agreement": agree / n, "max_abs_dll": dmax})
        for m in ("acc", "perplexity"):
            rep[m] = {"lmeval": metric(res, m), "layerlab": ours.get(m),
                      "lmeval_stderr": metric(res, m + "_stderr"), "layerlab_stderr": ours.get(m + "_stderr")}
    elif task == "gsm8k":
        same_prompt = same_resp = same_s = same_f = 0
        first_diff = None
        by_filter = {}
        for r in rs:
            by_filter.setdefault(r["doc_id"], {})[r["filter"]] = r
        for doc_id, o in enumerate(our_samples[:n]):
            fs = by_filter[doc_id]
            r = fs.get("strict-match") or next(iter(fs.values()))
            prompt = r["arguments"]["gen_args_0"]["arg_0"] if isinstance(r["arguments"], dict) else r["arguments"][0][0]
            resp = r["resps"][0][0]
            same_prompt += prompt == o["prompt"]
            same_resp += resp == o["response"]
            if first_diff is None and (prompt != o["prompt"] or resp != o["response"]):
                first_diff = {"doc_id": doc_id, "prompt_equal": prompt == o["prompt"],
                              "lmeval_response": resp, "layerlab_response": o["response"]}
            same_s += fs["strict-match"]["filtered_resps"][0] == o["extracted_strict"]
            same_f += fs["flexible-extract"]["filtered_resps"][0] == o["extracted_flexible"]
        rep.update({"prompts_equal": same_prompt / n, "responses_equal": same_resp / n,
                    "strict_extracted_equal": same_s / n, "flexible_extracted_equal": same_f / n,
                    "first_difference": first_diff})
        for flt, ours_key in (("strict-match", "exact_match_strict"), ("flexible-extract", "exact_match_flexible")):
            rep[ours_key] = {"lmeval": metric(res, "exact_match", flt), "layerlab": ours.get(ours_key),
                             "lmeval_stderr": metric(res, "exact_match_stderr", flt),
                             "layerlab_stderr": ours.get(ours_key + "_stderr")}
    return rep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--task", action="append", required=True, choices=TASKS)
    ap.add_argument("--limit", type=int, required=True)
    ap.add_argument("--layerlab", default=os.path.join(HERE, "..", "build", "layerlab"))
    ap.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "shared", "data"))
    ap.add_argument("--bootstrap-iters", type=int, default=100000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompts-only", action="store_true", help="gsm8k: compare the prompts only")
    ap.add_argument("--converted-tokenizer", action="store_true",
                    help="keep the tokenizer as transformers converts it from the GGUF (see fix_pretokenizer)")
    ap.add_argument("--out")
    a = ap.parse_args()
    data_dir = os.path.abspath(a.data_dir)
    if a.prompts_only:
        if a.task != ["gsm8k"]:
            ap.error("--prompts-only is for --task gsm8k alone")
        t0 = time.time()
        ref = lmeval_gsm8k_prompts(a.limit, data_dir)
        t1 = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            _, ours, secs = run_layerlab(a.layerlab, a.model, "gsm8k", a.limit, data_dir, a.bootstrap_iters,
                                         a.threads, tmp, extra=("--max-gen-toks", "1"))
        equal = [p == o["prompt"] for p, o in zip(ref, ours)]
        rep = {"task": "gsm8k", "n": len(ref), "prompts_equal": sum(equal), "first_unequal":
               next((k for k, e in enumerate(equal) if not e), None),
               "seconds": {"lmeval": round(t1 - t0, 1), "layerlab": round(secs, 1)}}
        print(json.dumps(rep))
        if a.out:
            with open(a.out, "w") as f:
                json.dump({"model": os.path.basename(a.model), "limit": a.limit, "lm_eval": "0.4.13",
                           "reports": [rep]}, f, indent=1)
        return
    ref = run_lmeval(a.model, a.task, a.limit, data_dir, a.bootstrap_iters, a.threads, a.converted_tokenizer)
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in a.task:
            ours, our_samples, secs = run_layerlab(a.layerlab, a.model, t, a.limit, data_dir, a.bootstrap_iters,
                                                   a.threads, tmp)
            rep = compare(t, ref[t], ours, our_samples)
            rep["seconds"] = {"lmeval": round(ref[t]["seconds"], 1), "layerlab": round(secs, 1)}
            reports.append(rep)
            print(json.dumps(rep), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"model": os.path.basename(a.model), "limit": a.limit, "lm_eval": "0.4.13",
                       "tokenizer": "converted" if a.converted_tokenizer else "model's pre-tokenizer", "reports": reports},
                      f, indent=1)


if __name__ == "__main__":
    main()
