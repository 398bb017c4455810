/* test_tokenizer.c — the tokenizers against llama.cpp's test vectors, llama2.c's encode, special tokens,
 * round trips and malformed vocabularies.
 *
 * Test vectors: $SHARED/tokenizer-tests/ggml-vocab-NAME.gguf{,.inp,.out}, read as llama.cpp's
 * test-tokenizer-0 reads them: the .inp file is cut at every "\n__ggml_vocab_test__\n" (so the newline
 * before a separator belongs to the separator, and the file's final separator leaves no empty string
 * after it); the .out file has one line of ids per string. Each string is tokenized with add_bos=false
 * and parse_special=false (test-tokenizer-0 calls common_tokenize(ctx, text, add_special=false,
 * parse_special=false)) and must give exactly those ids.
 *
 * Round trips: detokenize(tokenize(s)) == s is checked for every string of every vocabulary; none is
 * excluded. It holds because (a) SPM: every character outside the vocabulary falls back to byte pieces
 * <0xXX>, and the dummy-prefix space is removed again; (b) BPE: every byte has a piece through the
 * GPT-2 byte map; (c) layerlab's detokenize does not apply llama.cpp's clean_up_tokenization_spaces pass
 * (which would turn " ," into "," for gpt-2/starcoder and break e.g. "Hello , world"). A vocabulary
 * without byte pieces (where <unk> replaces unknown characters) could not round-trip; none is tested.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

static char g_shared[4096];
static char g_tmpdir[4096];

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (n == cap) b = realloc(b, (cap *= 2) + 1);
        size_t got = fread(b + n, 1, cap - n, f);
        if (!got) break;
        n += got;
    }
    fclose(f);
    b[n] = 0;
    *len = n;
    return b;
}

static void print_escaped(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7F) fprintf(f, "\\x%02X", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_ids(FILE *f, const int32_t *ids, size_t n) {
    fputc('[', f);
    for (size_t i = 0; i < n; i++) fprintf(f, i ? " %d" : "%d", ids[i]);
    fputc(']', f);
}

static bool same_ids(const int32_t *a, size_t an, const int32_t *b, size_t bn) {
    return an == bn && (an == 0 || !memcmp(a, b, an * sizeof *a));
}

/* tokenize (no BOS, no special parsing) and compare; prints a mismatch. Returns true if equal. */
static bool expect_ids(const ll_tokenizer *t, const char *what, const char *s, size_t n, const int32_t *want,
                       size_t nwant, bool add_bos, bool special) {
    int32_t *ids;
    size_t nids;
    if (ll_tokenize(t, s, n, add_bos, special, &ids, &nids)) {
        fprintf(stderr, "%s: tokenize failed for ", what);
        print_escaped(stderr, s, n);
        fprintf(stderr, ": %s\n", ll_errmsg());
        return false;
    }
    bool ok = same_ids(ids, nids, want, nwant);
    if (!ok) {
        fprintf(stderr, "%s: mismatch for ", what);
        print_escaped(stderr, s, n);
        fprintf(stderr, "\n  expected ");
        print_ids(stderr, want, nwant);
        fprintf(stderr, "\n  got      ");
        print_ids(stderr, ids, nids);
        fputc('\n', stderr);
    }
    free(ids);
    return ok;
}

static bool round_trip(const ll_tokenizer *t, const char *what, const char *s, size_t n) {
    int32_t *ids;
    size_t nids, dl;
    if (ll_tokenize(t, s, n, false, false, &ids, &nids)) return false;
    char *d = ll_detokenize(t, ids, nids, false, &dl);
    bool ok = d && dl == n && !memcmp(d, s, n);
    if (!ok) {
        fprintf(stderr, "%s: round trip of ", what);
        print_escaped(stderr, s, n);
        fprintf(stderr, " gave ");
        if (d) print_escaped(stderr, d, dl);
        else fprintf(stderr, "an error: %s", ll_errmsg());
        fputc('\n', stderr);
    }
    free(d);
    free(ids);
    return ok;
}

static ll_gguf *open_vocab(const char *name) {
    char path[8192];
    snprintf(path, sizeof path, "%s/tokenizer-tests/ggml-vocab-%s.gguf", g_shared, name);
    ll_gguf *g = ll_gguf_open(path);
    CHECK(g != NULL, "open %s: %s", path, ll_errmsg());
    return g;
}

