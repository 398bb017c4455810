/* fuzz_tokbin.c — libFuzzer target for the llama2.c tokenizer.bin reader.
 *
 * Input layout: bytes 0-1 (little-endian) give n_vocab = 1 + (value % 600); byte 2 gives the length L of
 * a text, taken from the next L bytes (fewer if the input ends); the remaining bytes are the
 * tokenizer.bin file, written to a memfd and read through /proc/self/fd/N.
 *
 * When the vocabulary loads: every piece is looked up and rendered with ll_token_to_text; a fixed text
 * and the input's text are tokenized with and without BOS and special-token parsing (which must always
 * succeed: piece 0 is <unk>), the ids are detokenized (with and without special tokens rendered), and
 * every id is rendered with ll_token_to_text, also into a buffer one byte too small (which must fail
 * without writing past it). A failure must leave a non-empty, one-line message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tokenizer/tokenizer.h"
#include "util/err.h"

static int mfd = -1;
static char mpath[64];
static volatile uint64_t sink;

static void put_file(const uint8_t *data, size_t size) {
    if (mfd < 0) {
        mfd = memfd_create("fuzz-tokbin", 0);
        if (mfd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(mpath, sizeof mpath, "/proc/self/fd/%d", mfd);
    }
    if (ftruncate(mfd, 0) != 0) abort();
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(mfd, data + done, size - done, (off_t)done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
}

static void check_error(const char *what) {
    const char *m = ll_errmsg();
    if (!m[0] || strchr(m, '\n')) {
        fprintf(stderr, "%s: bad error message: '%s'\n", what, m);
        abort();
    }
}

/* ll_token_to_text of id after prev: fits in piece length + 1, and a buffer one byte smaller is refused
 * without being written past. */
static void check_token_text(const ll_tokenizer *t, int32_t prev, int32_t id) {
    size_t plen;
    if (!ll_tok_piece(t, id, &plen)) abort();
    char *buf = malloc(plen + 1);
    if (!buf) abort();
    int rc = ll_token_to_text(t, prev, id, buf, plen + 1);
    if (rc < 0 || (size_t)rc > plen || buf[rc] != 0) {
        fprintf(stderr, "ll_token_to_text(prev %d, id %d) = %d for a piece of %zu bytes: %s\n", prev, id, rc,
                plen, rc < 0 ? ll_errmsg() : "");
        abort();
    }
    sink += (uint64_t)rc;
    free(buf);
    char *small = malloc((size_t)rc + 1);
    if (!small) abort();
    ll_clear_error();
    if (ll_token_to_text(t, prev, id, small, (size_t)rc) != -1) {
        fprintf(stderr, "ll_token_to_text(id %d) accepted a buffer of %d bytes for %d bytes of text\n", id, rc, rc);
        abort();
    }
    check_error("ll_token_to_text (small buffer)");
    free(small);
}

static void check_detok(const ll_tokenizer *t, const int32_t *ids, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t plen;
        if (!ll_tok_piece(t, ids[i], &plen)) abort();
        total += plen;
    }
    for (int rs = 0; rs < 2; rs++) {
        size_t len = (size_t)-1;
        char *s = ll_detokenize(t, ids, n, rs, &len);
        if (!s || len > total || s[len] != 0) {
            fprintf(stderr, "ll_detokenize(%zu ids, render_special %d): %s, %zu bytes of at most %zu\n", n, rs,
                    s ? "ok" : ll_errmsg(), len, total);
            abort();
        }
        sink += len;
        free(s);
    }
}

static void check_text(const ll_tokenizer *t, const char *text, size_t len) {
    int32_t V = ll_tok_n_vocab(t), bos = ll_tok_bos(t);
    for (int mode = 0; mode < 4; mode++) {
        bool add_bos = mode & 1, special = mode & 2;
        if (add_bos && bos < 0) continue;
        int32_t *ids;
        size_t n;
        if (ll_tokenize(t, text, len, add_bos, special, &ids, &n) != 0) {
            fprintf(stderr, "ll_tokenize(%zu bytes, bos %d, special %d) failed: %s\n", len, add_bos, special,
                    ll_errmsg());
            abort();
        }
        if (add_bos && (n < 1 || ids[0] != bos)) abort();
        for (size_t i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= V) {
                fprintf(stderr, "ll_tokenize produced id %d (vocabulary of %d)\n", ids[i], V);
                abort();
            }
        }
        check_detok(t, ids, n);
        for (size_t i = 0; i < n; i++) check_token_text(t, i ? ids[i - 1] : -1, ids[i]);
        free(ids);
    }
}

static const char FIXED[] =
    "Once upon a time, there was a little girl named Lily. <s>Hi</s> <unk> \xe2\x96\x81x  y\n\t"
    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 <0x41> \x80\xff\xc3";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int32_t n_vocab = 1 + (int32_t)((data[0] | (unsigned)data[1] << 8) % 600);
    size_t tl = data[2] < size - 3 ? data[2] : size - 3;
    const char *text = (const char *)data + 3;
    put_file(data + 3 + tl, size - 3 - tl);

    ll_clear_error();
    ll_tokenizer *t = ll_tokenizer_from_llama2c(mpath, n_vocab);
    if (!t) {
        check_error("ll_tokenizer_from_llama2c");
        return 0;
    }
    if (ll_tok_n_vocab(t) != n_vocab || ll_tok_kind(t) != LL_TOK_SPM) abort();
    int32_t bos = ll_tok_bos(t);
    for (int32_t id = 0; id < n_vocab; id++) {
        size_t plen;
        const char *p = ll_tok_piece(t, id, &plen);
        if (!p || p[plen] != 0) abort();
        int type = ll_tok_type(t, id);
        if (type < 0 || type > 6) abort();
        /* non-empty pieces are unique, so looking one up finds it (ll_tok_find takes a C string) */
        if (plen && !memchr(p, 0, plen) && ll_tok_find(t, p) != id) {
            fprintf(stderr, "ll_tok_find(piece of %d) = %d\n", id, ll_tok_find(t, p));
            abort();
        }
        sink += (uint64_t)(ll_tok_score(t, id) > 0) + (uint64_t)ll_tok_is_eog(t, id);
        check_token_text(t, bos, id);
    }
    ll_clear_error();
    char b[8];
    if (ll_token_to_text(t, -1, n_vocab, b, sizeof b) != -1 || ll_token_to_text(t, -1, -1, b, sizeof b) != -1) abort();
    check_error("ll_token_to_text (out of range)");

    /* every id once, in order */
    int32_t *all = malloc((size_t)n_vocab * sizeof *all);
    if (!all) abort();
    for (int32_t id = 0; id < n_vocab; id++) all[id] = id;
    check_detok(t, all, (size_t)n_vocab);
    free(all);

    check_text(t, FIXED, sizeof FIXED - 1);
    check_text(t, text, tl);
    ll_tokenizer_free(t);
    return 0;
}
