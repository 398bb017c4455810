/* test_eval_unit.c — the pieces of `layerlab eval` that need no model, against values CPython 3.11
 * printed (random.Random(...).sample/random/choices/getrandbits/_randbelow; re.findall + the gsm8k
 * filters and regexes_to_ignore; hellaswag's preprocess; str.rstrip / len). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eval/eval.h"

static void check_str(char *got, const char *want, const char *what) {
    CHECK(got && !strcmp(got, want), "%s: got '%s', want '%s'", what, got ? got : "(null)", want);
    free(got);
}

int main(void) {
    ll_pyrng r;
    /* random.Random(1234): three calls of sample(range(7473), 5) — gsm8k's first three items */
    static const int want3[3][5] = {{6374, 3610, 957, 61, 742}, {7462, 6610, 4769, 286, 5501}, {5677, 687, 806, 6279, 2905}};
    ll_pyrng_seed(&r, 1234);
    for (int i = 0; i < 3; i++) {
        int got[5];
        CHECK(ll_pyrng_sample(&r, 7473, 5, got) == 0, "sample");
        for (int k = 0; k < 5; k++) CHECK(got[k] == want3[i][k], "sample %d[%d]: %d vs %d", i, k, got[k], want3[i][k]);
    }
    /* the pool branch (small populations) and k > 5: Random(7).sample(range(10), 6), (range(30), 8), (range(100), 3) */
    ll_pyrng_seed(&r, 7);
    int a[8];
    static const int w10[6] = {5, 2, 6, 9, 0, 7}, w30[8] = {26, 17, 3, 11, 18, 1, 16, 6}, w100[3] = {4, 11, 55};
    ll_pyrng_sample(&r, 10, 6, a);
    for (int k = 0; k < 6; k++) CHECK(a[k] == w10[k], "sample(10, 6)[%d] = %d, want %d", k, a[k], w10[k]);
    ll_pyrng_sample(&r, 30, 8, a);
    for (int k = 0; k < 8; k++) CHECK(a[k] == w30[k], "sample(30, 8)[%d] = %d, want %d", k, a[k], w30[k]);
    ll_pyrng_sample(&r, 100, 3, a);
    for (int k = 0; k < 3; k++) CHECK(a[k] == w100[k], "sample(100, 3)[%d] = %d, want %d", k, a[k], w100[k]);
    CHECK(ll_pyrng_sample(&r, 3, 4, a) != 0, "k > n is an error");
    /* Random(0): random(), random(), choices(range(5), k=10) — the bootstrap's draws */
    ll_pyrng_seed(&r, 0);
    CHECK(ll_pyrng_random(&r) == 0.8444218515250481, "random() #1");
    CHECK(ll_pyrng_random(&r) == 0.7579544029403025, "random() #2");
    static const int wc[10] = {2, 1, 2, 2, 3, 1, 2, 2, 4, 2};
    for (int k = 0; k < 10; k++) {
        int c = ll_pyrng_choice_index(&r, 5);
        CHECK(c == wc[k], "choices[%d] = %d, want %d", k, c, wc[k]);
    }
    /* a seed of two 32-bit words */
    ll_pyrng_seed(&r, (1ULL << 40) + 5);
    CHECK(ll_pyrng_u32(&r) == 2166296868u, "getrandbits(32) after seed 2**40+5");
    CHECK(ll_pyrng_randbelow(&r, 1000) == 529, "_randbelow(1000)");

    /* gsm8k: strict / flexible extraction, then regexes_to_ignore + lower() */
    static const char *const resp[][4] = {
        {"The answer is $1,234.50.\n#### 1,234.5", "1,234.5", "1,234.5", "1234.5"},
        {"no numbers here", "[invalid]", "[invalid]", "no numbers here"},
        {"x 12 and -3 and 7. #### -3.", "-3.", "-3.", "-3"},
        {"So 5+5=10.\n#### 10\n\nQuestion", "10", "10", "10\n\nquestion"},
        {"#### $18.", "[invalid]", "$18.", "18"},
        {"It costs $5 and then 3", "[invalid]", "3", "it costs 5 and then 3"},
        {"A.\n", "[invalid]", "[invalid]", "a\n"},
    };
    for (size_t i = 0; i < sizeof resp / sizeof *resp; i++) {
        check_str(ll_gsm8k_strict(resp[i][0]), resp[i][1], "strict-match");
        check_str(ll_gsm8k_flexible(resp[i][0]), resp[i][2], "flexible-extract");
        check_str(ll_gsm8k_normalize(resp[i][0]), resp[i][3], "normalize");
    }

    /* hellaswag preprocess */
    check_str(ll_hellaswag_preprocess("  A [title] B [x] c   d [unclosed "), "A. B c  d [unclosed", "preprocess 1");
    check_str(ll_hellaswag_preprocess("Visit [www.a.org] to  find [a | b]."), "Visit to find .", "preprocess 2");
    check_str(ll_hellaswag_preprocess("\xc2\xa0x [title]\xe3\x80\x80"), "x. ", "preprocess 3 (Unicode strip)");

    /* Python len() and rstrip() */
    CHECK(ll_utf8_len("caf\xc3\xa9 \xe2\x82\xac") == 6, "len in code points");
    CHECK(ll_py_rstrip_len("ab \n\t\xe2\x80\x83", 8) == 2, "rstrip of ASCII and U+2003");
    CHECK(ll_py_rstrip_len("ab\xc3\xa9", 4) == 4, "rstrip keeps a non-space multibyte char");
    CHECK(ll_py_lstrip_off("\xc2\x85 x", 4) == 3, "lstrip of U+0085 and a space");

    /* aggregation: lm-eval's mean / sample_stddev / mean_stderr */
    double x[5] = {1, 0, 1, 1, 1};
    CHECK(ll_mean_stderr(x, 5) == 0.20000000000000004, "mean_stderr([1,0,1,1,1]) = %.17g", ll_mean_stderr(x, 5));
    CHECK(isnan(ll_mean_stderr(x, 1)), "stderr of one item is N/A");
    return CHECK_DONE();
}
