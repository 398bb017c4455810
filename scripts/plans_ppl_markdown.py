#!/usr/bin/env python3
"""plans_ppl_markdown.py OUT.jsonl — the perplexity table of a plans_ppl_table.sh sweep as Markdown.

Rows: start layer s (M = L-2s-1 affected middle layers); columns: the Painters presets. The `full`
perplexity is printed above the table. Standard library only."""
import json
import sys

COLS = [("skip", "skip:{s}"), ("middle_repeat", "middle_repeat:{s}"), ("reverse", "reverse:{s}"),
        ("random (seed 0)", "random:{s}:0"), ("parallel", "parallel:{s}"), ("looped_parallel (k=3)", "looped_parallel:{s}:3")]


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    by = {r["plan"]: r for r in rows}
    L = int(sys.argv[2])
    full = by.get("full")
    if full:
        print(f"`full`: ppl {full['ppl']:.3f} ({full['tokens_scored']} tokens scored, ctx {full['ctx']})\n")
    print("| s | M | " + " | ".join(c for c, _ in COLS) + " |")
    print("|---:|---:|" + "---:|" * len(COLS))
    for s in sorted({r["s"] for r in rows if r["s"] >= 0}, reverse=True):
        cells = []
        for _, pat in COLS:
            r = by.get(pat.format(s=s))
            cells.append(f"{r['ppl']:.4g}" if r else "—")
        print(f"| {s} | {L - 2 * s - 1} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
