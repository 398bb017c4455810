/* tasks.c — reading the benchmark files into lm-eval's requests.
 *
 * The files are ../shared/data's (see ../shared/README.md for each format and how it maps to
 * lm-eval's prompt); every line is validated, and a bad one is reported as "file:line: field ...".
 * The prompts are lm-eval 0.4.x's task YAMLs:
 *   arc_easy / arc_challenge  "Question: {question}\nAnswer:"  + " " + choice      (acc, acc_norm)
 *   piqa                      "Question: {goal}\nAnswer:"      + " " + solution    (acc, acc_norm)
 *   boolq                     "{passage}\nQuestion: {question}?\nAnswer:" + " no"/" yes" (acc)
 *   hellaswag                 preprocess(label: ctx) + " " + preprocess(ending)  (acc, acc_norm)
 *   winogrande                sentence[:blank] + option, + " " + rest of the sentence (acc)
 *   lambada_openai            text minus its last word, + " " + last word     (acc, perplexity)
 *   gsm8k                     5-shot "Question: q\nAnswer: a" blocks joined by "\n\n" (exact_match)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "eval/eval.h"
#include "io/files.h"
#include "util/err.h"

const char *const ll_eval_task_names[] = {"arc_easy", "arc_challenge", "hellaswag", "winogrande", "lambada_openai",
                                          "piqa", "boolq", "gsm8k", "sst2", NULL};

const char *ll_eval_default_file(const char *task) {
    static const struct { const char *task, *file; } files[] = {
        {"arc_easy", "arc_easy.jsonl"}, {"arc_challenge", "arc_challenge.jsonl"},
        {"hellaswag", "hellaswag_val_full.txt.bz2"}, {"winogrande", "winogrande.jsonl"},
        {"lambada_openai", "lambada_openai.jsonl"}, {"piqa", "piqa.jsonl"}, {"boolq", "boolq.jsonl"},
        {"gsm8k", "gsm8k_test.jsonl"}, {"sst2", "sst2_dev.tsv"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (!strcmp(task, files[i].task)) return files[i].file;
    return NULL;
}

/* ---- reading files ---- */

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !memcmp(s + a - b, suffix, b);
}

/* The file's bytes; a name ending in .bz2 is decompressed by `bzip2 -dc` (bzip2 comes with
 * build-essential through dpkg-dev). */
