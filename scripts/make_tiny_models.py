#!/usr/bin/env python3
"""make_tiny_models.py — tiny random-initialised transformer fixtures (HF safetensors + F32 GGUF +
transformers reference outputs) for the architectures layerlab loads.

For each NAME in llama, mistral, qwen2, qwen3, gemma3, gptneox, bert this script

  1. trains a tiny tokenizer (512 entries) on the first ~300 KB of TinyStories text
     (../shared/data/tinystories_val.txt, or --text FILE):
       * llama, mistral, qwen2, qwen3, gemma3: a SentencePiece BPE model (tokenizer.model, byte
         fallback, identity normalisation; the gemma3 one uses Gemma's special-id layout
         pad=0 eos=1 bos=2 unk=3 and no dummy prefix). The llama/qwen converters try
         SentencePiece first; gemma3's does when tokenizer.model exists;
       * gptneox: a byte-level BPE tokenizer.json (tokenizers library), specials
         <|endoftext|>=0, <|padding|>=1, like Pythia;
       * bert: a 512-line lower-cased WordPiece vocab.txt (specials, characters, frequent words
         and word endings, counted directly) and the matching tokenizer.json;
  2. builds the model with transformers from a config (vocab 512, hidden 64, 4 query heads,
     2 KV heads where the architecture has GQA, head_dim 16, intermediate 128, 2 layers — gemma3:
     6 layers so that layer 5 is the global one of its 5-local:1-global pattern), then
     re-initialises EVERY parameter from a seeded torch.Generator: matrices/embeddings
     N(0, 0.15^2), norm weights 1 + N(0, 0.1^2) (gemma3, which uses its stored norm weight w as
     (1 + w): N(0, 0.1^2)), all biases N(0, 0.1^2);
  3. saves tests/data/tiny/NAME/{config.json, model.safetensors (float32), tokenizer files};
  4. converts that folder with llama.cpp's own converter (convert_hf_to_gguf.py --outtype f32,
     gguf-py from the same llama.cpp tree first on PYTHONPATH) to tests/data/tiny/NAME.gguf;
  5. reloads the saved folder with transformers (float32, attn_implementation="eager",
     eval(), no_grad) and runs T=16 deterministic pseudo-random token ids; stores
     tests/ref/tiny/NAME.json: logits [T, 512] for decoders, last_hidden_state [T, 64] for bert
     ([CLS] first, [SEP] last, token_type_ids 0, attention mask all ones). Values are written as
     the shortest decimal that round-trips the float32 value.

Converter workarounds (the tensor conversion itself is never touched). Every conversion runs
through this script's hidden `_convert` mode, which imports convert_hf_to_gguf.py as a module,
applies the two overrides below and calls its main(); for the SentencePiece architectures
neither override has any effect:
  * gptneox and bert: the converter identifies a BPE/WordPiece pre-tokenizer by hashing the
    tokenisation of a fixed string and refuses unknown hashes; our freshly trained tokenizers are
    unknown, so get_vocab_base_pre() is overridden to return "gpt-2" (gptneox: its tokenizer.json
    uses exactly GPT-2's byte-level regex pre-tokenizer, as openai-community/gpt2 does) or
    "bert-bge" (bert: the value a BERT WordPiece checkpoint such as BAAI/bge-small-en-v1.5 gets);
  * gptneox: GPTNeoXModel.set_gguf_parameters reads hparams["rotary_pct"], which transformers 5
    folds into rope_parameters["partial_rotary_factor"] when it loads config.json (the stock
    converter raises KeyError); the wrapper copies it back into hparams["rotary_pct"].

Notes for comparing with llama.cpp (--check-llamacpp): use an F32 KV cache (type_k=type_v=0;
llama.cpp's default F16 cache alone costs ~5e-4 x range), and expect ~2e-4 x range for gemma3,
gptneox and bert even then: ggml's CPU GELU reads a float16 lookup table (input and output
rounded to f16) and is the tanh approximation, whereas HF "gelu" (gptneox, bert) is the exact
erf form. Everything else matches to ~1e-6 x range.

Requirements: torch, transformers (5.x), safetensors, sentencepiece, tokenizers, numpy and
llama.cpp's converter tree (--llama-cpp DIR, default the vendored copy in llama-cpp-python's
sdist under /work/lb). Deterministic: fixed seeds everywhere; SentencePiece trains on one thread.

Usage:
  /tmp/tenv/bin/python scripts/make_tiny_models.py [--only ARCH[,ARCH...]]
      [--llama-cpp DIR] [--text FILE] [--check-llamacpp PYTHON]
--check-llamacpp PYTHON: after building, evaluate every decoder GGUF with llama-cpp-python run by
PYTHON (e.g. .venv/bin/python) and print max |logit diff| / logit range against the reference.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(ROOT, "tests", "data", "tiny")
REF_DIR = os.path.join(ROOT, "tests", "ref", "tiny")
DEFAULT_LLAMA_CPP = "/work/lb/llama_cpp_python-0.3.36/vendor/llama.cpp"
DEFAULT_TEXT = os.path.join(os.path.dirname(ROOT), "shared", "data", "tinystories_val.txt")

ARCHS = ["llama", "mistral", "qwen2", "qwen3", "gemma3", "gptneox", "bert"]
VOCAB = 512
HIDDEN = 64
N_HEAD = 4
N_KV = 2
HEAD_DIM = 16
FFN = 128
N_LAYER = 2
N_CTX = 512
T = 16
TEXT_BYTES = 300_000

MAT_STD = 0.15
NORM_STD = 0.1
BIAS_STD = 0.1

# Pre-tokenizer names returned by the converter override (see the header).
PRE_OVERRIDE = {"gptneox": "gpt-2", "bert": "bert-bge"}

# per-architecture seeds (model init / reference ids)
SEEDS = {name: 1000 + i for i, name in enumerate(ARCHS)}


# ----------------------------------------------------------------------------------------------
# tokenizers

def training_text(path):
    with open(path, "rb") as f:
        raw = f.read(TEXT_BYTES)
    text = raw.decode("utf-8", errors="ignore")
    text = text[: text.rfind("\n") + 1]
    return [ln for ln in text.split("\n") if ln.strip()]


def train_spm(lines, gemma=False):
    """SentencePiece BPE, 512 pieces, byte fallback. Returns the serialized model bytes."""
    import sentencepiece as spm
    buf = io.BytesIO()
    kw = dict(
        sentence_iterator=iter(lines), model_writer=buf, vocab_size=VOCAB, model_type="bpe",
        byte_fallback=True, character_coverage=0.9995, normalization_rule_name="identity",
        remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
        num_threads=1, input_sentence_size=0, shuffle_input_sentence=False,
        minloglevel=2, max_sentence_length=16384,
    )
    if gemma:
        kw.update(pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
                  bos_piece="<bos>", unk_piece="<unk>", add_dummy_prefix=False)
    else:
        kw.update(unk_id=0, bos_id=1, eos_id=2, pad_id=-1, add_dummy_prefix=True)
    spm.SentencePieceTrainer.train(**kw)
    data = buf.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=data)
    assert sp.vocab_size() == VOCAB, sp.vocab_size()
    return data


def train_bpe(lines):
    """Byte-level BPE tokenizer (GPT-2/Pythia style). Returns tokenizer.json text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>", "<|padding|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False, min_frequency=2)
    tok.train_from_iterator(lines, trainer=trainer)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    return tok.to_str(pretty=False)


