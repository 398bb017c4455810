#!/usr/bin/env python3
"""llama2c_tokenize_ref.py — an independent re-implementation of llama2.c run.c's `encode`, used to derive
the expected token ids that tests/test_tokenizer.c checks for a llama2.c tokenizer.bin.

Written from the algorithm (not from layerlab's C code):
  * tokenizer.bin: int32 max_token_length, then per piece float32 score, int32 length, the bytes.
  * optional BOS (id 1); then, only if the text is non-empty, the dummy prefix: the id of the piece " ".
  * the text's UTF-8 is cut into code points (a byte plus the continuation bytes after it, at most 4);
    each code point that is a piece becomes that id, otherwise each of its bytes becomes id byte+3
    (byte fallback: <unk>, <s>, </s> come first in the vocabulary).
  * repeatedly merge the adjacent pair whose concatenated piece text exists with the highest score
    (strictly greater wins, so the leftmost of equal scores), until no pair merges.
  * optional EOS (id 2).

Usage: llama2c_tokenize_ref.py TOKENIZER.bin N_VOCAB [--bos] [--eos] TEXT...
Prints one line of space-separated ids per TEXT (Python escapes such as \\n are not interpreted; pass
--escapes to decode them first).
"""
import struct
import sys


def load(path, n_vocab):
    data = open(path, "rb").read()
    pos = 4  # max_token_length, unused here
    pieces, scores = [], []
    for _ in range(n_vocab):
        score, length = struct.unpack_from("<fi", data, pos)
        pos += 8
        pieces.append(data[pos:pos + length])
        scores.append(score)
        pos += length
    return pieces, scores


def encode(text: bytes, pieces, scores, bos=False, eos=False):
    lookup = {}
    for i, p in enumerate(pieces):
        lookup.setdefault(p, i)  # run.c's sorted bsearch finds one of equal strings; the vocab has none
    tokens = []
    if bos:
        tokens.append(1)
    if text:
        tokens.append(lookup[b" "])
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and j - i < 4 and (text[j] & 0xC0) == 0x80:
            j += 1
        cp = text[i:j]
        if cp in lookup:
            tokens.append(lookup[cp])
        else:
            tokens.extend(b + 3 for b in cp)
        i = j
    while True:
        best_score, best_id, best_idx = -1e10, -1, -1
        for k in range(len(tokens) - 1):
            merged = pieces[tokens[k]] + pieces[tokens[k + 1]]
            mid = lookup.get(merged, -1)
            if mid != -1 and scores[mid] > best_score:
                best_score, best_id, best_idx = scores[mid], mid, k
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    if eos:
        tokens.append(2)
    return tokens


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    if len(args) < 2:
        sys.exit(__doc__)
    pieces, scores = load(args[0], int(args[1]))
    for text in args[2:]:
        if "--escapes" in flags:
            text = text.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
        ids = encode(text.encode("utf-8"), pieces, scores, "--bos" in flags, "--eos" in flags)
        print(" ".join(map(str, ids)))


if __name__ == "__main__":
    main(sys.argv)
