"""layerlab: layer surgery and geometry of transformer language models, over liblayerlab (ctypes; numpy only).

    import layerlab
    m = layerlab.Model("SmolLM2-135M-Instruct.Q4_1.gguf")
    ids = m.tokenize("The capital of France is")
    logits = m.logits(ids, plan="skip:13")                      # float32 [T, n_vocab]
    cache = m.run_with_cache(ids, names=["blocks.3.attn.hook_pattern", "blocks.3.hook_resid_post"])
    cos = m.cosine(task="lambada_openai", limit=32)["cosine"]    # [E+1, E+1]
    r = m.evaluate("arc_easy", plan="skip:13", limit=100)       # r.metrics["acc"], r.items["acc"]

Every library error raises LayerlabError with the library's message.
"""
from ._lib import LIB_PATH, LayerlabError, lib
from .model import (EvalResult, FEATURE_NAMES, IDIM_NAMES, Model, ProbeResult, default_data_dir, intrinsic_dim,
                    study)

__version__ = lib.ll_version().decode()

__all__ = ["Model", "LayerlabError", "EvalResult", "ProbeResult", "intrinsic_dim", "study", "default_data_dir",
           "FEATURE_NAMES", "IDIM_NAMES", "LIB_PATH", "__version__"]