static char *read_data_file(const char *path, size_t *len) {
    int in = ll_open_input(path, "data file");
    if (in < 0) return NULL;
    if (!ends_with(path, ".bz2")) {
        char *b = ll_read_fd(in, path, len);
        close(in);
        return b;
    }
    int fds[2];
    if (pipe(fds) != 0) { close(in); ll_fail("%s: pipe: %s", path, strerror(errno)); return NULL; }
    pid_t pid = fork();
    if (pid < 0) { close(in); close(fds[0]); close(fds[1]); ll_fail("%s: fork: %s", path, strerror(errno)); return NULL; }
    if (pid == 0) {   /* bzip2 reads the file already opened (and checked to be regular) on its stdin */
        dup2(in, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("bzip2", "bzip2", "-dc", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    close(in);
    char *b = ll_read_fd(fds[0], path, len);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!b) return NULL;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(b);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            ll_fail("%s: could not run 'bzip2 -dc' (install bzip2)", path);
        else
            ll_fail("%s: 'bzip2 -dc' failed (exit status %d): not a valid .bz2 file", path,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return NULL;
    }
    return b;
}

/* ---- item construction ---- */

static char *cat2(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = ll_malloc(la + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

static int item_alloc(ll_eval_item *it, int n_req, int n_choices) {
    it->req = ll_calloc((size_t)(n_req ? n_req : 1), sizeof *it->req);
    it->choices = ll_calloc((size_t)(n_choices ? n_choices : 1), sizeof *it->choices);
    if (!it->req || !it->choices) return -1;
    it->n_req = n_req;
    it->n_choices = n_choices;
    return 0;
}

static void item_free(ll_eval_item *it) {
    for (int i = 0; i < it->n_req; i++) { free(it->req[i].ctx); free(it->req[i].cont); }
    for (int i = 0; i < it->n_choices; i++) free(it->choices[i]);
    free(it->req);
    free(it->choices);
    free(it->question);
    free(it->target);
    memset(it, 0, sizeof *it);
}

/* context + " " + choice for every choice */
static int mc_item(ll_eval_item *it, const char *ctx, char *const *choices, int n) {
    if (item_alloc(it, n, n)) return -1;
    for (int i = 0; i < n; i++) {
        if (!(it->choices[i] = ll_strndup(choices[i], strlen(choices[i])))) return -1;
        if (!(it->req[i].ctx = ll_strndup(ctx, strlen(ctx)))) return -1;
        if (!(it->req[i].cont = cat2(" ", choices[i]))) return -1;
    }
    return 0;
}

/* ---- JSON field access with file:line errors ---- */

typedef struct {
    const char *path;
    long line;
} where;

static const char *get_str(const where *w, const cJSON *o, const char *field) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v) { ll_fail("%s:%ld: field '%s' is missing", w->path, w->line, field); return NULL; }
    if (!cJSON_IsString(v) || !v->valuestring) {
        ll_fail("%s:%ld: field '%s': expected a string", w->path, w->line, field);
        return NULL;
    }
    return v->valuestring;
}

/* an array of n_min..n_max strings; returns the count or -1 */
static int get_str_array(const where *w, const cJSON *o, const char *field, int n_min, int n_max, char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v) return ll_fail("%s:%ld: field '%s' is missing", w->path, w->line, field);
    if (!cJSON_IsArray(v)) return ll_fail("%s:%ld: field '%s': expected an array of strings", w->path, w->line, field);
    int n = cJSON_GetArraySize(v);
    if (n < n_min || n > n_max)
        return ll_fail("%s:%ld: field '%s': expected %d..%d strings, got %d", w->path, w->line, field, n_min, n_max, n);
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e) || !e->valuestring)
            return ll_fail("%s:%ld: field '%s'[%d]: expected a string", w->path, w->line, field, i);
        out[i] = e->valuestring;
    }
    return n;
}

static int get_gold(const where *w, const cJSON *o, const char *field, int n_choices, int *gold) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v) return ll_fail("%s:%ld: field '%s' is missing", w->path, w->line, field);
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1.5;
    if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d))   /* no cast before the range is known */
        return ll_fail("%s:%ld: field '%s': expected an integer", w->path, w->line, field);
    if (d < 0 || d >= n_choices)
        return ll_fail("%s:%ld: field '%s': %g is out of range for %d choices (0..%d)", w->path, w->line, field, d,
                       n_choices, n_choices - 1);
    *gold = (int)d;
    return 0;
}

enum { MAX_CHOICES = 64 };

