#!/usr/bin/env python3
"""check_gguf_pyreader.py FILE — reads the file written by `test_gguf_rw --write FILE` with the gguf
Python package (GGUFReader) and asserts every key, value, type and tensor (name, type, shape, bytes) is
what tests/test_gguf_rw.c wrote. Keep EXPECTED_KV / expected_tensors() in sync with that file.

Exit codes: 0 ok, 1 mismatch, 77 gguf/numpy not importable (skip).
"""
import struct
import sys

try:
    import numpy as np
    from gguf import GGUFReader, GGUFValueType as VT, GGMLQuantizationType as QT
except Exception as e:  # noqa: BLE001 - any import failure means "skip"
    print(f"check_gguf_pyreader: skipping, cannot import numpy/gguf: {e}", file=sys.stderr)
    sys.exit(77)

F32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]  # noqa: E731 - round to float32

# key -> (type, value); arrays: (ARRAY, (elem_type, [values])); nested arrays hold (elem_type, [...]) items.
EXPECTED_KV = {
    "general.architecture": (VT.STRING, "llama"),
    "general.alignment": (VT.UINT32, 64),
    "test.u8": (VT.UINT8, 200),
    "test.i8": (VT.INT8, -100),
    "test.u16": (VT.UINT16, 60000),
    "test.i16": (VT.INT16, -30000),
    "test.u32": (VT.UINT32, 4000000000),
    "test.i32": (VT.INT32, -2000000000),
    "test.f32": (VT.FLOAT32, 3.25),
    "test.bool": (VT.BOOL, True),
    "test.u64": (VT.UINT64, 2**63 + 5),
    "test.i64": (VT.INT64, -(2**62) - 7),
    "test.f64": (VT.FLOAT64, -1.0 / 3.0),
    "test.str": (VT.STRING, "hello, GGUF \u2713"),
    "test.str_nul": (VT.STRING, "a\x00b"),
    "test.arr.u8": (VT.ARRAY, (VT.UINT8, [0, 1, 255])),
    "test.arr.i8": (VT.ARRAY, (VT.INT8, [-128, 0, 127])),
    "test.arr.u16": (VT.ARRAY, (VT.UINT16, [0, 65535, 1234])),
    "test.arr.i16": (VT.ARRAY, (VT.INT16, [-32768, 32767, -1])),
    "test.arr.u32": (VT.ARRAY, (VT.UINT32, [0, 4294967295, 42])),
    "test.arr.i32": (VT.ARRAY, (VT.INT32, [-(2**31), 2**31 - 1, -7])),
    "test.arr.f32": (VT.ARRAY, (VT.FLOAT32, [1.5, -0.25, F32(3.0e38)])),
    "test.arr.bool": (VT.ARRAY, (VT.BOOL, [True, False, True])),
    "test.arr.u64": (VT.ARRAY, (VT.UINT64, [0, 2**64 - 1, 2**40])),
    "test.arr.i64": (VT.ARRAY, (VT.INT64, [-(2**63), 2**63 - 1, -3])),
    "test.arr.f64": (VT.ARRAY, (VT.FLOAT64, [0.1, -1e300, 2.5])),
    "test.arr.empty": (VT.ARRAY, (VT.UINT32, [])),
    "test.arr.str": (VT.ARRAY, (VT.STRING, ["alpha", "", "\u03b3"])),
    "test.nested": (VT.ARRAY, (VT.ARRAY, [(VT.INT32, [1, 2, 3]), (VT.INT32, []), (VT.INT32, [-4])])),
}


def expected_tensors():
    f32 = np.array([i * 0.5 - 1.0 for i in range(6)], dtype="<f4").tobytes()
    t3d = np.array([i * i for i in range(12)], dtype="<f4").tobytes()
    f16 = np.array([0x3C00 + i for i in range(5)], dtype="<u2").tobytes()
    q8 = bytes((i * 37 + 11) & 0xFF for i in range(4 * 34))
    # name, type, ne (ggml order), bytes
    return [
        ("t.f32", QT.F32, [3, 2], f32),
        ("t.f16", QT.F16, [5], f16),
        ("t.q8_0", QT.Q8_0, [64, 2], q8),
        ("t.3d", QT.F32, [2, 3, 2], t3d),
        ("t.empty", QT.F32, [0, 4], b""),
    ]


def decode(parts, i, vtype):
    """Decodes one value from a ReaderField's parts starting at index i; returns (value, next index).
    Structure is kept: arrays become (elem_type, [values]), unlike ReaderField.contents() which flattens."""
    vtype = VT(int(vtype))
    if vtype == VT.STRING:
        return bytes(parts[i + 1]).decode("utf-8"), i + 2
    if vtype == VT.ARRAY:
        etype = VT(int(parts[i][0]))
        n = int(parts[i + 1][0])
        i += 2
        out = []
        for _ in range(n):
            v, i = decode(parts, i, etype)
            out.append(v)
        return (etype, out), i
    v = parts[i].tolist()[0]
    return (bool(v) if vtype == VT.BOOL else v), i + 1


def main():
    if len(sys.argv) != 2:
        print("usage: check_gguf_pyreader.py FILE", file=sys.stderr)
        return 2
    path = sys.argv[1]
    r = GGUFReader(path)
    errors = []

    def expect(cond, what):
        if not cond:
            errors.append(what)

    fields = {k: f for k, f in r.fields.items() if not k.startswith("GGUF.")}
    expect(list(fields) == list(EXPECTED_KV), f"keys/order differ: {list(fields)}")
    expect(int(r.fields["GGUF.version"].parts[0][0]) == 3, "version is not 3")
    for key, (vtype, want) in EXPECTED_KV.items():
        f = fields.get(key)
        if f is None:
            errors.append(f"{key}: missing")
            continue
        got_type = VT(int(f.parts[2][0]))
        expect(got_type == vtype, f"{key}: type {got_type.name}, want {vtype.name}")
        got, end = decode(f.parts, 3, got_type)
        expect(end == len(f.parts), f"{key}: {len(f.parts) - end} unparsed parts")
        expect(got == want, f"{key}: {got!r} != {want!r}")
    # contents() (the package's own accessor) for a few
    expect(fields["test.arr.str"].contents() == ["alpha", "", "\u03b3"], "contents() of the string array")
    expect(fields["test.nested"].contents() == [1, 2, 3, -4], "contents() of the nested array (flattened)")
    expect(fields["general.architecture"].contents() == "llama", "contents() of a string")

    expect(r.alignment == 64, f"alignment {r.alignment}")
    expect(r.data_offset % 64 == 0, f"data offset {r.data_offset}")
    want_t = expected_tensors()
    expect(len(r.tensors) == len(want_t), f"{len(r.tensors)} tensors, want {len(want_t)}")
    for t, (name, qt, ne, data) in zip(r.tensors, want_t):
        expect(t.name == name, f"tensor name {t.name}, want {name}")
        expect(t.tensor_type == qt, f"{name}: type {t.tensor_type}, want {qt}")
        expect([int(x) for x in t.shape] == ne, f"{name}: shape {list(t.shape)}, want {ne}")
        expect(t.n_bytes == len(data), f"{name}: n_bytes {t.n_bytes}, want {len(data)}")
        expect(np.asarray(t.data).tobytes() == data, f"{name}: data bytes differ")
        expect((t.data_offset - r.data_offset) % 64 == 0, f"{name}: offset not aligned")

    if errors:
        for e in errors:
            print(f"check_gguf_pyreader: {path}: {e}", file=sys.stderr)
        return 1
    print(f"check_gguf_pyreader: {path}: {len(EXPECTED_KV)} keys and {len(want_t)} tensors match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
