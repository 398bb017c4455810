/* svg.c — line charts and heatmaps as SVG text (svg.h). */
#include "study/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies */
static const char *const PALETTE[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"};
#define N_PALETTE 8

void ll_sb_printf(ll_sbuf *b, const char *fmt, ...) {
    if (b->err) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->err = 1; return; }
        if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) { b->err = 1; return; }
        b->s = ns;
        b->cap = cap;
    }
}

void ll_sb_text(ll_sbuf *b, const char *s) {
    for (const char *c = s; c && *c; c++) {
        switch (*c) {
        case '<': ll_sb_printf(b, "&lt;"); break;
        case '>': ll_sb_printf(b, "&gt;"); break;
        case '&': ll_sb_printf(b, "&amp;"); break;
        case '"': ll_sb_printf(b, "&quot;"); break;
        default: ll_sb_printf(b, "%c", *c);
        }
    }
}

void ll_sb_free(ll_sbuf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* "nice" tick step for a range */
static double tick_step(double lo, double hi, int want) {
    double span = hi - lo;
    if (!(span > 0)) return 1;
    double raw = span / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

enum { W = 640, H = 400, ML = 70, MR = 170, MT = 40, MB = 55 };

static void header(ll_sbuf *b, int w, int h, const char *title) {
    ll_sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                    "font-family=\"sans-serif\" font-size=\"12\" role=\"img\"><title>", w, h, w, h);
    ll_sb_text(b, title);
    ll_sb_printf(b, "</title><rect width=\"%d\" height=\"%d\" fill=\"white\"/>", w, h);
    ll_sb_printf(b, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">", w / 2);
    ll_sb_text(b, title);
    ll_sb_printf(b, "</text>");
}

static void axis_labels(ll_sbuf *b, int w, int h, const char *xlabel, const char *ylabel) {
    ll_sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", ML + (w - ML - MR) / 2, h - 12);
    ll_sb_text(b, xlabel);
    ll_sb_printf(b, "</text><text transform=\"translate(18,%d) rotate(-90)\" text-anchor=\"middle\">", MT + (h - MT - MB) / 2);
    ll_sb_text(b, ylabel);
    ll_sb_printf(b, "</text>");
}

void ll_svg_lines(ll_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const ll_series *series,
                  int n_series, double y_lo, double y_hi) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < n_series; k++)
        for (int i = 0; i < series[k].n; i++) {
            double x = series[k].x[i], y = series[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
            if (series[k].lo && isfinite(series[k].lo[i])) ylo = fmin(ylo, series[k].lo[i]);
            if (series[k].hi && isfinite(series[k].hi[i])) yhi = fmax(yhi, series[k].hi[i]);
        }
    if (!isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
    if (isfinite(y_lo)) ylo = y_lo;
    if (isfinite(y_hi)) yhi = y_hi;
    if (xhi <= xlo) xhi = xlo + 1;
    if (yhi <= ylo) yhi = ylo + 1;
    double pad = 0.05 * (yhi - ylo);
    if (!isfinite(y_lo)) ylo -= pad;
    if (!isfinite(y_hi)) yhi += pad;
    header(b, W, H, title);
    int pw = W - ML - MR, ph = H - MT - MB;
#define PX(x) (ML + ((x) - xlo) / (xhi - xlo) * pw)
#define PY(y) (MT + ph - ((y) - ylo) / (yhi - ylo) * ph)
    ll_sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>", ML, MT, pw, ph);
    double st = tick_step(ylo, yhi, 6);
    for (double t = ceil(ylo / st) * st; t <= yhi + 1e-12; t += st) {
        ll_sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", ML, ML + pw, PY(t), PY(t));
        ll_sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", ML - 6, PY(t) + 4, fabs(t) < 1e-12 ? 0 : t);
    }
    st = tick_step(xlo, xhi, 8);
    if (st < 1) st = 1;   /* every x the studies draw (layers, M, k) is a whole number */
    for (double t = ceil(xlo / st) * st; t <= xhi + 1e-12; t += st)
        ll_sb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", PX(t), MT + ph + 16, t);
    axis_labels(b, W, H, xlabel, ylabel);
    for (int k = 0; k < n_series; k++) {
        const char *col = PALETTE[k % N_PALETTE];
        const char *dash = k >= N_PALETTE ? " stroke-dasharray=\"5,3\"" : "";
        bool open = false;
        for (int i = 0; i < series[k].n; i++) {
            double x = series[k].x[i], y = series[k].y[i];
            if (!isfinite(x) || !isfinite(y)) {
                if (open) ll_sb_printf(b, "\"/>");
                open = false;
                continue;
            }
            if (y < ylo) y = ylo;
            if (y > yhi) y = yhi;
            if (!open) ll_sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col, dash);
            ll_sb_printf(b, "%.1f,%.1f ", PX(x), PY(y));
            open = true;
        }
        if (open) ll_sb_printf(b, "\"/>");
        for (int i = 0; series[k].lo && series[k].hi && i < series[k].n; i++) {   /* error bars */
            double x = series[k].x[i], a = series[k].lo[i], c = series[k].hi[i];
            if (!isfinite(x) || !isfinite(a) || !isfinite(c)) continue;
            a = fmax(ylo, fmin(yhi, a)), c = fmax(ylo, fmin(yhi, c));
            ll_sb_printf(b, "<path d=\"M%.1f,%.1fV%.1fM%.1f,%.1fh8M%.1f,%.1fh8\" stroke=\"%s\" stroke-width=\"1.2\" fill=\"none\"/>",
                         PX(x), PY(a), PY(c), PX(x) - 4, PY(a), PX(x) - 4, PY(c), col);
        }
        for (int i = 0; i < series[k].n; i++) {
            double x = series[k].x[i], y = series[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            if (y < ylo) y = ylo;
            if (y > yhi) y = yhi;
            ll_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", PX(x), PY(y), col);
            ll_sb_text(b, series[k].name);
            ll_sb_printf(b, ": x=%g y=%.4g</title></circle>", series[k].x[i], series[k].y[i]);
        }
        int ly = MT + 10 + 18 * k;
        ll_sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"%s/>", W - MR + 12,
                     W - MR + 36, ly, ly, col, dash);
        ll_sb_printf(b, "<text x=\"%d\" y=\"%d\">", W - MR + 42, ly + 4);
        ll_sb_text(b, series[k].name);
        ll_sb_printf(b, "</text>");
    }
#undef PX
#undef PY
    ll_sb_printf(b, "</svg>\n");
}