/* One JSON line of task t into item it. */
static int parse_json_item(const char *task, const where *w, const cJSON *o, ll_eval_item *it) {
    char *ch[MAX_CHOICES];
    it->line = w->line;
    it->gold = -1;
    if (!cJSON_IsObject(o)) return ll_fail("%s:%ld: expected a JSON object", w->path, w->line);
    if (!strcmp(task, "arc_easy") || !strcmp(task, "arc_challenge") || !strcmp(task, "piqa") ||
        !strcmp(task, "boolq")) {
        const char *q = get_str(w, o, "query");
        if (!q) return -1;
        int n = get_str_array(w, o, "choices", 1, MAX_CHOICES, ch);
        if (n < 0 || get_gold(w, o, "gold", n, &it->gold)) return -1;
        char *ctx;
        if (!strcmp(task, "piqa")) {
            ctx = cat2(q, "Answer:");                   /* the query already ends with "\n" */
        } else if (!strcmp(task, "boolq")) {
            const char *pre = "Passage: ";
            if (strncmp(q, pre, strlen(pre)))
                return ll_fail("%s:%ld: field 'query': expected it to start with \"Passage: \"", w->path, w->line);
            ctx = cat2(q + strlen(pre), "\nAnswer:");
        } else {
            ctx = cat2(q, "\nAnswer:");
        }
        if (!ctx) return -1;
        int r = mc_item(it, ctx, ch, n);
        free(ctx);
        return r;
    }
    if (!strcmp(task, "winogrande")) {
        int n = get_str_array(w, o, "context_options", 2, 2, ch);
        const char *cont = n < 0 ? NULL : get_str(w, o, "continuation");
        if (!cont || get_gold(w, o, "gold", n, &it->gold)) return -1;
        /* lm-eval: doc_to_target = sentence[blank+1:].strip(); every context gets " " + target */
        size_t a = ll_py_lstrip_off(cont, strlen(cont));
        size_t b = a + ll_py_rstrip_len(cont + a, strlen(cont) - a);
        char *tgt = ll_strndup(cont + a, b - a);
        if (!tgt || item_alloc(it, 2, 2)) { free(tgt); return -1; }
        for (int i = 0; i < 2; i++) {
            if (!(it->choices[i] = ll_strndup(ch[i], strlen(ch[i]))) || !(it->req[i].ctx = ll_strndup(ch[i], strlen(ch[i]))) ||
                !(it->req[i].cont = cat2(" ", tgt))) { free(tgt); return -1; }
        }
        free(tgt);
        return 0;
    }
    if (!strcmp(task, "lambada_openai")) {
        const char *ctx = get_str(w, o, "context");
        const char *cont = ctx ? get_str(w, o, "continuation") : NULL;
        if (!cont) return -1;
        if (item_alloc(it, 1, 0)) return -1;
        if (!(it->req[0].ctx = ll_strndup(ctx, strlen(ctx))) || !(it->req[0].cont = cat2(" ", cont)) ||
            !(it->target = ll_strndup(cont, strlen(cont)))) return -1;
        return 0;
    }
    if (!strcmp(task, "gsm8k")) {
        const char *q = get_str(w, o, "question");
        const char *a = q ? get_str(w, o, "answer") : NULL;
        if (!a) return -1;
        if (item_alloc(it, 0, 0)) return -1;
        if (!(it->question = ll_strndup(q, strlen(q))) || !(it->target = ll_strndup(a, strlen(a)))) return -1;
        return 0;
    }
    return ll_fail("unknown task '%s'", task);
}

static int push_item(ll_eval_task *t, int *cap) {
    if (t->n_items == *cap) {
        int nc = *cap ? *cap * 2 : 256;
        ll_eval_item *ni = ll_realloc(t->items, (size_t)nc * sizeof *ni);
        if (!ni) return -1;
        t->items = ni;
        *cap = nc;
    }
    memset(&t->items[t->n_items], 0, sizeof *t->items);
    t->n_items++;
    return 0;
}

/* The column (from 1) of a \u0000 escape inside a JSON string of line s, or 0. cJSON would end the string
 * there and silently cut the text. */
static long json_nul_escape(const char *s) {
    bool in = false;
    for (const char *c = s; *c; c++) {
        if (!in) { in = *c == '"'; continue; }
        if (*c == '"') { in = false; continue; }
        if (*c != '\\') continue;
        if (c[1] == 'u' && !strncmp(c + 2, "0000", 4)) return (long)(c - s) + 1;
        if (c[1]) c++;   /* the escaped character */
    }
    return 0;
}

