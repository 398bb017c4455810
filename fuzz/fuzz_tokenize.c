/* fuzz_tokenize.c — libFuzzer target for tokenization of arbitrary bytes with real vocabularies.
 *
 * At start-up the llama.cpp test vocabularies ggml-vocab-{llama-spm,gpt-2,starcoder}.gguf are loaded from
 * $SHARED/tokenizer-tests (SHARED defaults to the `shared` folder beside the repository, looked for
 * relative to the executable, then to the working directory). Each input is tokenized with every
 * vocabulary, with special-token parsing off and on (SentencePiece also with BOS), which must succeed;
 * every id must be in range; the ids are detokenized with special tokens rendered and not, and each id
 * goes through ll_token_to_text.
 *
 * Round trip (byte-level BPE: gpt-2 and starcoder): when the input is valid UTF-8, detokenizing its
 * tokens gives the input back byte for byte — without special-token parsing and without rendering
 * special tokens, and with both. One documented exemption: a vocabulary can lack the single-character
 * piece of some byte's GPT-2 stand-in (starcoder has none for 0xF1, the lead byte of U+40000..U+7FFFF,
 * nor for bytes that never occur in UTF-8); such a byte becomes <unk> (llama.cpp drops it), so inputs
 * containing one are not checked for the round trip. The bytes are found at start-up with an
 * independent copy of GPT-2's byte map and listed on stderr.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

typedef struct {
    const char *name;
    bool roundtrip;
    ll_tokenizer *tok;
    bool no_piece[256];   /* byte-level BPE: the byte's stand-in character is no piece of the vocabulary */
} vocab;

static vocab vocabs[] = {
    {"llama-spm", false, NULL, {0}},
    {"gpt-2", true, NULL, {0}},
    {"starcoder", true, NULL, {0}},
};
#define N_VOCABS (sizeof vocabs / sizeof *vocabs)

static volatile uint64_t sink;
static char *textbuf;      /* room for the longest piece of any vocabulary, + 1 */
static size_t textbuf_size;

static bool has_vocabs(const char *dir) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/tokenizer-tests/ggml-vocab-gpt-2.gguf", dir) >= (int)sizeof p) return false;
    return access(p, R_OK) == 0;
}

/* dir of path (in place) */
static void dirname_inplace(char *p) {
    char *s = strrchr(p, '/');
    if (s && s != p) *s = 0;
    else if (s) s[1] = 0;
}

static const char *find_shared(const char *argv0) {
    static char buf[PATH_MAX];
    const char *env = getenv("SHARED");
    if (env && env[0]) {
        if (has_vocabs(env)) return env;
        fprintf(stderr, "fuzz_tokenize: SHARED=%s has no tokenizer-tests/ggml-vocab-*.gguf\n", env);
        return NULL;
    }
    /* the executable: <repo>/<build dir>/fuzz_tokenize -> <repo>/../shared */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 && argv0) {
        if (!realpath(argv0, exe)) exe[0] = 0;
        n = (ssize_t)strlen(exe);
    }
    if (n > 0) {
        exe[n] = 0;
        for (int up = 1; up <= 3; up++) {
            dirname_inplace(exe);
            if (snprintf(buf, sizeof buf, "%s/shared", exe) < (int)sizeof buf && has_vocabs(buf)) return buf;
        }
    }
    static const char *const rel[] = {"../shared", "shared", "../../shared"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++)
        if (has_vocabs(rel[i])) return rel[i];
    fprintf(stderr, "fuzz_tokenize: cannot find the shared fixtures (set SHARED)\n");
    return NULL;
}

/* GPT-2's byte map (printable bytes stand for themselves, the others for U+0100 upwards, in byte
 * order); marks the bytes whose stand-in is not a piece. */
static void find_missing_bytes(vocab *v) {
    int extra = 0, n = 0;
    for (int b = 0; b < 256; b++) {
        bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        int cp = self ? b : 256 + extra++;
        char s[3] = {0};
        if (cp < 0x80) {
            s[0] = (char)cp;
        } else {
            s[0] = (char)(0xC0 | (cp >> 6));
            s[1] = (char)(0x80 | (cp & 0x3F));
        }
        v->no_piece[b] = ll_tok_find(v->tok, s) < 0;
        if (v->no_piece[b]) {
            if (!n++) fprintf(stderr, "fuzz_tokenize: %s has no piece for byte(s) (no round-trip check with them):", v->name);
            fprintf(stderr, " %02x", b);
        }
    }
    if (n) fprintf(stderr, "\n");
}

