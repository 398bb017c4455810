#!/usr/bin/env python3
"""make_rope_variants.py SRC.gguf OUTDIR — copies of a llama GGUF that differ only in their RoPE scaling,
for checking layerlab's RoPE scaling against transformers (scripts/ref_rope.py, tests/test_rope_scaling.sh).

Writes (skipping any that already exist):
  OUTDIR/<stem>.rope-linear4.gguf  with llama.rope.scaling.type = "linear", llama.rope.scaling.factor = 4.0
  OUTDIR/<stem>.rope-llama3.gguf   with a rope_freqs.weight F32 tensor of rope_dim/2 frequency factors
                                   computed with Llama 3.1's rule (LLAMA3 below; no scaling type key), as
                                   llama.cpp's convert_hf_to_gguf.py writes it for Llama 3.1 checkpoints.
Every other key is copied with its type and value, every tensor with its type, shape and raw bytes, and
the data alignment is the source's; the copy is read back and compared before it is moved into place.
Needs only numpy and gguf.
"""
import math, os, sys

import numpy as np
import gguf

# Llama 3.1's rule with Llama 3.1's factors. The original context is small because SmolLM2's RoPE (base
# 1e5, 64 dims) has wavelengths 2*pi .. 4.4e5: with 256, dims 0-6 keep their frequency (wavelength < 64),
# dims 7-10 are interpolated and dims 11-31 are divided by 8 (wavelength > 256). ref_rope.py passes the
# same parameters to transformers.
LLAMA3 = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 256}
LINEAR_FACTOR = 4.0