/* Calls fn on every non-blank line of buf (NUL-terminated copies; line numbers from 1). */
static int parse_jsonl(const char *path, char *buf, size_t len, const char *task, ll_eval_task *t,
                       int (*fn)(const char *task, const where *w, const cJSON *o, void *arg), void *arg) {
    (void)t;
    long line = 0;
    size_t p = 0;
    while (p < len) {
        size_t e = p;
        while (e < len && buf[e] != '\n') e++;
        line++;
        char save = buf[e];
        buf[e] = 0;
        const char *s = buf + p;
        bool blank = true;
        for (const char *c = s; *c; c++)
            if (*c != ' ' && *c != '\t' && *c != '\r') { blank = false; break; }
        if (!blank) {
            if (strlen(s) != e - p) { buf[e] = save; return ll_fail("%s:%ld: NUL byte in the line", path, line); }
            long nul = json_nul_escape(s);
            if (nul) {
                buf[e] = save;
                return ll_fail("%s:%ld: column %ld: a \\u0000 (NUL) in a JSON string is not supported: the text "
                               "would be cut there", path, line, nul);
            }
            const char *end = NULL;
            cJSON *o = cJSON_ParseWithOpts(s, &end, 1);
            if (!o) {
                long col = end ? (long)(end - s) + 1 : 0;
                const char *ep = cJSON_GetErrorPtr();
                if (ep && ep >= s && ep <= s + (e - p)) col = (long)(ep - s) + 1;
                buf[e] = save;
                return ll_fail("%s:%ld: malformed JSON (at column %ld)", path, line, col);
            }
            where w = {path, line};
            int r = fn(task, &w, o, arg);
            cJSON_Delete(o);
            if (r) { buf[e] = save; return -1; }
        }
        buf[e] = save;
        p = e + 1;
    }
    return 0;
}

typedef struct {
    ll_eval_task *t;
    int cap;
} item_sink;

static int item_cb(const char *task, const where *w, const cJSON *o, void *arg) {
    item_sink *k = arg;
    if (push_item(k->t, &k->cap)) return -1;
    return parse_json_item(task, w, o, &k->t->items[k->t->n_items - 1]);
}

typedef struct {
    ll_eval_task *t;
    int cap;
} shot_sink;

static int shot_cb(const char *task, const where *w, const cJSON *o, void *arg) {
    (void)task;
    shot_sink *k = arg;
    ll_eval_task *t = k->t;
    const char *q = get_str(w, o, "question");
    const char *a = q ? get_str(w, o, "answer") : NULL;
    if (!a) return -1;
    if (t->n_shots_pool == k->cap) {
        int nc = k->cap ? k->cap * 2 : 1024;
        char **nq = ll_realloc(t->shot_q, (size_t)nc * sizeof *nq);
        if (!nq) return -1;
        t->shot_q = nq;
        char **na = ll_realloc(t->shot_a, (size_t)nc * sizeof *na);
        if (!na) return -1;
        t->shot_a = na;
        k->cap = nc;
    }
    t->shot_q[t->n_shots_pool] = ll_strndup(q, strlen(q));
    t->shot_a[t->n_shots_pool] = ll_strndup(a, strlen(a));
    t->n_shots_pool++;
    if (!t->shot_q[t->n_shots_pool - 1] || !t->shot_a[t->n_shots_pool - 1]) return -1;
    return 0;
}

/* llama.cpp's HellaSwag text: 6 lines per task (context, gold index, 4 endings). lm-eval's preprocess()
 * is applied to the context and the endings, as its process_docs does. */
