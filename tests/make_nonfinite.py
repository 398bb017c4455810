#!/usr/bin/env python3
"""Copies a GGUF file and writes one NaN (or +inf) into the first element of a named F32 tensor.

usage: make_nonfinite.py SRC.gguf DST.gguf TENSOR [nan|inf]
The offset comes from the gguf package's reader (an independent parser), the patch is 4 bytes in place."""
import shutil
import struct
import sys

import gguf

src, dst, name = sys.argv[1:4]
kind = sys.argv[4] if len(sys.argv) > 4 else "nan"
r = gguf.GGUFReader(src)
t = next((t for t in r.tensors if t.name == name), None)
if t is None:
    sys.exit(f"{src}: no tensor {name}")
if t.tensor_type != gguf.GGMLQuantizationType.F32:
    sys.exit(f"{name} is {t.tensor_type.name}, not F32")
off = int(t.data_offset)
del r
shutil.copyfile(src, dst)
with open(dst, "r+b") as f:
    f.seek(off)
    f.write(struct.pack("<f", float(kind)))
