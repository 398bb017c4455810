#!/usr/bin/env python3
"""Invalid UTF-8 tokenizes as llama.cpp tokenizes it (issue 10, finding 2).

usage: check_utf8_llamacpp.py LAYERLAB MODEL.gguf [MODEL.gguf ...]

For every case below (each byte 0x80..0xFF alone and inside text, truncated sequences, overlong forms,
lone surrogates, 4-byte forms above U+10FFFF, mixtures, NUL bytes inside a text file), the token ids of `layerlab tokenize --file F
--no-bos` must equal llama-cpp-python's Llama.tokenize(bytes, add_bos=False, special=True) on the same
bytes with the same vocabulary. llama.cpp runs in a worker process; where it dies on an input (byte-level
BPE throws 'invalid codepoint' out of llama_tokenize for a 4-byte form above U+10FFFF), the reference is
llama.cpp's tokenization of Python's own decoding with errors='replace' (one U+FFFD per bad byte), and
the case is reported as such. Prints one line per model and exits 1 on any difference."""
import os
import subprocess
import sys
import tempfile

WORKER = r"""
import sys, llama_cpp
m = llama_cpp.Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
for line in sys.stdin:
    b = bytes.fromhex(line.strip())
    print("IDS", " ".join(map(str, m.tokenize(b, add_bos=False, special=True))), flush=True)
"""


def cases():
    out = []
    for b in range(0x80, 0x100):
        out += [bytes([b]), b"ab" + bytes([b]) + b"cd", b" " + bytes([b]) + b" x"]
    seqs = [
        b"\xe2\x82", b"\xf0\x9f\x98", b"\xf0\x9f", b"\xc3A", b"\xe2\x82A", b"\xf0\x9f\x98A", b"x\xe2",  # truncated
        b"\xc0\x80", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x80\xaf", b"\xf0\x80\x80\x80",
        b"\xf0\x82\x82\xac", b"a\xc0\x80b",                                                             # overlong
        b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\x80\xed\xb0\x80", b"!\xed\xa0\x80?", b"x\xed\xa0\x80y",  # surrogates
        b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf7\xbf\xbf\xbf", b"ab\xf4\x90\x80\x80cd",        # > U+10FFFF
        "héllo".encode() + b"\xff" + "wörld".encode(), b"\xe2\x82\xac\x80", b"12\xc0 34", b"\xff\xfe\xfd",
        b"Hello \x80\x80\x80 world", "naïve café".encode()[:-1], b"\xc2", b"\xef\xbf\xbd",
        b"a\x00b", b"\x00", b"hello\x00world",                                                             # NUL is text
    ]
    for s in seqs:
        out += [s, b" " + s, s + b" end"]
    return out


def llama_ids(model, items):
    """ids per item from llama.cpp, None where the worker died on that item"""
    res, i = [], 0
    while i < len(items):
        p = subprocess.run([sys.executable, "-c", WORKER, model], input="".join(b.hex() + "\n" for b in items[i:]),
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        got = [line.split()[1:] for line in p.stdout.splitlines() if line.startswith("IDS")]
        res += [list(map(int, g)) for g in got]
        i += len(got)
        if i < len(items):   # the worker died on items[i]
            res.append(None)
            i += 1
    return res


def main():
    layerlab, models = sys.argv[1], sys.argv[2:]
    items = cases()
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.txt")
        for model in models:
            ref = llama_ids(model, items)
            crashed = [k for k, r in enumerate(ref) if r is None]
            if crashed:
                repl = [items[k].decode("utf-8", "replace").encode() for k in crashed]
                for k, r in zip(crashed, llama_ids(model, repl)):
                    ref[k] = r
            bad = 0
            for k, b in enumerate(items):
                with open(path, "wb") as f:
                    f.write(b)
                r = subprocess.run([layerlab, "tokenize", model, "--file", path, "--no-bos"], capture_output=True,
                                   text=True)
                ours = list(map(int, r.stdout.split())) if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.strip()}"
                if ours != ref[k]:
                    bad += 1
                    if bad <= 10:
                        print(f"  DIFF {os.path.basename(model)} {b.hex()}: layerlab {ours} llama.cpp {ref[k]}")
            print(f"{os.path.basename(model)}: {len(items) - bad}/{len(items)} cases identical to llama.cpp "
                  f"({len(crashed)} where llama.cpp aborts compared with its tokenization of the U+FFFD-replaced text)")
            fails += bad
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