static int parse_hellaswag(const char *path, char *buf, size_t len, ll_eval_task *t) {
    int cap = 0;
    long line = 0;
    size_t p = 0;
    char *lines[6];
    long first_line = 0;
    int k = 0;
    while (p < len) {
        size_t e = p;
        while (e < len && buf[e] != '\n') e++;
        line++;
        buf[e] = 0;
        if (strlen(buf + p) != e - p)   /* the text would be cut there without a word */
            return ll_fail("%s:%ld: NUL byte in the line", path, line);
        if (e > p && buf[e - 1] == '\r') buf[e - 1] = 0;
        if (k == 0) first_line = line;
        lines[k++] = buf + p;
        p = e + 1;
        if (k < 6) continue;
        k = 0;
        char *end;
        errno = 0;
        long g = strtol(lines[1], &end, 10);
        if (!*lines[1] || *end || errno || g < 0 || g > 3)
            return ll_fail("%s:%ld: field 'gold': expected an index 0..3, got '%.20s'", path, first_line + 1, lines[1]);
        if (!*lines[0]) return ll_fail("%s:%ld: field 'context': empty line", path, first_line);
        if (push_item(t, &cap)) return -1;
        ll_eval_item *it = &t->items[t->n_items - 1];
        it->line = first_line;
        it->gold = (int)g;
        char *ctx = ll_hellaswag_preprocess(lines[0]);
        char *ends[4] = {0};
        int r = ctx ? 0 : -1;
        for (int i = 0; i < 4 && !r; i++) {
            if (!*lines[2 + i]) r = ll_fail("%s:%ld: field 'ending %d': empty line", path, first_line + 2 + i, i);
            else if (!(ends[i] = ll_hellaswag_preprocess(lines[2 + i]))) r = -1;
        }
        if (!r) r = mc_item(it, ctx, ends, 4);
        free(ctx);
        for (int i = 0; i < 4; i++) free(ends[i]);
        if (r) return -1;
    }
    if (k == 1 && !*lines[0]) k = 0;  /* the final newline */
    if (k != 0)
        return ll_fail("%s:%ld: truncated task: expected 6 lines (context, gold, 4 endings), got %d", path, first_line, k);
    return 0;
}

void ll_eval_task_shape(const char *task, ll_eval_task *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", task);
    out->kind = !strcmp(task, "gsm8k") ? LL_EVAL_GEN : !strcmp(task, "lambada_openai") ? LL_EVAL_LOGLIK : LL_EVAL_MC;
    out->has_acc_norm = !strcmp(task, "arc_easy") || !strcmp(task, "arc_challenge") || !strcmp(task, "piqa") ||
                        !strcmp(task, "hellaswag");
}

/* SST-2 as GLUE ships it (a TSV: the header "sentence<TAB>label", then one sentence and its 0/1 label per line),
 * as lm-eval's glue/sst2 asks it: "{sentence}\nQuestion: Is this sentence positive or negative?\nAnswer:" with
 * the choices " negative" / " positive"; the sentence itself is kept in `question` (encoders classify it). */
static int parse_sst2(const char *path, char *buf, size_t len, ll_eval_task *t) {
    (void)len;
    int cap = 0;
    long line = 0;
    char *choices[2] = {"negative", "positive"};
    for (char *s = buf; s && *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        char *row = s;
        s = nl ? nl + 1 : NULL;
        line++;
        size_t l = strlen(row);
        if (l && row[l - 1] == '\r') row[--l] = 0;
        if (line == 1) {
            if (strcmp(row, "sentence\tlabel") != 0)
                return ll_fail("%s:1: expected the header 'sentence<TAB>label'", path);
            continue;
        }
        if (!l) continue;
        char *tab = strrchr(row, '\t');
        if (!tab || (strcmp(tab + 1, "0") != 0 && strcmp(tab + 1, "1") != 0))
            return ll_fail("%s:%ld: expected 'sentence<TAB>0' or 'sentence<TAB>1'", path, line);
        *tab = 0;
        if (push_item(t, &cap)) return -1;
        ll_eval_item *it = &t->items[t->n_items - 1];
        it->line = line;
        it->gold = tab[1] - '0';
        char *ctx = cat2(row, "\nQuestion: Is this sentence positive or negative?\nAnswer:");
        int r = !ctx || mc_item(it, ctx, choices, 2) || !(it->question = ll_strndup(row, strlen(row))) ? -1 : 0;
        free(ctx);
        if (r) return -1;
    }
    return 0;
}

static int parse_items(const char *task, const char *path, char *buf, size_t len, ll_eval_task *out) {
    int r;
    if (!strcmp(task, "sst2")) {
        r = parse_sst2(path, buf, len, out);
    } else if (!strcmp(task, "hellaswag")) {
        r = parse_hellaswag(path, buf, len, out);
    } else {
        item_sink k = {out, 0};
        r = parse_jsonl(path, buf, len, task, out, item_cb, &k);
    }
    if (!r && out->n_items == 0) r = ll_fail("%s: no items", path);
    return r;
}