/* ---- llama.cpp's test vectors ---- */
static void test_vectors(const char *name, int kind) {
    char path[8192];
    ll_gguf *g = open_vocab(name);
    if (!g) return;
    ll_tokenizer *t = ll_tokenizer_from_gguf(g);
    CHECK(t != NULL, "%s: tokenizer: %s", name, ll_errmsg());
    if (!t) {
        ll_gguf_close(g);
        return;
    }
    CHECK(ll_tok_kind(t) == kind, "%s: kind %d", name, ll_tok_kind(t));

    size_t inl, outl;
    snprintf(path, sizeof path, "%s/tokenizer-tests/ggml-vocab-%s.gguf.inp", g_shared, name);
    char *inp = read_file(path, &inl);
    snprintf(path, sizeof path, "%s/tokenizer-tests/ggml-vocab-%s.gguf.out", g_shared, name);
    char *out = read_file(path, &outl);
    CHECK(inp && out, "%s: cannot read the .inp/.out files", name);
    if (!inp || !out) goto done;

    static const char SEP[] = "\n__ggml_vocab_test__\n";
    const size_t seplen = sizeof SEP - 1;
    size_t ipos = 0, opos = 0;
    int n_cases = 0, n_exact = 0, n_rt = 0;
    while (ipos < inl) {
        const char *next = memmem(inp + ipos, inl - ipos, SEP, seplen);
        size_t slen = next ? (size_t)(next - (inp + ipos)) : inl - ipos;
        const char *s = inp + ipos;
        ipos = next ? ipos + slen + seplen : inl;

        /* the matching .out line */
        CHECK(opos < outl, "%s: .out has fewer lines than .inp has strings", name);
        if (opos >= outl) break;
        const char *eol = memchr(out + opos, '\n', outl - opos);
        size_t llen = eol ? (size_t)(eol - (out + opos)) : outl - opos;
        int32_t want[1024];
        size_t nwant = 0;
        const char *p = out + opos, *e = out + opos + llen;
        while (p < e) {
            char *q;
            long v = strtol(p, &q, 10);
            if (q == p) break;
            if (nwant < 1024) want[nwant++] = (int32_t)v;
            p = q;
        }
        opos = eol ? opos + llen + 1 : outl;

        n_cases++;
        bool ok = expect_ids(t, name, s, slen, want, nwant, false, false);
        n_exact += ok;
        CHECK(ok, "%s: test string %d", name, n_cases);
        if (kind != LL_TOK_WPM) {   /* WordPiece lower-cases, strips accents and drops spacing: no round trip */
            bool rt = round_trip(t, name, s, slen);
            n_rt += rt;
            CHECK(rt, "%s: round trip of test string %d", name, n_cases);
        }
    }
    CHECK(opos >= outl, "%s: .out has more lines than .inp has strings", name);
    CHECK(n_cases > 40, "%s: only %d test strings found", name, n_cases);
    printf("%s: %d/%d exact, %d/%d round trips\n", name, n_exact, n_cases, n_rt, n_cases);
done:
    free(inp);
    free(out);
    ll_tokenizer_free(t);
    ll_gguf_close(g);
}

/* ---- WordPiece against Hugging Face's tokenizers (BertNormalizer + BertPreTokenizer + WordPiece) ----
 * tests/ref/wpm_bert_bge.json (scripts/ref_wpm.py): ids for the strings of tests/data/wpm_strings.txt (accents,
 * CJK, Hangul, control and zero-width characters, full-width forms, long words, ...) and for the first 100
 * sentences of SST-2's dev set, on llama.cpp's bert-bge vocabulary. Every case must match exactly. */
