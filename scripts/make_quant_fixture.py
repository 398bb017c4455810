#!/usr/bin/env python3
"""Write a GGUF file with one tensor per ggml type gguf-py can dequantize, plus numpy's reference.

usage: make_quant_fixture.py OUTDIR [--seed N]

OUTDIR/quants.gguf holds, for each type T in TYPES, a tensor named T (ggml's type name, e.g. "q4_K")
of a few hundred blocks, stored raw (GGUFWriter.add_tensor(..., raw_dtype=T)); OUTDIR/T.npy holds
gguf.quants.dequantize(bytes, T) as float32, in the shape GGUFReader reports (ggml's ne reversed).
A few extra tensors check shapes: "q8_0_1d" (1-D), "q4_0_3d" (3-D).

The bytes: quants are uniformly random bytes. Every fp16 scale field (d, m/dmin) is then overwritten
with a value drawn from these classes, so the dequantizers see all of them:
    normal        random sign, any normal exponent (1..30), random mantissa   40%
    typical       random sign, magnitude in [2^-10, 2^-3)                     20%
    subnormal     random sign, exponent 0, mantissa != 0                      15%
    zero          +0 or -0                                                     10%
    largest       random sign, exponent 30 (up to 65504)                        5%
    inf           +inf or -inf                                                  5%
    nan           exponent 31, random non-zero mantissa (quiet or signalling)   5%
so references contain inf and NaN (e.g. inf * 0); compare NaN positions as "both NaN".
f32, f16 and bf16 tensors are random bit patterns (every class, NaNs included).
"""
import argparse
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

QK_K = 256

# type -> (byte offsets of the fp16 scale fields within a block)
SCALES = {
    T.Q4_0: (0,), T.Q4_1: (0, 2), T.Q5_0: (0,), T.Q5_1: (0, 2), T.Q8_0: (0,),
    T.Q2_K: (80, 82), T.Q3_K: (108,), T.Q4_K: (0, 2), T.Q5_K: (0, 2), T.Q6_K: (208,),
}
FLOATS = (T.F32, T.F16, T.BF16)
TYPES = FLOATS + tuple(SCALES)

# ggml's type names (what layerlab's table and GGUF tools print)
NAMES = {T.F32: "f32", T.F16: "f16", T.BF16: "bf16", T.Q4_0: "q4_0", T.Q4_1: "q4_1", T.Q5_0: "q5_0",
         T.Q5_1: "q5_1", T.Q8_0: "q8_0", T.Q2_K: "q2_K", T.Q3_K: "q3_K", T.Q4_K: "q4_K", T.Q5_K: "q5_K",
         T.Q6_K: "q6_K"}


def fp16_scales(rng: np.random.Generator, n: int) -> np.ndarray:
    """n fp16 bit patterns drawn from the classes in the module docstring."""
    cls = rng.choice(7, size=n, p=[0.40, 0.20, 0.15, 0.10, 0.05, 0.05, 0.05])
    sign = rng.integers(0, 2, size=n, dtype=np.uint16) << np.uint16(15)
    man = rng.integers(0, 1024, size=n, dtype=np.uint16)
    exp = np.zeros(n, dtype=np.uint16)
    exp[cls == 0] = rng.integers(1, 31, size=int((cls == 0).sum()), dtype=np.uint16)
    exp[cls == 1] = rng.integers(5, 12, size=int((cls == 1).sum()), dtype=np.uint16)  # 2^-10 .. 2^-4.x
    man[cls == 2] = rng.integers(1, 1024, size=int((cls == 2).sum()), dtype=np.uint16)  # exp stays 0
    man[cls == 3] = 0
    exp[cls == 4] = 30
    exp[cls == 5] = 31
    man[cls == 5] = 0
    exp[cls == 6] = 31
    man[cls == 6] = rng.integers(1, 1024, size=int((cls == 6).sum()), dtype=np.uint16)
    return sign | (exp << np.uint16(10)) | man


def random_tensor(rng: np.random.Generator, qtype: T, shape_bytes: tuple) -> np.ndarray:
    """Random raw bytes of the given byte shape with the scale fields replaced."""
    data = rng.integers(0, 256, size=shape_bytes, dtype=np.uint8)
    if qtype in SCALES:
        _, type_size = gguf.GGML_QUANT_SIZES[qtype]
        blocks = data.reshape(-1, type_size)
        for off in SCALES[qtype]:
            blocks[:, off:off + 2] = fp16_scales(rng, blocks.shape[0]).view(np.uint8).reshape(-1, 2)
    return data


def byte_shape(qtype: T, shape: tuple) -> tuple:
    blck, size = gguf.GGML_QUANT_SIZES[qtype]
    assert shape[-1] % blck == 0
    return (*shape[:-1], shape[-1] // blck * size)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20240611)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    tensors = []  # (name, qtype, raw bytes)
    for qtype in TYPES:
        blck, _ = gguf.GGML_QUANT_SIZES[qtype]
        if qtype in FLOATS:
            shape = (48, 80)                   # 3840 values
        elif blck == QK_K:
            shape = (150, 2 * QK_K)            # 300 blocks
        else:
            shape = (40, 8 * blck)             # 320 blocks
        tensors.append((NAMES[qtype], qtype, random_tensor(rng, qtype, byte_shape(qtype, shape))))
    tensors.append(("q8_0_1d", T.Q8_0, random_tensor(rng, T.Q8_0, byte_shape(T.Q8_0, (5 * 32,)))))
    tensors.append(("q4_0_3d", T.Q4_0, random_tensor(rng, T.Q4_0, byte_shape(T.Q4_0, (3, 4, 64)))))

    path = os.path.join(args.outdir, "quants.gguf")
    w = gguf.GGUFWriter(path, arch="layerlab-quant-fixture")
    for name, qtype, raw in tensors:
        w.add_tensor(name, raw, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    with np.errstate(all="ignore"):  # inf * 0 and friends are part of the point
        for name, qtype, raw in tensors:
            ref = np.asarray(dequantize(raw, qtype), dtype=np.float32)
            blck, _ = gguf.GGML_QUANT_SIZES[qtype]
            assert ref.shape == (*raw.shape[:-1], raw.shape[-1] // gguf.GGML_QUANT_SIZES[qtype][1] * blck), name
            np.save(os.path.join(args.outdir, name + ".npy"), ref)
    print(f"wrote {path} and {len(tensors)} reference .npy files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