def train_wordpiece(lines):
    """Lower-cased BERT WordPiece vocabulary, built by plain counting so that it is deterministic
    (tokenizers' WordPieceTrainer breaks frequency ties differently from run to run): the 5
    specials, the 60 most frequent characters each as "c" and "##c", then the most frequent
    whole words and word endings ("##xyz") until VOCAB entries. Returns the vocab.txt lines."""
    import re
    from collections import Counter
    words = Counter()
    for ln in lines:
        words.update(re.findall(r"[a-z0-9]+|[^\sa-z0-9]", ln.lower()))
    chars = Counter()
    for w, c in words.items():
        for ch in w:
            chars[ch] += c
    alphabet = [ch for ch, _ in sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))][:60]
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + alphabet + ["##" + ch for ch in alphabet]
    seen = set(toks)
    suffixes = Counter()
    for w, c in words.items():
        for k in (2, 3, 4):
            if len(w) > k + 1:
                suffixes["##" + w[-k:]] += c
    by_freq = lambda cnt: [t for t, _ in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))]
    n_suffix = (VOCAB - len(toks)) // 3
    for t in by_freq(suffixes)[:n_suffix]:
        if t not in seen:
            toks.append(t)
            seen.add(t)
    for t in by_freq({w: c for w, c in words.items() if len(w) > 1}):
        if len(toks) == VOCAB:
            break
        if t not in seen:
            toks.append(t)
            seen.add(t)
    assert len(toks) == VOCAB, len(toks)
    return toks