static bool representable(const vocab *v, const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v->no_piece[s[i]]) return false;
    return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *shared = find_shared(*argc > 0 ? (*argv)[0] : NULL);
    if (!shared) exit(1);
    for (size_t i = 0; i < N_VOCABS; i++) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/tokenizer-tests/ggml-vocab-%s.gguf", shared, vocabs[i].name) >= (int)sizeof p) {
            fprintf(stderr, "fuzz_tokenize: path too long\n");
            exit(1);
        }
        ll_gguf *g = ll_gguf_open(p);
        if (!g || !(vocabs[i].tok = ll_tokenizer_from_gguf(g))) {
            fprintf(stderr, "fuzz_tokenize: %s: %s\n", p, ll_errmsg());
            exit(1);
        }
        ll_gguf_close(g);   /* the tokenizer keeps its own copies */
        if (vocabs[i].roundtrip) find_missing_bytes(&vocabs[i]);
        for (int32_t id = 0; id < ll_tok_n_vocab(vocabs[i].tok); id++) {
            size_t plen;
            if (!ll_tok_piece(vocabs[i].tok, id, &plen)) abort();
            if (plen + 1 > textbuf_size) textbuf_size = plen + 1;
        }
    }
    if (!(textbuf = malloc(textbuf_size))) abort();
    return 0;
}

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
static bool valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t l;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) { l = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { l = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { l = 4; cp = c & 0x07; }
        else return false;
        if (n - i < l) return false;
        for (size_t k = 1; k < l; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += l;
    }
    return true;
}

static void dump(const char *what, const uint8_t *s, size_t n) {
    fprintf(stderr, "%s (%zu bytes):", what, n);
    for (size_t i = 0; i < n && i < 256; i++) fprintf(stderr, " %02x", s[i]);
    fprintf(stderr, "%s\n", n > 256 ? " ..." : "");
}

static void check_roundtrip(const vocab *v, bool special, const uint8_t *data, size_t size, const char *out,
                            size_t len, const int32_t *ids, size_t n) {
    if (len == size && !memcmp(out, data, size)) return;
    size_t at = 0;
    while (at < len && at < size && out[at] == (char)data[at]) at++;
    fprintf(stderr, "%s: detokenize(tokenize(s)) != s (parse_special = render_special = %d), first difference at "
            "byte %zu\n", v->name, special, at);
    dump("input", data, size);
    dump("output", (const uint8_t *)out, len);
    fprintf(stderr, "ids:");
    for (size_t i = 0; i < n && i < 128; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
    abort();
}

static void run(const vocab *v, const uint8_t *data, size_t size, bool add_bos, bool special, bool utf8) {
    const ll_tokenizer *t = v->tok;
    int32_t V = ll_tok_n_vocab(t);
    int32_t *ids;
    size_t n;
    if (ll_tokenize(t, (const char *)data, size, add_bos, special, &ids, &n) != 0) {
        fprintf(stderr, "%s: ll_tokenize(%zu bytes, bos %d, special %d) failed: %s\n", v->name, size, add_bos,
                special, ll_errmsg());
        abort();
    }
    if (add_bos && (n < 1 || ids[0] != ll_tok_bos(t))) abort();
    if (size && !n) {
        fprintf(stderr, "%s: %zu bytes gave no tokens\n", v->name, size);
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= V) {
            fprintf(stderr, "%s: id %d at %zu is outside the vocabulary of %d\n", v->name, ids[i], i, V);
            abort();
        }
    }
    for (int rs = 0; rs < 2; rs++) {
        size_t len;
        char *s = ll_detokenize(t, ids, n, rs, &len);
        if (!s || s[len] != 0) {
            fprintf(stderr, "%s: ll_detokenize failed: %s\n", v->name, ll_errmsg());
            abort();
        }
        if (v->roundtrip && utf8 && !add_bos && rs == special && representable(v, data, size)) check_roundtrip(v, special, data, size, s, len, ids, n);
        sink += len;
        free(s);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = ll_token_to_text(t, i ? ids[i - 1] : -1, ids[i], textbuf, textbuf_size);
        if (rc < 0) {
            fprintf(stderr, "%s: ll_token_to_text(%d) failed: %s\n", v->name, ids[i], ll_errmsg());
            abort();
        }
        sink += (uint64_t)rc;
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bool utf8 = valid_utf8(data, size);
    for (size_t i = 0; i < N_VOCABS; i++) {
        const vocab *v = &vocabs[i];
        run(v, data, size, false, false, utf8);
        run(v, data, size, false, true, utf8);
        if (ll_tok_kind(v->tok) == LL_TOK_SPM) run(v, data, size, true, true, utf8);
    }
    return 0;
}
