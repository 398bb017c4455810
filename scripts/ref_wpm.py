#!/usr/bin/env python3
"""ref_wpm.py — reference WordPiece ids from Hugging Face's `tokenizers` (the Rust library behind
BertTokenizerFast) for a GGUF BERT vocabulary, stored for tests/test_wpm.sh (which runs without Python packages
beyond the standard library).

The GGUF vocabulary (llama.cpp's conversion: a word-initial piece carries U+2581, a continuation piece has no
"##") is turned back into BERT's vocab.txt form; the tokenizer is BERT's: BertNormalizer (clean text, CJK
spacing, accents stripped, lower case), BertPreTokenizer, WordPiece with [UNK] (max 100 characters a word).
No special tokens are added. Texts: the strings of a UTF-8 file, one per line (escapes \\n \\t \\\\ decoded, so a
line can hold any code point), and optionally the first N sentences of an SST-2 tsv (its second line on).

Usage: ref_wpm.py VOCAB.gguf --strings tests/data/wpm_strings.txt [--sst2 ../shared/data/sst2_dev.tsv --n 100]
                  --out tests/ref/wpm_bert_bge.json
"""
import argparse
import json
import sys


def gguf_vocab(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    f = r.fields["tokenizer.ggml.tokens"]
    toks = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tt = r.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]
    vocab = {}
    for i, (t, ty) in enumerate(zip(toks, types)):
        if ty != 1:                       # control / unknown pieces as they are: [CLS], [UNK], ...
            w = t
        elif t.startswith("\u2581"):
            w = t[1:]
        else:
            w = "##" + t
        vocab[w] = i
    return vocab


def unescape(line):
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            n = line[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "0": "\0"}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vocab")
    ap.add_argument("--strings", required=True)
    ap.add_argument("--sst2")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import tokenizers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    vocab = gguf_vocab(a.vocab)
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cases = []
    with open(a.strings, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("#") or line == "":
                continue
            s = unescape(line)
            cases.append({"source": "strings", "text": line,
                          "ids": tok.encode(s, add_special_tokens=False).ids})
    if a.sst2:
        with open(a.sst2, encoding="utf-8") as f:
            rows = f.read().split("\n")[1:]
        for k, row in enumerate(r for r in rows if r.strip()):
            if k >= a.n:
                break
            sentence = row.split("\t")[0]
            cases.append({"source": "sst2", "line": k + 2, "ids": tok.encode(sentence, add_special_tokens=False).ids})
    with open(a.out, "w", encoding="utf-8") as f:   # one case a line
        head = {"tokenizers": tokenizers.__version__, "vocab": a.vocab.split("/")[-1]}
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")
    print(f"ref_wpm: {len(cases)} cases -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