static char *wpm_unescape(const char *s, size_t *n) {
    size_t l = strlen(s), k = 0;
    char *o = malloc(l + 1);
    for (size_t i = 0; i < l; i++) {
        if (s[i] == '\\' && i + 1 < l && strchr("ntr\\0", s[i + 1])) {
            char c = s[++i];
            o[k++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == '0' ? '\0' : '\\';
        } else {
            o[k++] = s[i];
        }
    }
    *n = k;
    return o;
}

static void test_wpm_ref(ll_tokenizer *t, const char *label) {
    char path[8192];
    const char *src = getenv("SRC");
    snprintf(path, sizeof path, "%s/tests/ref/wpm_bert_bge.json", src ? src : ".");
    size_t jl;
    char *js = read_file(path, &jl);
    CHECK(js != NULL, "cannot read %s", path);
    snprintf(path, sizeof path, "%s/data/sst2_dev.tsv", g_shared);
    size_t sl;
    char *sst = read_file(path, &sl);
    CHECK(sst != NULL, "cannot read %s", path);
    cJSON *root = js ? cJSON_Parse(js) : NULL;
    CHECK(root != NULL, "wpm reference: not JSON");
    if (!js || !sst || !t || !root) goto done;
    /* the SST-2 sentences, by line number (header = line 1) */
    char **lines = NULL;
    size_t nlines = 0;
    for (char *p = sst; p < sst + sl;) {
        char *e = memchr(p, '\n', (size_t)(sst + sl - p));
        if (!e) e = sst + sl;
        *e = 0;
        char *tab = strchr(p, '\t');
        if (tab) *tab = 0;
        lines = realloc(lines, (nlines + 1) * sizeof *lines);
        lines[nlines++] = p;
        p = e + 1;
    }
    int n = 0, ok = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        const cJSON *ids = cJSON_GetObjectItem(c, "ids"), *src_ = cJSON_GetObjectItem(c, "source");
        size_t len;
        char *text;
        if (!strcmp(src_->valuestring, "sst2")) {
            int line = cJSON_GetObjectItem(c, "line")->valueint;
            if (line < 1 || (size_t)line > nlines) continue;
            text = strdup(lines[line - 1]);
            len = strlen(text);
        } else {
            text = wpm_unescape(cJSON_GetObjectItem(c, "text")->valuestring, &len);
        }
        int32_t want[512];
        size_t nw = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, ids) if (nw < 512) want[nw++] = v->valueint;
        n++;
        bool good = expect_ids(t, "wpm", text, len, want, nw, false, false);
        ok += good;
        CHECK(good, "%s: wpm reference case %d (%s)", label, n, src_->valuestring);
        free(text);
    }
    CHECK(n >= 130, "wpm reference: only %d cases", n);
    printf("%s against tokenizers: %d/%d exact\n", label, ok, n);
    free(lines);
done:
    cJSON_Delete(root);
    free(js);
    free(sst);
}

/* The same references through llama.cpp's GGUF vocabulary and through all-MiniLM-L6-v2's tokenizer.json (the
 * same bert-base-uncased vocabulary; scripts/setup-test.sh puts it in .cache/models), and tokenizer.json files
 * that must be refused with a message naming what is wrong. */