int ll_eval_parse(const char *task, const char *name, char *buf, size_t len, ll_eval_task *out) {
    memset(out, 0, sizeof *out);
    if (!ll_eval_default_file(task)) return ll_fail("unknown task '%s'", task);
    ll_eval_task_shape(task, out);
    if (!(out->path = ll_strndup(name, strlen(name)))) return -1;
    int r = parse_items(task, name, buf, len, out);
    if (r) ll_eval_task_free(out);
    return r;
}

int ll_eval_load(const char *task, const char *path, const char *fewshot_path, ll_eval_task *out) {
    memset(out, 0, sizeof *out);
    if (!ll_eval_default_file(task)) return ll_fail("unknown task '%s'", task);
    ll_eval_task_shape(task, out);
    if (!(out->path = ll_strndup(path, strlen(path)))) return -1;
    size_t len;
    char *buf = read_data_file(path, &len);
    if (!buf) {   /* out->path is allocated already */
        ll_eval_task_free(out);
        return -1;
    }
    int r = parse_items(task, path, buf, len, out);
    free(buf);
    if (!r && out->kind == LL_EVAL_GEN) {
        out->num_fewshot = 5;
        if (!(buf = read_data_file(fewshot_path, &len))) r = -1;
        else {
            shot_sink k = {out, 0};
            r = parse_jsonl(fewshot_path, buf, len, task, out, shot_cb, &k);
            free(buf);
            if (!r && out->n_shots_pool < out->num_fewshot)
                r = ll_fail("%s: %d few-shot examples, %d needed", fewshot_path, out->n_shots_pool, out->num_fewshot);
        }
    }
    if (r) ll_eval_task_free(out);
    return r;
}

void ll_eval_task_free(ll_eval_task *t) {
    for (int i = 0; i < t->n_items; i++) item_free(&t->items[i]);
    free(t->items);
    for (int i = 0; i < t->n_shots_pool; i++) { free(t->shot_q[i]); free(t->shot_a[i]); }
    free(t->shot_q);
    free(t->shot_a);
    free(t->path);
    memset(t, 0, sizeof *t);
}

/* ---- gsm8k prompts ---- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static int sb_add(sbuf *b, const char *s) {
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->n + l + 1) nc *= 2;
        char *ns = ll_realloc(b->s, nc);
        if (!ns) return -1;
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
    return 0;
}

int ll_eval_fewshot_prompts(const ll_eval_task *t, int n, uint64_t seed, char ***prompts) {
    if (n > t->n_items) n = t->n_items;
    char **ps = ll_calloc((size_t)(n ? n : 1), sizeof *ps);
    if (!ps) return -1;
    ll_pyrng rng;
    ll_pyrng_seed(&rng, seed);
    int idx[64];
    int k = t->num_fewshot < 64 ? t->num_fewshot : 64;
    for (int i = 0; i < n; i++) {
        sbuf b = {0};
        /* fewshot split (train) differs from the test split: no eval-doc exclusion, sample(pool, k) */
        int r = ll_pyrng_sample(&rng, t->n_shots_pool, k, idx);
        for (int s = 0; s < k && !r; s++)
            r = sb_add(&b, "Question: ") || sb_add(&b, t->shot_q[idx[s]]) || sb_add(&b, "\nAnswer:") ||
                sb_add(&b, " ") || sb_add(&b, t->shot_a[idx[s]]) || sb_add(&b, "\n\n") ? -1 : 0;
        if (!r) r = sb_add(&b, "Question: ") || sb_add(&b, t->items[i].question) || sb_add(&b, "\nAnswer:") ? -1 : 0;
        if (r) {
            free(b.s);
            for (int j = 0; j < i; j++) free(ps[j]);
            free(ps);
            return -1;
        }
        ps[i] = b.s;
    }
    *prompts = ps;
    return 0;
}