/* viridis-like ramp from dark blue through green to yellow (perceptually ordered, colour-blind safe) */
static void ramp(double t, int *r, int *g, int *bl) {
    static const double k[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!isfinite(t)) { *r = *g = *bl = 200; return; }
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double p = t * 4;
    int i = (int)p;
    if (i >= 4) i = 3;
    double f = p - i;
    *r = (int)(k[i][0] + f * (k[i + 1][0] - k[i][0]));
    *g = (int)(k[i][1] + f * (k[i + 1][1] - k[i][1]));
    *bl = (int)(k[i][2] + f * (k[i + 1][2] - k[i][2]));
}

void ll_svg_heatmap(ll_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const double *v, int rows,
                    int cols, double lo, double hi, const double *xvals, const double *yvals) {
    double dlo = INFINITY, dhi = -INFINITY;
    for (int i = 0; i < rows * cols; i++)
        if (isfinite(v[i])) dlo = fmin(dlo, v[i]), dhi = fmax(dhi, v[i]);
    if (!isfinite(lo)) lo = isfinite(dlo) ? dlo : 0;
    if (!isfinite(hi)) hi = isfinite(dhi) ? dhi : 1;
    if (hi <= lo) hi = lo + 1;
    int w = 560, h = 480, pw = w - ML - 110, ph = h - MT - MB;
    header(b, w, h, title);
    double cw = (double)pw / (cols ? cols : 1), ch = (double)ph / (rows ? rows : 1);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            int r, g, bl;
            double x = v[(size_t)i * cols + j];
            ramp((x - lo) / (hi - lo), &r, &g, &bl);
            ll_sb_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"rgb(%d,%d,%d)\"><title>%g, %g: %.4g</title></rect>",
                         ML + j * cw, MT + i * ch, cw + 0.3, ch + 0.3, r, g, bl, yvals ? yvals[i] : i, xvals ? xvals[j] : j, x);
        }
    ll_sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>", ML, MT, pw, ph);
    int step_c = cols > 16 ? (cols + 15) / 16 : 1, step_r = rows > 16 ? (rows + 15) / 16 : 1;
    for (int j = 0; j < cols; j += step_c)
        ll_sb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", ML + (j + 0.5) * cw, MT + ph + 16,
                     xvals ? xvals[j] : j);
    for (int i = 0; i < rows; i += step_r)
        ll_sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", ML - 6, MT + (i + 0.5) * ch + 4,
                     yvals ? yvals[i] : i);
    axis_labels(b, w, h, xlabel, ylabel);
    int bx = w - 90, by = MT, bh = ph;
    for (int k = 0; k < 50; k++) {
        int r, g, bl;
        ramp(1.0 - k / 49.0, &r, &g, &bl);
        ll_sb_printf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"16\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"/>", bx, by + k * bh / 50.0,
                     bh / 50.0 + 0.5, r, g, bl);
    }
    ll_sb_printf(b, "<text x=\"%d\" y=\"%d\">%.3g</text><text x=\"%d\" y=\"%d\">%.3g</text>", bx + 20, by + 10, hi, bx + 20,
                 by + bh, lo);
    ll_sb_printf(b, "</svg>\n");
}