static void test_wpm(void) {
    ll_gguf *g = open_vocab("bert-bge");
    ll_tokenizer *t = g ? ll_tokenizer_from_gguf(g) : NULL;
    if (t) test_wpm_ref(t, "bert-bge (GGUF)");
    ll_tokenizer_free(t);
    ll_gguf_close(g);

    char path[8192];
    const char *src = getenv("SRC");
    snprintf(path, sizeof path, "%s/.cache/models/all-MiniLM-L6-v2/tokenizer.json", src ? src : ".");
    if (access(path, R_OK) == 0) {
        t = ll_tokenizer_from_hf_json(path);
        CHECK(t != NULL, "MiniLM tokenizer.json: %s", ll_errmsg());
        if (t) {
            CHECK(ll_tok_kind(t) == LL_TOK_WPM && ll_tok_n_vocab(t) == 30522 && ll_tok_bos(t) == 101 &&
                      ll_tok_eos(t) == 102, "MiniLM: kind, size, [CLS], [SEP]");
            int32_t *ids;
            size_t n;
            CHECK(ll_tokenize(t, "[CLS] hi [SEP]", 14, false, true, &ids, &n) == 0 && n == 3 && ids[0] == 101 &&
                      ids[2] == 102, "MiniLM: special tokens parsed");
            free(ids);
            test_wpm_ref(t, "all-MiniLM-L6-v2 (tokenizer.json)");
        }
        ll_tokenizer_free(t);
    } else {
        printf("skip: %s missing (scripts/setup-test.sh fetches it)\n", path);
    }

    static const struct { const char *json, *msg; } bad[] = {
        {"{", "not valid JSON"},
        {"{\"model\": {\"type\": \"BPE\"}}", "'BPE' is not supported"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "non-empty object"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"b\": 2}}}", "ids must be 0..n-1"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"b\": -1}}}", "is not a token id"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"b\": 0}}}", "ids must be 0..n-1"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"[UNK]\": 1}}, \"pre_tokenizer\": "
         "{\"type\": \"BertPreTokenizer\"}}", "unknown token '[UNK]' is not among added_tokens"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"[UNK]\": 1}}, \"added_tokens\": [{\"id\": 1, "
         "\"content\": \"[UNK]\"}], \"normalizer\": {\"type\": \"NFKC\"}, \"pre_tokenizer\": {\"type\": "
         "\"BertPreTokenizer\"}}", "normalizer 'NFKC'"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"[UNK]\": 1}}, \"added_tokens\": [{\"id\": 7, "
         "\"content\": \"[UNK]\"}]}", "no id in 0..1"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"[UNK]\": 1}}, \"added_tokens\": [{\"id\": 1, "
         "\"content\": \"[UNK]\"}], \"pre_tokenizer\": {\"type\": \"Whitespace\"}}", "pre_tokenizer 'Whitespace'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "%s/ll_wpm_bad_%d.json", g_tmpdir, (int)getpid());
        FILE *f = fopen(path, "w");
        fputs(bad[i].json, f);
        fclose(f);
        t = ll_tokenizer_from_hf_json(path);
        CHECK(t == NULL && strstr(ll_errmsg(), bad[i].msg), "bad tokenizer.json %d: expected '%s', got %s", (int)i,
              bad[i].msg, t ? "a tokenizer" : ll_errmsg());
        ll_tokenizer_free(t);
        unlink(path);
    }
}

/* ---- special tokens, BOS, decoding details on the real vocabularies ---- */
static void test_special(void) {
    ll_gguf *g = open_vocab("llama-spm");
    ll_tokenizer *t = g ? ll_tokenizer_from_gguf(g) : NULL;
    if (t) {
        CHECK(ll_tok_bos(t) == 1 && ll_tok_eos(t) == 2, "spm bos %d eos %d", ll_tok_bos(t), ll_tok_eos(t));
        CHECK(ll_tok_default_bos(t), "spm: add_bos_token is true");
        CHECK(ll_tok_is_eog(t, 2) && !ll_tok_is_eog(t, 1), "spm eog");
        CHECK(ll_tok_find(t, "<0x0A>") == 13 && ll_tok_find(t, "no such piece") == -1, "spm find");
        CHECK(ll_tok_type(t, 13) == LL_TOKTYPE_BYTE && ll_tok_type(t, 1) == LL_TOKTYPE_CONTROL, "spm types");
        /* BOS, then dummy prefix: " Hello" as one piece */
        CHECK(expect_ids(t, "spm", "Hello", 5, (int32_t[]){ 1, 15043 }, 2, true, false), "spm bos");
        /* "<s>" in the text: a control token only with parse_special; text after a special token gets
         * the dummy prefix again (as llama.cpp does) */
        CHECK(expect_ids(t, "spm", "<s>Hello", 8, (int32_t[]){ 1, 15043 }, 2, false, true), "spm <s> parsed");
        int32_t *ids;
        size_t n;
        CHECK(!ll_tokenize(t, "<s>Hello", 8, false, false, &ids, &n) && n > 2 && ids[0] != 1, "spm <s> as text");
        free(ids);
        /* detokenize: BOS prints nothing and the dummy prefix goes; with render_special the BOS shows */
        size_t dl;
        char *d = ll_detokenize(t, (int32_t[]){ 1, 15043, 3186 }, 3, false, &dl);
        CHECK(d && !strcmp(d, "Hello world"), "spm detok '%s'", d ? d : ll_errmsg());
        free(d);
        d = ll_detokenize(t, (int32_t[]){ 1, 15043 }, 2, true, NULL);
        CHECK(d && !strcmp(d, "<s> Hello"), "spm detok special '%s'", d ? d : ll_errmsg());
        free(d);
        CHECK(ll_detokenize(t, (int32_t[]){ 5, 32000 }, 2, false, NULL) == NULL, "spm detok out of range");
        /* streaming text: the space after BOS is dropped, byte pieces become bytes */
        char buf[64];
        CHECK(ll_token_to_text(t, 1, 15043, buf, sizeof buf) == 5 && !strcmp(buf, "Hello"), "stream after bos '%s'",
              buf);
        CHECK(ll_token_to_text(t, 15043, 3186, buf, sizeof buf) == 6 && !strcmp(buf, " world"), "stream '%s'", buf);
        CHECK(ll_token_to_text(t, 3186, 13, buf, sizeof buf) == 1 && !strcmp(buf, "\n"), "stream byte");
        CHECK(ll_token_to_text(t, 3186, 2, buf, sizeof buf) == 0, "stream eos prints nothing");
        CHECK(ll_token_to_text(t, 1, 15043, buf, 3) == -1, "stream small buffer");
        CHECK(ll_token_to_text(t, 1, -4, buf, sizeof buf) == -1, "stream bad id");
        ll_tokenizer_free(t);
    }
    ll_gguf_close(g);

    g = open_vocab("gpt-2");
    t = g ? ll_tokenizer_from_gguf(g) : NULL;
    if (t) {
        CHECK(!ll_tok_default_bos(t), "gpt-2: no add_bos_token key, BPE default is false");
        CHECK(ll_tok_eos(t) == 50256 && ll_tok_eot(t) == 50256, "gpt-2 eos %d eot %d", ll_tok_eos(t), ll_tok_eot(t));
        CHECK(expect_ids(t, "gpt-2", "a<|endoftext|>b", 15, (int32_t[]){ 64, 50256, 65 }, 3, false, true),
              "gpt-2 special");
        int32_t *ids;
        size_t n;
        CHECK(!ll_tokenize(t, "a<|endoftext|>b", 15, false, false, &ids, &n) && n > 3, "gpt-2 special as text");
        free(ids);
        char *d = ll_detokenize(t, (int32_t[]){ 64, 50256, 65 }, 3, false, NULL);
        CHECK(d && !strcmp(d, "ab"), "gpt-2 detok '%s'", d ? d : "");
        free(d);
        d = ll_detokenize(t, (int32_t[]){ 64, 50256, 65 }, 3, true, NULL);
        CHECK(d && !strcmp(d, "a<|endoftext|>b"), "gpt-2 detok special '%s'", d ? d : "");
        free(d);
        /* invalid UTF-8: each bad byte becomes U+FFFD, as llama.cpp decodes it (tests/check_utf8_llamacpp.py
         * compares the ids with llama.cpp itself); the replaced text round-trips */
        {
            int32_t *a = NULL, *b = NULL;
            size_t na, nb;
            const char *rep = "x\xef\xbf\xbd\xef\xbf\xbd y\xef\xbf\xbd";
            CHECK(!ll_tokenize(t, "x\xff\xfe y\xc3", 6, false, false, &a, &na) &&
                  !ll_tokenize(t, rep, strlen(rep), false, false, &b, &nb) && na == nb && !memcmp(a, b, na * sizeof *a),
                  "gpt-2 invalid utf-8 = U+FFFD");
            free(a);
            free(b);
            CHECK(round_trip(t, "gpt-2", rep, strlen(rep)), "gpt-2 U+FFFD round trip");
        }
        ll_tokenizer_free(t);
    }
    ll_gguf_close(g);

    g = open_vocab("starcoder");
    t = g ? ll_tokenizer_from_gguf(g) : NULL;
    if (t) {
        /* longest special piece first: <pr_base_code> wins over <pr_base> */
        CHECK(expect_ids(t, "starcoder", "<pr_base_code><pr_base>", 23, (int32_t[]){ 23, 21 }, 2, false, true),
              "starcoder longest first");
        CHECK(ll_tok_is_eog(t, 0), "starcoder eog");
        ll_tokenizer_free(t);
    }
    ll_gguf_close(g);
}

/* ---- llama2.c tokenizer.bin (stories260K's tok512.bin) ---- */
static void test_llama2c(void) {
    char path[8192];
    snprintf(path, sizeof path, "%s/models/tok512.bin", g_shared);
    ll_tokenizer *t = ll_tokenizer_from_llama2c(path, 512);
    CHECK(t != NULL, "tok512: %s", ll_errmsg());
    if (!t) return;
    CHECK(ll_tok_kind(t) == LL_TOK_SPM && ll_tok_n_vocab(t) == 512, "tok512 kind/size");
    CHECK(ll_tok_bos(t) == 1 && ll_tok_eos(t) == 2 && ll_tok_default_bos(t), "tok512 bos/eos");
    /* types and pieces as llama.cpp's convert-llama2c-to-ggml writes them */
    size_t pl;
    const char *p = ll_tok_piece(t, 1, &pl);
    CHECK(p && pl == 3 && !memcmp(p, "<s>", 3), "tok512 piece 1");
    CHECK(ll_tok_type(t, 0) == LL_TOKTYPE_UNKNOWN && ll_tok_type(t, 2) == LL_TOKTYPE_CONTROL &&
          ll_tok_type(t, 3) == LL_TOKTYPE_BYTE && ll_tok_type(t, 258) == LL_TOKTYPE_BYTE &&
          ll_tok_type(t, 259) == LL_TOKTYPE_NORMAL, "tok512 types");
    p = ll_tok_piece(t, 259, &pl);
    CHECK(p && pl == 4 && !memcmp(p, "\xe2\x96\x81t", 4), "tok512 piece 259 ' t' written with U+2581");

    /* Expected ids: from scripts/llama2c_tokenize_ref.py (an independent Python re-implementation of
     * run.c's encode, which adds BOS on request and the dummy prefix " " only to non-empty text):
     *   python3 scripts/llama2c_tokenize_ref.py ../shared/models/tok512.bin 512 [--bos] --escapes TEXT...
     * (its output for these strings is copied below). The last case has a literal
     * U+2581 in the text, which run.c keeps distinct from a space (byte fallback), unlike SentencePiece
     * and llama.cpp; llama2.c vocabularies follow run.c. */
    static const struct { const char *text; bool bos; int32_t ids[24]; int n; } cases[] = {
        { "Once upon a time", true, { 1, 403, 407, 261, 378 }, 5 },
        { "Once upon a time", false, { 403, 407, 261, 378 }, 4 },
        { "", false, { 0 }, 0 },
        { "", true, { 1 }, 1 },
        { " ", false, { 410, 410 }, 2 },
        { "Hello world", false, { 346, 306, 414, 263, 304, 341 }, 6 },
        { "Lily's big, red ball!", false, { 317, 439, 419, 370, 432, 352, 266, 268, 388, 443 }, 10 },
        { "caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x80\x94 na\xc3\xafve 123", false,
          { 280, 412, 431, 485, 410, 465, 456, 425, 309, 266, 466, 410, 481, 297, 412, 198, 178, 360, 410, 475, 479,
            472 }, 22 },
        { "  two  spaces", false, { 410, 410, 259, 424, 414, 410, 262, 427, 412, 331, 419 }, 11 },
        { "line\nbreak\ttab", false, { 278, 271, 411, 13, 430, 276, 412, 433, 12, 413, 412, 430 }, 12 },
        { "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\xa6\x99", false,
          { 410, 233, 154, 168, 233, 159, 175, 410, 243, 162, 169, 156 }, 12 },
        { "a\xe2\x96\x81" "b \xe2\x96\x81", false, { 261, 229, 153, 132, 430, 410, 229, 153, 132 }, 9 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK(expect_ids(t, "tok512", cases[i].text, strlen(cases[i].text), cases[i].ids, (size_t)cases[i].n,
                         cases[i].bos, false), "tok512 case %zu", i);
        CHECK(round_trip(t, "tok512", cases[i].text, strlen(cases[i].text)), "tok512 round trip %zu", i);
    }
    /* the reference continuation from shared/README.md round-trips */
    const char *story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
                        "One day, she saw a big, red ball. She wanted to play with it, but it was too high.";
    CHECK(round_trip(t, "tok512", story, strlen(story)), "tok512 story");
    /* streaming decode, run.c's rule: after BOS the leading space goes; byte pieces are raw bytes */
    char buf[32];
    CHECK(ll_token_to_text(t, 1, 403, buf, sizeof buf) == 4 && !strcmp(buf, "Once"), "tok512 stream '%s'", buf);
    CHECK(ll_token_to_text(t, 403, 407, buf, sizeof buf) == 5 && !strcmp(buf, " upon"), "tok512 stream2 '%s'", buf);
    CHECK(ll_token_to_text(t, 403, 13, buf, sizeof buf) == 1 && buf[0] == '\n', "tok512 stream byte");
    ll_tokenizer_free(t);

    /* the wrong vocabulary size is an error, not a crash */
    CHECK(ll_tokenizer_from_llama2c(path, 513) == NULL && strstr(ll_errmsg(), "513"), "n_vocab 513: %s", ll_errmsg());
    CHECK(ll_tokenizer_from_llama2c(path, 500) == NULL && strstr(ll_errmsg(), "follow"), "n_vocab 500: %s",
          ll_errmsg());
    CHECK(ll_tokenizer_from_llama2c(path, 0) == NULL, "n_vocab 0");
    CHECK(ll_tokenizer_from_llama2c("/nonexistent/tok.bin", 512) == NULL, "missing file");
}

/* ---- malformed llama2.c files ---- */
static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

static void test_llama2c_malformed(void) {
    char path[8192];
    snprintf(path, sizeof path, "%s/tok_bad_%d.bin", g_tmpdir, (int)getpid());
    unsigned char b[64];
    memset(b, 0, sizeof b);
    write_bytes(path, b, 2);
    CHECK(!ll_tokenizer_from_llama2c(path, 1), "2-byte file");
    /* one piece with a negative length */
    int32_t hdr[3] = { 4, 0, -5 };
    memcpy(b, hdr, sizeof hdr);
    write_bytes(path, b, 12);
    CHECK(!ll_tokenizer_from_llama2c(path, 1) && strstr(ll_errmsg(), "length -5"), "negative length: %s", ll_errmsg());
    /* a length past the end */
    hdr[2] = 1000;
    memcpy(b, hdr, sizeof hdr);
    write_bytes(path, b, 16);
    CHECK(!ll_tokenizer_from_llama2c(path, 1), "long length");
    /* two pieces with the same text */
    int32_t two[] = { 1, 0, 1, 0, 1, 0, 1, 0, 1 };
    memcpy(b, two, 4);
    int at = 4;
    for (int i = 0; i < 5; i++) {
        memcpy(b + at, &two[1], 4), memcpy(b + at + 4, &two[2], 4), b[at + 8] = 'x';
        at += 9;
    }
    write_bytes(path, b, (size_t)at);
    CHECK(!ll_tokenizer_from_llama2c(path, 5) && strstr(ll_errmsg(), "duplicate"), "duplicate: %s", ll_errmsg());
    unlink(path);
}

/* ---- malformed and minimal GGUF vocabularies ---- */
enum { M_OK, M_SCORES_SHORT, M_TYPES_SHORT, M_TYPE_BAD, M_BOS_RANGE, M_MERGE_NOSPACE, M_MODEL, M_PRE, M_NO_TOKENS,
       M_DUP, M_BYTE_BAD, M_SCORES_TYPE, M_NO_MERGES, M_SPM_NO_SCORES };

/* A tiny BPE (or SPM) vocabulary with one defect; returns the tokenizer (NULL with error set). */
static ll_tokenizer *tiny_vocab(int defect, bool spm) {
    static const char *const toks[] = { "<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "b", "ab",
                                        "\xc4\xa0", ("\xc4\xa0" "ab"), "c" };
    const uint64_t n = sizeof toks / sizeof *toks;
    const char *tk[16];
    for (uint64_t i = 0; i < n; i++) tk[i] = toks[i];
    if (defect == M_DUP) tk[8] = "a";
    if (defect == M_BYTE_BAD) tk[8] = "<0xZZ>";
    int32_t types[16];
    for (uint64_t i = 0; i < n; i++) types[i] = i < 3 ? LL_TOKTYPE_CONTROL : LL_TOKTYPE_NORMAL;
    if (defect == M_TYPE_BAD) types[4] = 9;
    if (defect == M_BYTE_BAD) types[8] = LL_TOKTYPE_BYTE;
    float scores[16] = { 0 };
    for (uint64_t i = 0; i < n; i++) scores[i] = -(float)i;
    const char *merges[] = { "a b", "\xc4\xa0 ab" };

    ll_gguf_writer *w = ll_gguf_writer_new();
    ll_gguf_writer_set_str(w, "general.architecture", "llama");
    if (defect != M_MODEL) ll_gguf_writer_set_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
    else ll_gguf_writer_set_str(w, "tokenizer.ggml.model", "t5");
    if (defect == M_PRE) ll_gguf_writer_set_str(w, "tokenizer.ggml.pre", "qwen2");
    if (defect != M_NO_TOKENS) ll_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tk, NULL, n);
    if (defect == M_SCORES_TYPE) ll_gguf_writer_set_arr(w, "tokenizer.ggml.scores", LL_GGUF_UINT8, types, n);
    else if (defect != M_SPM_NO_SCORES)
        ll_gguf_writer_set_arr(w, "tokenizer.ggml.scores", LL_GGUF_FLOAT32, scores,
                               defect == M_SCORES_SHORT ? n - 1 : n);
    ll_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LL_GGUF_INT32, types, defect == M_TYPES_SHORT ? n - 2 : n);
    if (defect == M_MERGE_NOSPACE) merges[1] = "abc";
    if (defect != M_NO_MERGES) ll_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, NULL, 2);
    ll_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", defect == M_BOS_RANGE ? 9 : 1);
    ll_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 0);
    char path[8192];
    snprintf(path, sizeof path, "%s/tok_tiny_%d.gguf", g_tmpdir, (int)getpid());
    ll_tokenizer *t = NULL;
    if (ll_gguf_writer_write(w, path) == 0) {
        ll_gguf *g = ll_gguf_open(path);
        if (g) {
            t = ll_tokenizer_from_gguf(g);
            ll_gguf_close(g);   /* the tokenizer keeps its own copies */
        }
    } else {
        fprintf(stderr, "cannot write %s: %s\n", path, ll_errmsg());
    }
    unlink(path);
    ll_gguf_writer_free(w);
    return t;
}

