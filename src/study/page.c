/* page.c — a study report's page (page.h). */
#include "study/page.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/files.h"
#include "study/store.h"

int ll_page_write(const char *path, const char *text) {
    ll_out o;
    if (ll_out_open(&o, path, false)) return -1;
    fputs(text, o.f);
    return ll_out_close(&o, true);
}


/* adds a figure: written to figures/NAME.svg and inlined in the page */
void ll_page_figure(ll_page *P, const char *name, const char *caption, ll_sbuf *svg) {
    if (svg->err || !svg->s) { P->err = 1; ll_sb_free(svg); return; }
    char path[4300];
    snprintf(path, sizeof path, "%s/figures/%s.svg", P->dir, name);
    if (ll_page_write(path, svg->s)) P->err = 1;
    ll_sb_printf(&P->html, "<figure id=\"fig-%s\">%s<figcaption>", name, svg->s);
    ll_sb_text(&P->html, caption);
    ll_sb_printf(&P->html, " <a href=\"figures/%s.svg\">(svg)</a></figcaption></figure>\n", name);
    P->n_fig++;
    ll_sb_free(svg);
}

void ll_page_lines(ll_page *P, const char *name, const char *title, const char *xl, const char *yl, ll_series *se,
                      int ns, const char *caption, double lo, double hi) {
    ll_sbuf b = {0};
    ll_svg_lines(&b, title, xl, yl, se, ns, lo, hi);
    ll_page_figure(P, name, caption, &b);
}

void ll_page_para(ll_page *P, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ll_sb_printf(&P->html, "<p>");
    ll_sb_text(&P->html, buf);
    ll_sb_printf(&P->html, "</p>\n");
}

void ll_page_begin(ll_page *P, const char *title, const char *h1_html) {
    ll_sb_printf(&P->html, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    ll_sb_text(&P->html, title);
    ll_sb_printf(&P->html, "</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto;"
                           "padding:1em}figure{display:inline-block;margin:.5em;vertical-align:top;max-width:660px}"
                           "figcaption{font-size:90%%;color:#333}table{border-collapse:collapse;font-size:90%%}"
                           "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}.flag{color:#a00}"
                           "code{background:#f4f4f4;word-break:break-all}</style></head><body>\n");
    ll_sb_printf(&P->html, "<h1>%s</h1>\n", h1_html);
}

void ll_page_provenance(ll_page *P, struct ll_store *s, const char *command) {
    ll_sb_printf(&P->html, "<h2>Run</h2><table>");
    const char *keys[] = {"model_sha256", "version", "created", "params"};
    for (int i = 0; i < 4; i++) {
        const char *v = ll_store_meta(s, keys[i]);
        ll_sb_printf(&P->html, "<tr><th>%s</th><td style=\"text-align:left\"><code>", keys[i]);
        ll_sb_text(&P->html, v ? v : "");
        ll_sb_printf(&P->html, "</code></td></tr>");
    }
    ll_sb_printf(&P->html, "<tr><th>command</th><td style=\"text-align:left\"><code>");
    ll_sb_text(&P->html, command);
    ll_sb_printf(&P->html, "</code></td></tr>");
}
