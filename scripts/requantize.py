#!/usr/bin/env python3
"""requantize.py SRC.gguf OUTDIR — writes SRC requantized by llama.cpp (llama_model_quantize, through
llama-cpp-python) to Q4_K_M, Q6_K, Q8_0 and F16 as OUTDIR/<stem>.<TYPE>.gguf, skipping files that
exist. These prove layerlab's K-quant and Q8_0 paths on a real model, not only block by block; the F16
file (the Q4_1 weights dequantized) checks the forward pass itself against llama.cpp with little
activation rounding in the way."""
import os, sys

import llama_cpp

FTYPES = {"Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M, "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
          "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16}


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    stem = os.path.basename(src).rsplit(".", 2)[0]
    for name, ftype in FTYPES.items():
        dst = os.path.join(outdir, f"{stem}.{name}.gguf")
        if os.path.exists(dst):
            continue
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.allow_requantize = True
        params.nthread = 2
        tmp = f"{dst}.{os.getpid()}.tmp"
        rc = llama_cpp.llama_model_quantize(src.encode(), tmp.encode(), params)
        if rc != 0:
            print(f"requantize: llama_model_quantize to {name} failed ({rc})", file=sys.stderr)
            return 1
        os.replace(tmp, dst)
        print(f"requantize: wrote {dst}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