void ll_svg_bars(ll_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const char *const *labels,
                 const double *values, const char *const *notes, int n, double y_lo, double y_hi) {
    double ylo = isfinite(y_lo) ? y_lo : 0, yhi = isfinite(y_hi) ? y_hi : -INFINITY;
    for (int i = 0; !isfinite(y_hi) && i < n; i++)
        if (isfinite(values[i])) yhi = fmax(yhi, values[i]);
    if (!isfinite(yhi) || yhi <= ylo) yhi = ylo + 1;
    header(b, W, H, title);
    int pw = W - ML - MR, ph = H - MT - MB;
    ll_sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>", ML, MT, pw, ph);
    double st = tick_step(ylo, yhi, 6);
    for (double t = ceil(ylo / st) * st; t <= yhi + 1e-12; t += st) {
        double py = MT + ph - (t - ylo) / (yhi - ylo) * ph;
        ll_sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", ML, ML + pw, py, py);
        ll_sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", ML - 6, py + 4, fabs(t) < 1e-12 ? 0 : t);
    }
    double slot = n ? (double)pw / n : pw;
    for (int i = 0; i < n; i++) {
        double x0 = ML + slot * i + slot * 0.15, w = slot * 0.7;
        ll_sb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">", x0 + w / 2, MT + ph + 16);
        ll_sb_text(b, labels[i]);
        ll_sb_printf(b, "</text>");
        if (!isfinite(values[i])) continue;
        double v = fmax(ylo, fmin(yhi, values[i]));
        double top = MT + ph - (v - ylo) / (yhi - ylo) * ph;
        ll_sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x0, top, w,
                     MT + ph - top, PALETTE[0]);
        ll_sb_text(b, labels[i]);
        ll_sb_printf(b, ": %.4g</title></rect>", values[i]);
        if (notes && notes[i]) {
            ll_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">", x0 + w / 2, top - 4);
            ll_sb_text(b, notes[i]);
            ll_sb_printf(b, "</text>");
        }
    }
    axis_labels(b, W, H, xlabel, ylabel);
    ll_sb_printf(b, "</svg>\n");
}
