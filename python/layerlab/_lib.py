"""Loading liblayerlab.so and declaring the C functions of include/layerlab.h that the package calls."""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, c_bool, c_char_p, c_double, c_float, c_int, c_int32, c_int64, c_long,
                    c_size_t, c_void_p)
from pathlib import Path


class LayerlabError(RuntimeError):
    """A library call failed; the message is the library's (ll_errmsg)."""


def _candidates():
    env = os.environ.get("LAYERLAB_LIB")
    if env:
        return [Path(env)]
    here = Path(__file__).resolve().parent
    # the installed package ships the library; a source checkout without an install uses the repository's build/
    return [here / "liblayerlab.so", here.parent.parent / "build" / "liblayerlab.so"]


def _load():
    tried = []
    for p in _candidates():
        if p.exists():
            try:
                return ctypes.CDLL(str(p)), p
            except OSError as e:
                raise ImportError(f"layerlab: cannot load {p}: {e}") from e
        tried.append(str(p))
    raise ImportError("layerlab: liblayerlab.so not found (looked at " + ", ".join(tried) +
                      "); install the package with `pip install ./python` from the repository, or set LAYERLAB_LIB "
                      "to the library's path")


lib, LIB_PATH = _load()

PROGRESS = CFUNCTYPE(None, c_void_p, c_long, c_long, c_char_p)

_P = POINTER
_SIGS = {
    "ll_errmsg": (c_char_p, []),
    "ll_free": (None, [c_void_p]),
    "ll_version": (c_char_p, []),
    "ll_model_open": (c_void_p, [c_char_p, c_char_p]),
    "ll_model_free": (None, [c_void_p]),
    "ll_model_sha256": (c_char_p, [c_void_p]),
    "ll_model_arch": (c_char_p, [c_void_p]),
    "ll_model_path": (c_char_p, [c_void_p]),
    "ll_model_n_layer": (c_int, [c_void_p]),
    "ll_model_n_embd": (c_int, [c_void_p]),
    "ll_model_n_head": (c_int, [c_void_p]),
    "ll_model_n_head_kv": (c_int, [c_void_p]),
    "ll_model_n_ff": (c_int, [c_void_p]),
    "ll_model_n_vocab": (c_int, [c_void_p]),
    "ll_model_n_ctx": (c_int, [c_void_p]),
    "ll_model_has_head": (c_bool, [c_void_p]),
    "ll_model_causal": (c_bool, [c_void_p]),
    "ll_model_tokenizer": (c_void_p, [c_void_p]),
    "ll_tokenize": (c_int, [c_void_p, c_char_p, c_size_t, c_bool, c_bool, _P(_P(c_int32)), _P(c_size_t)]),
    "ll_detokenize": (c_void_p, [c_void_p, _P(c_int32), c_size_t, c_bool, _P(c_size_t)]),
    "ll_tok_default_bos": (c_bool, [c_void_p]),
    "ll_ffi_plan": (c_int, [c_void_p, c_char_p, _P(c_int), c_int]),
    "ll_ffi_logits": (c_int, [c_void_p, _P(c_int32), c_int, c_char_p, _P(c_float)]),
    "ll_ffi_cache_shape": (c_int, [c_void_p, c_int, c_char_p, c_char_p, _P(c_int64)]),
    "ll_ffi_cache": (c_int, [c_void_p, _P(c_int32), c_int, c_char_p, _P(c_char_p), c_int, _P(c_void_p)]),
    "ll_ffi_task_samples": (c_int, [c_void_p, c_char_p, c_char_p, _P(_P(c_int32)), _P(_P(c_int64)), _P(c_int)]),
    "ll_ffi_probe": (c_void_p, [c_void_p, c_char_p, _P(c_int32), _P(c_int64), c_int, _P(c_int32), _P(c_int64), c_int,
                                c_char_p]),
    "ll_probe_out_free": (None, [c_void_p]),
    "ll_probe_out_array": (c_int, [c_void_p, c_char_p, _P(_P(c_double)), _P(c_int64), _P(c_int64)]),
    "ll_probe_out_value": (c_int, [c_void_p, c_char_p, _P(c_double)]),
    "ll_ffi_intrinsic_dim": (c_int, [_P(c_double), c_int64, c_int64, c_int, c_double, _P(c_double)]),
    "ll_ffi_eval": (c_void_p, [c_void_p, c_char_p, c_char_p, PROGRESS, c_void_p]),
    "ll_eval_out_free": (None, [c_void_p]),
    "ll_eval_out_value": (c_int, [c_void_p, c_char_p, _P(c_double)]),
    "ll_eval_out_array": (c_int, [c_void_p, c_char_p, _P(_P(c_double)), _P(c_int64)]),
    "ll_eval_out_text": (c_char_p, [c_void_p, c_char_p, c_long]),
    "ll_ffi_study": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, PROGRESS, c_void_p]),
}
for _name, (_res, _args) in _SIGS.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def errmsg():
    m = lib.ll_errmsg()
    return m.decode("utf-8", "replace") if m else "unknown error"


def check(rc):
    """Raises LayerlabError with the library's message when a call returned -1."""
    if rc != 0:
        raise LayerlabError(errmsg())


def check_ptr(p):
    if not p:
        raise LayerlabError(errmsg())
    return p


class Handle:
    """Owns a library object; frees it once, when closed or collected (arrays viewing it hold a reference)."""

    def __init__(self, ptr, free):
        self.ptr = ptr
        self._free = free

    def close(self):
        if self.ptr:
            self._free(self.ptr)
            self.ptr = None

    def __del__(self):
        try:
            self.close()
        except Exception:   # interpreter shutdown: the library may be gone
            pass


class _View:
    """The __array_interface__ of library memory, keeping its owner alive for as long as the array lives."""

    def __init__(self, owner, addr, shape, typestr):
        self._owner = owner
        self.__array_interface__ = {"version": 3, "shape": tuple(int(s) for s in shape), "typestr": typestr,
                                    "data": (addr, True)}


def view(owner, addr, shape, typestr="<f8"):
    """A read-only numpy array over library memory at addr (no copy); owner stays alive while the array does."""
    import numpy as np
    shape = tuple(int(s) for s in shape)
    if not addr or 0 in shape:
        return np.zeros(shape, dtype=np.dtype(typestr))
    a = np.asarray(_View(owner, addr, shape, typestr))
    return a


def addr_of(ptr):
    return ctypes.cast(ptr, c_void_p).value or 0