def wordpiece_tokenizer_json(toks):
    """tokenizer.json for the WordPiece vocab, as BERT checkpoints ship it (the converter's
    SpecialVocab finds [CLS]/[SEP]/... ids and add-bos/add-sep through it)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(toks)}, unk_token="[UNK]",
                                     max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", toks.index("[CLS]")), ("[SEP]", toks.index("[SEP]"))])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    assert tok.get_vocab_size() == VOCAB
    return tok.to_str(pretty=False)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_tokenizer(name, out_dir, lines):
    if name in ("llama", "mistral", "qwen2", "qwen3", "gemma3"):
        gemma = name == "gemma3"
        with open(os.path.join(out_dir, "tokenizer.model"), "wb") as f:
            f.write(train_spm(lines, gemma=gemma))
        if gemma:
            tc = {"tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>",
                  "unk_token": "<unk>", "pad_token": "<pad>", "add_bos_token": True,
                  "add_eos_token": False}
        else:
            tc = {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                  "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False}
        write_json(os.path.join(out_dir, "tokenizer_config.json"), tc)
    elif name == "gptneox":
        with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(train_bpe(lines))
        write_json(os.path.join(out_dir, "tokenizer_config.json"),
                   {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>",
                    "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                    "pad_token": "<|padding|>", "add_prefix_space": False})
    elif name == "bert":
        toks = train_wordpiece(lines)
        with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(toks) + "\n")
        with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(wordpiece_tokenizer_json(toks))
        write_json(os.path.join(out_dir, "tokenizer_config.json"),
                   {"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                    "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                    "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": True,
                    "strip_accents": None, "model_max_length": N_CTX})
    else:
        raise ValueError(name)


# ----------------------------------------------------------------------------------------------
# models

def make_config(name):
    import transformers as tf
    common = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=FFN,
                  num_hidden_layers=N_LAYER, num_attention_heads=N_HEAD,
                  max_position_embeddings=N_CTX)
    if name == "llama":
        return tf.LlamaConfig(**common, num_key_value_heads=N_KV, rms_norm_eps=1e-5,
                              rope_theta=10000.0, tie_word_embeddings=False, hidden_act="silu",
                              bos_token_id=1, eos_token_id=2, attention_bias=False, mlp_bias=False)
    if name == "mistral":
        return tf.MistralConfig(**common, num_key_value_heads=N_KV, rms_norm_eps=1e-5,
                                rope_theta=10000.0, tie_word_embeddings=False, hidden_act="silu",
                                sliding_window=None, bos_token_id=1, eos_token_id=2)
    if name == "qwen2":
        return tf.Qwen2Config(**common, num_key_value_heads=N_KV, rms_norm_eps=1e-6,
                              rope_theta=1000000.0, tie_word_embeddings=True, hidden_act="silu",
                              use_sliding_window=False, bos_token_id=1, eos_token_id=2)
    if name == "qwen3":
        return tf.Qwen3Config(**common, num_key_value_heads=N_KV, head_dim=HEAD_DIM,
                              rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
                              hidden_act="silu", attention_bias=False, use_sliding_window=False,
                              bos_token_id=1, eos_token_id=2)
    if name == "gemma3":
        c = dict(common, num_hidden_layers=6)
        return tf.Gemma3TextConfig(
            **c, num_key_value_heads=N_KV, head_dim=HEAD_DIM, rms_norm_eps=1e-6,
            rope_theta=1000000.0, rope_local_base_freq=10000.0,
            rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            sliding_window=512, query_pre_attn_scalar=HEAD_DIM,
            layer_types=["sliding_attention"] * 5 + ["full_attention"],
            final_logit_softcapping=None, attn_logit_softcapping=None,
            hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
            pad_token_id=0, eos_token_id=1, bos_token_id=2)
    if name == "gptneox":
        return tf.GPTNeoXConfig(**common, rotary_pct=0.25, rotary_emb_base=10000,
                                use_parallel_residual=True, hidden_act="gelu", layer_norm_eps=1e-5,
                                tie_word_embeddings=False, attention_bias=True,
                                bos_token_id=0, eos_token_id=0)
    if name == "bert":
        return tf.BertConfig(**common, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
                             pad_token_id=0, hidden_dropout_prob=0.0,
                             attention_probs_dropout_prob=0.0)
    raise ValueError(name)


HF_CLASS = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
            "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM",
            "gemma3": "Gemma3ForCausalLM", "gptneox": "GPTNeoXForCausalLM", "bert": "BertModel"}


def build_model(name, cfg):
    import torch
    import transformers as tf
    torch.manual_seed(SEEDS[name])
    cls = getattr(tf, HF_CLASS[name])
    if name == "bert":
        # The converter drops pooler.dense.* (it only produces embeddings), so the fixture has
        # no pooler at all.
        model = cls(cfg, add_pooling_layer=False)
    else:
        model = cls(cfg)
    model = model.to(torch.float32)
    gen = torch.Generator().manual_seed(SEEDS[name])
    gemma = name == "gemma3"
    with torch.no_grad():
        for pname, p in model.named_parameters():  # shared (tied) parameters are listed once
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            leaf = pname.rsplit(".", 1)[-1]
            is_norm = p.ndim == 1 and ("norm" in pname.lower()) and leaf == "weight"
            if leaf == "bias":
                p.copy_(noise * BIAS_STD)
            elif is_norm:
                p.copy_(noise * NORM_STD if gemma else 1.0 + noise * NORM_STD)
            else:
                assert p.ndim == 2, pname
                p.copy_(noise * MAT_STD)
    return model


def ref_ids(name):
    import numpy as np
    rs = np.random.RandomState(SEEDS[name])
    if name == "bert":
        mid = rs.randint(5, VOCAB, size=T - 2).tolist()  # skip [PAD] [UNK] [CLS] [SEP] [MASK]
        return [2] + mid + [3]  # [CLS] ... [SEP]
    return rs.randint(0, VOCAB, size=T).tolist()


def run_reference(name, model_dir):
    import numpy as np
    import torch
    import transformers as tf
    cls = getattr(tf, HF_CLASS[name])
    kw = {"add_pooling_layer": False} if name == "bert" else {}
    model = cls.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager", **kw)
    model.eval()
    ids = ref_ids(name)
    x = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        if name == "bert":
            out = model(input_ids=x, token_type_ids=torch.zeros_like(x),
                        attention_mask=torch.ones_like(x)).last_hidden_state[0]
        else:
            out = model(input_ids=x).logits[0]
    vals = out.to(torch.float32).numpy()
    return model, ids, vals


# ----------------------------------------------------------------------------------------------
# conversion

def convert_mode(argv):
    """Hidden mode: `_convert LLAMA_CPP_DIR PRE_OVERRIDE|- <convert_hf_to_gguf.py args...>`.
    Imports the converter as a module, applies the documented overrides and runs its main()."""
    llama_cpp, pre = argv[0], argv[1]
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    sys.path.insert(0, llama_cpp)
    import convert_hf_to_gguf as conv
    from conversion import base

    if pre != "-":
        def get_vocab_base_pre(self, tokenizer, _pre=pre):
            base.logger.info(f"make_tiny_models: BPE/WPM pre-tokenizer forced to {_pre!r}")
            return _pre
        base.TextModel.get_vocab_base_pre = get_vocab_base_pre

    orig_load = base.ModelBase.load_hparams

    def load_hparams(dir_model, is_mistral_format):
        hp = orig_load(dir_model, is_mistral_format)
        if hp.get("model_type") == "gpt_neox" and hp.get("rotary_pct") is None:
            hp["rotary_pct"] = (hp.get("rope_parameters") or {}).get("partial_rotary_factor", 1.0)
        return hp
    base.ModelBase.load_hparams = staticmethod(load_hparams)

    sys.argv = ["convert_hf_to_gguf.py"] + argv[2:]
    conv.main()


def convert(name, model_dir, out_path, llama_cpp):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(llama_cpp, "gguf-py"), llama_cpp]
                                        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [sys.executable, os.path.abspath(__file__), "_convert", llama_cpp,
           PRE_OVERRIDE.get(name, "-"), model_dir, "--outtype", "f32", "--outfile", out_path]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"{name}: converter failed")


def gguf_info(path, llama_cpp):
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    import gguf
    r = gguf.GGUFReader(path)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    n_tok = len(r.fields["tokenizer.ggml.tokens"].data)
    return arch, n_tok, r


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def f32_list(a):
    """Shortest decimal strings that round-trip each float32 (numpy's float32 str is)."""
    import numpy as np
    out = []
    for row in a:
        r = [float(str(np.float32(v))) for v in row]
        assert np.array_equal(np.asarray(r, dtype=np.float32), row.astype(np.float32))
        out.append(r)
    return out


# ----------------------------------------------------------------------------------------------

def make_one(name, lines, llama_cpp):
    import numpy as np
    import torch
    import transformers as tf
    model_dir = os.path.join(DATA_DIR, name)
    if os.path.isdir(model_dir):
        shutil.rmtree(model_dir)
    os.makedirs(model_dir)
    os.makedirs(REF_DIR, exist_ok=True)

    write_tokenizer(name, model_dir, lines)
    cfg = make_config(name)
    model = build_model(name, cfg)
    model.save_pretrained(model_dir)
    gc = os.path.join(model_dir, "generation_config.json")
    if os.path.exists(gc):
        os.remove(gc)  # not used by the converter nor the reference
    st = os.path.join(model_dir, "model.safetensors")
    from safetensors import safe_open
    with safe_open(st, "pt") as f:
        for k in f.keys():
            assert f.get_tensor(k).dtype == torch.float32, k

    gguf_path = os.path.join(DATA_DIR, name + ".gguf")
    convert(name, model_dir, gguf_path, llama_cpp)
    arch, n_tok, _ = gguf_info(gguf_path, llama_cpp)
    assert n_tok == VOCAB, f"{name}: GGUF has {n_tok} tokens, want {VOCAB}"

    ref_model, ids, vals = run_reference(name, model_dir)
    assert np.isfinite(vals).all(), name
    rng = float(vals.max() - vals.min())
    assert rng > 1.0 and float(vals.std(axis=0).min()) > 1e-3, f"{name}: degenerate output"
    if name != "bert":
        assert rng > 5.0, f"{name}: logit range {rng} too small"
    with open(os.path.join(model_dir, "config.json")) as f:
        model_type = json.load(f)["model_type"]
    ref = {
        "arch": arch,
        "model_type": model_type,
        "hf_class": HF_CLASS[name],
        "transformers": tf.__version__,
        "torch": torch.__version__,
        "kind": "hidden" if name == "bert" else "logits",
        "ids": ids,
        "shape": list(vals.shape),
        "range": float(np.float32(rng)),
        "safetensors_sha256": sha256(st),
        "gguf_sha256": sha256(gguf_path),
        "command": ("/tmp/tenv/bin/python scripts/make_tiny_models.py --only " + name
                    + f"  (transformers {HF_CLASS[name]}.from_pretrained(tests/data/tiny/{name}, "
                    "dtype=float32, attn_implementation='eager'), eval(), no_grad; GGUF by "
                    "llama.cpp convert_hf_to_gguf.py --outtype f32"
                    + (f", pre-tokenizer forced to {PRE_OVERRIDE[name]!r}" if name in PRE_OVERRIDE else "")
                    + ")"),
    }
    if name == "bert":
        ref["token_type_ids"] = [0] * T
        ref["attention_mask"] = [1] * T
    ref["values"] = f32_list(vals)
    with open(os.path.join(REF_DIR, name + ".json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: arch={arch} shape={list(vals.shape)} range={rng:.4f} "
          f"gguf={os.path.getsize(gguf_path)} B safetensors={os.path.getsize(st)} B")


LLAMACPP_CHECK = r"""
import json, sys
import numpy as np
from llama_cpp import Llama
gguf, ref_path = sys.argv[1], sys.argv[2]
ref = json.load(open(ref_path))
want = np.asarray(ref["values"], dtype=np.float32)
res = {}
for label, kw in (("f32_kv", dict(type_k=0, type_v=0)), ("default_f16_kv", {})):
    llm = Llama(model_path=gguf, logits_all=True, n_ctx=64, verbose=False, seed=0, **kw)
    llm.eval(ref["ids"])
    got = np.asarray(llm.scores[:len(ref["ids"])], dtype=np.float32)
    d = float(np.abs(got - want).max())
    res[label] = {"max_abs_diff": d, "rel": d / ref["range"]}
    del llm
res["range"] = ref["range"]
print(json.dumps(res))
"""


def check_llamacpp(python, names):
    for name in names:
        if name == "bert":
            continue
        r = subprocess.run([python, "-c", LLAMACPP_CHECK, os.path.join(DATA_DIR, name + ".gguf"),
                            os.path.join(REF_DIR, name + ".json")], capture_output=True, text=True)
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-2000:]
        print(f"llama.cpp {name}: {last}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_convert":
        return convert_mode(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated subset of " + ",".join(ARCHS))
    ap.add_argument("--llama-cpp", default=DEFAULT_LLAMA_CPP)
    ap.add_argument("--text", default=DEFAULT_TEXT)
    ap.add_argument("--check-llamacpp", metavar="PYTHON")
    a = ap.parse_args()
    names = ARCHS if not a.only else a.only.split(",")
    for n in names:
        if n not in ARCHS:
            ap.error(f"unknown arch {n}")
    lines = training_text(a.text)
    for n in names:
        make_one(n, lines, a.llama_cpp)
    if a.check_llamacpp:
        check_llamacpp(a.check_llamacpp, names)


if __name__ == "__main__":
    main()
