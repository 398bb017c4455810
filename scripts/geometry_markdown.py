#!/usr/bin/env python3
"""geometry_markdown.py DIR [--threshold relative|absolute] — the tables of a finished `layerlab study geometry`
run as Markdown, for docs/STUDIES.md: accuracy, prompt length and attention-ID per condition and k; per
condition the ΔID analyses at the last layer and at L−2 (mean ΔID of correct and wrong answers with 95%
intervals, the point-biserial r with its bootstrap interval, the length control: logistic coefficients of
z(ΔID) and z(Δtokens) with Wald p, the partial r given Δtokens), on all questions and on those wrong at
0 shots; and % correct per ΔID bin at the last layer. Reads DIR/analysis.json (`layerlab study export DIR`).
Standard library only."""
import json
import sys


def f(v, nd=3):
    return "—" if v is None or v != v else f"{v:.{nd}f}"


def g(v):
    return "—" if v is None or v != v else f"{v:.2g}"


def main():
    d = sys.argv[1]
    thr = sys.argv[sys.argv.index("--threshold") + 1] if "--threshold" in sys.argv else "relative"
    j = json.load(open(d + "/analysis.json"))
    L = j["layers"]
    b = j["base"]
    print(f"{j['questions']} base questions, {j['wrong_at_0_shots']} wrong at 0 shots; {L} layers; "
          f"threshold {thr}; bootstrap {j['bootstrap_iters']} resamples.\n")
    print(f"| condition | k | prompts | accuracy | mean tokens | ID layer 0 | ID layer {L - 2} | ID layer {L - 1} |"
          " TwoNN (last state) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| base | 0 | {j['questions']} | {f(b['accuracy'])} | {f(b['tokens'], 1)} | {f(b['id_profile'][0], 1)} | "
          f"{f(b['id_profile'][L - 2], 1)} | {f(b['id_profile'][L - 1], 1)} | {f(b['twonn'][-1], 2)} |")
    for c, C in j["conditions"].items():
        for r in C["by_k"]:
            print(f"| {c} | {r['k']} | {r['prompts']} | {f(r['accuracy'])} | {f(r['tokens'], 1)} | {f(r['id_profile'][0], 1)} | "
                  f"{f(r['id_profile'][L - 2], 1)} | {f(r['id_profile'][L - 1], 1)} | {f(r['twonn'][-1], 2)} |")
    print("\nΔID (prompt with k examples − the same question at 0 shots) against correctness, one observation per "
          "prompt with k > 0, pooled over k. b: logistic coefficients on standardized ΔID and Δtokens (Wald p); "
          "partial r: ΔID with correctness given Δtokens.\n")
    print("| condition | questions | layer | n | correct | ΔID correct | ΔID wrong | r [95% bootstrap] | b(ΔID) (p) |"
          " b(Δtokens) (p) | partial r |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|---|---:|")
    for c, C in j["conditions"].items():
        for a in C["analyses"]:
            if a["threshold"] != thr:
                continue
            for l in (L - 1, L - 2):
                print(f"| {c} | {a['questions']} | {l} | {a['n']} | {a['correct']} | "
                      f"{f(a['delta_id_correct'][l], 1)} ± {f(a['ci95_correct'][l], 1)} | "
                      f"{f(a['delta_id_wrong'][l], 1)} ± {f(a['ci95_wrong'][l], 1)} | "
                      f"{f(a['r'][l])} [{f(a['r_lo'][l])}, {f(a['r_hi'][l])}] | "
                      f"{f(a['logit_b_delta_id'][l])} ({g(a['logit_p_delta_id'][l])}) | "
                      f"{f(a['logit_b_delta_tokens'][l])} ({g(a['logit_p_delta_tokens'][l])}) | "
                      f"{f(a['partial_r_given_tokens'][l])} |")
    print(f"\n% correct per ΔID quintile bin at the last layer (layer {L - 1}), the questions wrong at 0 shots "
          "(the paper's Figs. 6–7):\n")
    print("| condition | bin edges | n per bin | % correct per bin |")
    print("|---|---|---|---|")
    for c, C in j["conditions"].items():
        for a in C["analyses"]:
            if a["threshold"] != thr or a["questions"] == "all":
                continue
            for B in a["bins"]:
                if B["layer"] != L - 1:
                    continue
                pc = [f"{100 * k / n:.0f}" if n else "—" for k, n in zip(B["correct"], B["count"])]
                print(f"| {c} | {', '.join(f(e, 0) for e in B['edges'])} | {', '.join(map(str, B['count']))} | "
                      f"{', '.join(pc)} |")


if __name__ == "__main__":
    sys.exit(main())
