/* page.h — a study report: one self-contained HTML page (no scripts, no network) whose figures are inline
 * SVG and also DIR/figures/NAME.svg, written through temporary files. */
#ifndef LL_STUDY_PAGE_H
#define LL_STUDY_PAGE_H
#include "study/svg.h"

typedef struct {
    ll_sbuf html;
    const char *dir;
    int n_fig, err;
} ll_page;

struct ll_store;
/* Starts the page: the HTML head (its <title>), the shared style, and the <h1>. */
void ll_page_begin(ll_page *P, const char *title, const char *h1_html);
/* The provenance table: a "Run" heading, the store's model_sha256, version, created and params, and the
 * command; the table is left open for the caller's own rows. */
void ll_page_provenance(ll_page *P, struct ll_store *s, const char *command);
/* Writes text to path through a temporary file. 0, or -1 with the error set. */
int ll_page_write(const char *path, const char *text);
/* Adds a figure: written to DIR/figures/NAME.svg and inlined in the page with its caption; svg is freed. */
void ll_page_figure(ll_page *P, const char *name, const char *caption, ll_sbuf *svg);
/* A line chart figure (ll_svg_lines). */
void ll_page_lines(ll_page *P, const char *name, const char *title, const char *xl, const char *yl, ll_series *se, int ns,
                   const char *caption, double lo, double hi);
/* A paragraph of text (escaped). */
void ll_page_para(ll_page *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
