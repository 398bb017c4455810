#!/usr/bin/env python3
"""check_safetensors.py — layerlab's safetensors reader against the reference one (the `safetensors` package).

  check_safetensors.py LAYERLAB FILE.safetensors
      `layerlab tensor FILE --list` must list exactly the reference's tensors (name, dtype, shape); every float
      tensor written by `--out` must equal the reference's array converted to float32 bit for bit, and every
      other one written by `--out --raw` must equal its bytes.
  check_safetensors.py LAYERLAB --synthetic DIR
      writes files of every float dtype (F32, F16, BF16: BF16 from its bits), scalars, empty tensors and
      __metadata__, and checks them the same way; then writes malformed files, each of which must be refused
      (exit 1) with a message naming what is wrong, and never crash.
Prints one line per check; exits 1 on the first difference.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

LL_TYPE = {"F32": "f32", "F16": "f16", "BF16": "bf16", "F64": "f64", "I8": "i8", "I16": "i16", "I32": "i32",
           "I64": "i64"}


def run(ll, *args):
    return subprocess.run([ll, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def header_dtypes(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    return {k: v["dtype"] for k, v in h.items() if k != "__metadata__"}, h


def check_file(ll, path, tmp):
    dtypes, header = header_dtypes(path)
    p = run(ll, "tensor", path, "--list")
    if p.returncode:
        fail(f"{path}: --list failed: {p.stderr}")
    got = {}
    for line in p.stdout.splitlines():
        name, ty, shape = line.split("\t")
        got[name] = (ty, shape)
    with safe_open(path, framework="np") as f:
        keys = list(f.keys())
        if sorted(keys) != sorted(got):
            fail(f"{path}: names differ: {sorted(set(keys) ^ set(got))[:5]}")
        for k in keys:
            dt = dtypes[k]
            shape = header[k]["shape"]
            want_shape = "x".join(str(s) for s in shape) if shape else "1"
            want_ty = LL_TYPE.get(dt, dt)
            if got[k] != (want_ty, want_shape):
                fail(f"{path}: {k}: listed {got[k]}, reference {(want_ty, want_shape)}")
            out = os.path.join(tmp, "t.npy")
            if dt in ("F32", "F16", "BF16"):
                p = run(ll, "tensor", path, k, "--out", out)
                if p.returncode:
                    fail(f"{path}: {k}: --out failed: {p.stderr}")
                mine = np.load(out)
                if dt == "BF16":
                    bits = np.frombuffer(raw_bytes(path, header, k), dtype="<u2").astype(np.uint32) << 16
                    ref = bits.view(np.float32).reshape(shape if shape else [1])
                else:
                    ref = f.get_tensor(k).astype(np.float32).reshape(shape if shape else [1])
                if mine.shape != ref.shape or mine.tobytes() != ref.tobytes():
                    fail(f"{path}: {k}: values differ from the reference")
            else:
                p = run(ll, "tensor", path, k, "--out", out, "--raw")
                if p.returncode:
                    fail(f"{path}: {k}: --out --raw failed: {p.stderr}")
                if np.load(out).tobytes() != raw_bytes(path, header, k):
                    fail(f"{path}: {k}: raw bytes differ")
    print(f"ok: {os.path.basename(path)}: {len(keys)} tensors listed and read as the reference reads them")


def raw_bytes(path, header, k):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        b, e = header[k]["data_offsets"]
        f.seek(8 + n + b)
        return f.read(e - b)


def write_raw(path, header, data, pad=True):
    h = json.dumps(header).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def synthetic(ll, d):
    rng = np.random.default_rng(0)
    good = os.path.join(d, "good.safetensors")
    save_file({"a.f32": rng.standard_normal((3, 5)).astype(np.float32),
               "b.f16": rng.standard_normal((7,)).astype(np.float16),
               "c.4d": rng.standard_normal((2, 1, 3, 2)).astype(np.float32),
               "d.i64": np.arange(6, dtype=np.int64).reshape(2, 3),
               "e.empty": np.zeros((0, 4), dtype=np.float32),
               "f.u8": np.arange(5, dtype=np.uint8)}, good, metadata={"format": "pt"})
    check_file(ll, good, d)
    # BF16 (numpy has no bfloat16: written from bits) and a scalar
    bf = os.path.join(d, "bf16.safetensors")
    bits = (rng.standard_normal(8).astype(np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    write_raw(bf, {"x.bf16": {"dtype": "BF16", "shape": [2, 4], "data_offsets": [0, 16]},
                   "s.f32": {"dtype": "F32", "shape": [], "data_offsets": [16, 20]}},
              bits + struct.pack("<f", 1.5))
    check_file(ll, bf, d)
    t = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    bad = [
        ("short", b"\x01\x00", "too short"),
        ("hdr-past-end", struct.pack("<Q", 1000) + b"{}", "past the end of the file"),
        ("hdr-huge", struct.pack("<Q", 1 << 40) + b"{}", "over the format's limit"),
        ("not-json", struct.pack("<Q", 4) + b"{abc", "not a JSON object"),
        ("dtype", None, ({"x": dict(t, dtype="F13")}, b"\0" * 8), "dtype 'F13'"),
        ("past-data", None, ({"x": dict(t, data_offsets=[0, 16])}, b"\0" * 8), "past the data section"),
        ("count", None, ({"x": dict(t, shape=[3])}, b"\0" * 8), "bytes for 3 elements"),
        ("hole", None, ({"x": dict(t, data_offsets=[4, 12])}, b"\0" * 12), "starts at data byte 4"),
        ("overlap", None, ({"x": t, "y": t}, b"\0" * 8), "starts at data byte 0 where 8"),
        ("tail", None, ({"x": t}, b"\0" * 12), "cover 8 of the 12"),
        ("dims", None, ({"x": dict(t, shape=[1, 1, 1, 1, 2])}, b"\0" * 8), "5 dimensions"),
        ("neg", None, ({"x": dict(t, shape=[-2])}, b"\0" * 8), "shape[0] is not a size"),
        ("offsets", None, ({"x": dict(t, data_offsets=[8, 0])}, b"\0" * 8), "begin <= end"),
        ("fields", None, ({"x": {"dtype": "F32"}}, b""), "needs \"dtype\""),
        ("meta", None, ({"__metadata__": {"k": 3}, "x": t}, b"\0" * 8), "__metadata__['k']"),
    ]
    for item in bad:
        name, msg = item[0], item[-1]
        path = os.path.join(d, f"bad-{name}.safetensors")
        if item[1] is not None:
            with open(path, "wb") as f:
                f.write(item[1])
        else:
            header, data = item[2]
            write_raw(path, header, data)
        p = run(ll, "tensor", path, "--list")
        if p.returncode != 1 or msg not in p.stderr:
            fail(f"malformed '{name}': exit {p.returncode}, stderr {p.stderr.strip()!r}, expected {msg!r}")
    # duplicate names (JSON allows them; the format does not)
    path = os.path.join(d, "bad-dup.safetensors")
    h = ('{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
         '"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}').encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"\0" * 8)
    p = run(ll, "tensor", path, "--list")
    if p.returncode != 1 or "two tensors are named 'x'" not in p.stderr:
        fail(f"malformed 'dup': exit {p.returncode}, stderr {p.stderr.strip()!r}")
    print(f"ok: {len(bad) + 1} malformed files refused with their message")


def main():
    if len(sys.argv) == 4 and sys.argv[2] == "--synthetic":
        synthetic(sys.argv[1], sys.argv[3])
    elif len(sys.argv) == 3:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            check_file(sys.argv[1], sys.argv[2], tmp)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