def llama3_factors(base, rope_dim, p=LLAMA3):
    """Frequency factors f_i (inv_freq_i is divided by f_i), as convert_hf_to_gguf.py computes them."""
    old = p["original_max_position_embeddings"]
    low_wl, high_wl = old / p["low_freq_factor"], old / p["high_freq_factor"]
    out = []
    for i in range(rope_dim // 2):
        wavelen = 2 * math.pi * base ** (2 * i / rope_dim)
        if wavelen < high_wl:
            out.append(1.0)
        elif wavelen > low_wl:
            out.append(p["factor"])
        else:
            smooth = (old / wavelen - p["low_freq_factor"]) / (p["high_freq_factor"] - p["low_freq_factor"])
            out.append(1.0 / ((1 - smooth) / p["factor"] + smooth))
    return np.array(out, dtype=np.float32)


def field_value(field):
    """(value, type, sub_type) of a reader field, for GGUFWriter.add_key_value."""
    vtype = field.types[0]
    sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
    return field.contents(), vtype, sub


def rope_params(reader, path):
    arch = reader.fields["general.architecture"].contents()
    if arch != "llama":
        sys.exit(f"make_rope_variants: {path}: architecture {arch!r}, expected 'llama'")
    f = reader.fields
    get = lambda k, d=None: f[f"llama.{k}"].contents() if f"llama.{k}" in f else d
    base = float(get("rope.freq_base", 10000.0))
    head_dim = get("attention.key_length", get("embedding_length") // get("attention.head_count"))
    rope_dim = int(get("rope.dimension_count", head_dim))
    for k in f:
        if k.startswith("llama.rope.scaling.") or k == "llama.rope.scale_linear":
            sys.exit(f"make_rope_variants: {path} already has RoPE scaling ({k}); give an unscaled model")
    if any(t.name == "rope_freqs.weight" for t in reader.tensors):
        sys.exit(f"make_rope_variants: {path} already has rope_freqs.weight; give an unscaled model")
    return base, rope_dim


def write_variant(reader, out, new_kv, new_tensors):
    """Copies reader to out, adding new_kv [(key, value, type)] after llama.rope.freq_base (or at the end)
    and new_tensors [(name, f32 array)] before the source's tensors."""
    tmp = f"{out}.{os.getpid()}.tmp"  # unique: concurrent runs each write their own, then rename
    try:
        w = gguf.GGUFWriter(tmp, reader.fields["general.architecture"].contents())
        w.data_alignment = reader.alignment
        added = False
        for field in reader.fields.values():
            if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
                continue  # the writer writes these itself
            val, vtype, sub = field_value(field)
            w.add_key_value(field.name, val, vtype, sub_type=sub)
            if field.name == "llama.rope.freq_base":
                for k, v, t in new_kv:
                    w.add_key_value(k, v, t)
                added = True
        if not added:
            for k, v, t in new_kv:
                w.add_key_value(k, v, t)
        for name, arr in new_tensors:
            w.add_tensor_info(name, arr.shape, arr.dtype, arr.nbytes, gguf.GGMLQuantizationType.F32)
        for t in reader.tensors:
            w.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        for _, arr in new_tensors:
            w.write_tensor_data(arr)
        for t in reader.tensors:
            w.write_tensor_data(t.data, tensor_endianess=reader.endianess)
        w.close()
        verify(reader, tmp, new_kv, new_tensors)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, out)


def verify(src, path, new_kv, new_tensors):
    """The copy holds the source's keys and tensors unchanged plus exactly the new ones."""
    r = gguf.GGUFReader(path)
    if r.alignment != src.alignment:
        sys.exit(f"make_rope_variants: {path}: alignment {r.alignment} != source {src.alignment}")
    want = {k: field_value(f) for k, f in src.fields.items() if not k.startswith("GGUF.")}
    want.update({k: (v, t, None) for k, v, t in new_kv})
    got = {k: field_value(f) for k, f in r.fields.items() if not k.startswith("GGUF.")}
    if set(got) != set(want):
        sys.exit(f"make_rope_variants: {path}: keys differ: {sorted(set(got) ^ set(want))}")
    for k, (v, t, s) in want.items():
        gv, gt, gs = got[k]
        if gt != t or gs != s or (gv != v if not isinstance(v, float) else np.float32(gv) != np.float32(v)):
            sys.exit(f"make_rope_variants: {path}: key {k} differs from the source")
    tens = {t.name: t for t in r.tensors}
    if len(tens) != len(src.tensors) + len(new_tensors):
        sys.exit(f"make_rope_variants: {path}: {len(tens)} tensors, expected {len(src.tensors) + len(new_tensors)}")
    for t in src.tensors:
        c = tens.get(t.name)
        if (c is None or c.tensor_type != t.tensor_type or list(c.shape) != list(t.shape)
                or c.data.tobytes() != t.data.tobytes()):
            sys.exit(f"make_rope_variants: {path}: tensor {t.name} differs from the source")
        if c.data_offset % r.alignment:
            sys.exit(f"make_rope_variants: {path}: tensor {t.name} is not aligned to {r.alignment}")
    for name, arr in new_tensors:
        c = tens.get(name)
        if c is None or c.tensor_type != gguf.GGMLQuantizationType.F32 or not np.array_equal(c.data, arr):
            sys.exit(f"make_rope_variants: {path}: tensor {name} was not written as given")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    stem = os.path.basename(src)
    stem = stem[:-5] if stem.endswith(".gguf") else stem
    reader = gguf.GGUFReader(src)
    base, rope_dim = rope_params(reader, src)
    T = gguf.GGUFValueType
    factors = llama3_factors(base, rope_dim)
    kept, scaled = int((factors == 1).sum()), int((factors == LLAMA3["factor"]).sum())
    print(f"llama3 factors (base {base:g}, rope_dim {rope_dim}, {LLAMA3}): {kept} dims unscaled, "
          f"{len(factors) - kept - scaled} interpolated, {scaled} divided by {LLAMA3['factor']:g}")
    print("  " + " ".join(f"{x:.4g}" for x in factors))
    variants = [
        ("rope-linear4", [("llama.rope.scaling.type", "linear", T.STRING),
                          ("llama.rope.scaling.factor", LINEAR_FACTOR, T.FLOAT32)], []),
        ("rope-llama3", [], [("rope_freqs.weight", factors)]),
    ]
    for tag, kv, tensors in variants:
        out = os.path.join(outdir, f"{stem}.{tag}.gguf")
        if os.path.exists(out):
            print(f"{out}: exists, kept")
            continue
        write_variant(reader, out, kv, tensors)
        print(f"{out}: written ({os.path.getsize(out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