static void test_gguf_vocabs(void) {
    ll_tokenizer *t = tiny_vocab(M_OK, false);
    CHECK(t != NULL, "tiny ok: %s", ll_errmsg());
    if (t) {
        /* no eot key: ChatML's <|im_end|> is found */
        CHECK(ll_tok_eot(t) == 2 && ll_tok_is_eog(t, 2) && ll_tok_is_eog(t, 0), "tiny eot %d", ll_tok_eot(t));
        CHECK(expect_ids(t, "tiny", "ab ab", 5, (int32_t[]){ 5, 7 }, 2, false, false), "tiny merges");
        CHECK(expect_ids(t, "tiny", "<|im_start|>ab<|im_end|>", 24, (int32_t[]){ 1, 5, 2 }, 3, false, true),
              "tiny chatml");
        /* a character with no piece and no <unk>: an error, not a crash */
        int32_t *ids;
        size_t n;
        CHECK(ll_tokenize(t, "z", 1, false, false, &ids, &n) == -1 && strstr(ll_errmsg(), "0x7A"), "tiny no piece: %s",
              ll_errmsg());
        ll_tokenizer_free(t);
    }
    t = tiny_vocab(M_OK, true);
    CHECK(t != NULL, "tiny spm ok: %s", ll_errmsg());
    if (t) {
        /* SPM without byte pieces: <unk> (here: the default unknown id 0) */
        CHECK(expect_ids(t, "tiny spm", "ab", 2, (int32_t[]){ 0, 5 }, 2, false, false), "tiny spm unk");
        ll_tokenizer_free(t);
    }
    static const struct { int defect; bool spm; const char *msg; } bad[] = {
        { M_SCORES_SHORT, false, "scores has 8" },
        { M_TYPES_SHORT, false, "token_type has 7" },
        { M_TYPE_BAD, false, "token_type[4] = 9" },
        { M_BOS_RANGE, false, "bos_token_id = 9" },
        { M_MERGE_NOSPACE, false, "merges[1]" },
        { M_MODEL, false, "'t5'" },
        { M_PRE, false, "'qwen2'" },
        { M_NO_TOKENS, false, "tokens is missing" },
        { M_DUP, false, "duplicate piece 'a'" },
        { M_BYTE_BAD, false, "<0xZZ>" },
        { M_SCORES_TYPE, false, "uint8" },
        { M_NO_MERGES, false, "merges is missing" },
        { M_SPM_NO_SCORES, true, "scores is missing" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t = tiny_vocab(bad[i].defect, bad[i].spm);
        CHECK(t == NULL && strstr(ll_errmsg(), bad[i].msg), "defect %d: expected an error with '%s', got %s",
              bad[i].defect, bad[i].msg, t ? "a tokenizer" : ll_errmsg());
        ll_tokenizer_free(t);
    }
}

int main(void) {
    const char *sh = getenv("SHARED"), *src = getenv("SRC"), *tmp = getenv("BUILD");
    if (sh) snprintf(g_shared, sizeof g_shared, "%s", sh);
    else if (src) snprintf(g_shared, sizeof g_shared, "%s/../shared", src);
    else snprintf(g_shared, sizeof g_shared, "../shared");
    snprintf(g_tmpdir, sizeof g_tmpdir, "%s", tmp ? tmp : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"));

    test_vectors("llama-spm", LL_TOK_SPM);
    test_vectors("gpt-2", LL_TOK_BPE);
    test_vectors("starcoder", LL_TOK_BPE);
    test_vectors("bert-bge", LL_TOK_WPM);
    test_wpm();
    test_special();
    test_llama2c();
    test_llama2c_malformed();
    test_gguf_vocabs();
    return CHECK_DONE();
}
