/* svg.h — the two kinds of figure the study reports draw, as self-contained SVG text: line charts and
 * heatmaps, with title, axis labels, ticks, a legend and the Okabe-Ito colour-blind-safe palette. */
#ifndef LL_STUDY_SVG_H
#define LL_STUDY_SVG_H
#include <stddef.h>

typedef struct {
    char *s;
    size_t n, cap;
    int err;
} ll_sbuf;

void ll_sb_printf(ll_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ll_sb_text(ll_sbuf *b, const char *s);   /* XML-escaped */
void ll_sb_free(ll_sbuf *b);

typedef struct {
    const char *name;
    const double *x, *y;   /* n points; a NaN y leaves a gap */
    int n;
    const double *lo, *hi; /* optional: an interval per point, drawn as an error bar (NULL: none) */
} ll_series;

/* A line chart of n_series series into b. y_lo/y_hi: the y range (NaN: from the data). */
void ll_svg_lines(ll_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const ll_series *series,
                  int n_series, double y_lo, double y_hi);
/* A bar chart: one bar per category with its value (NaN: no bar) and, above it, its note (NULL: none). */
void ll_svg_bars(ll_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const char *const *labels,
                 const double *values, const char *const *notes, int n, double y_lo, double y_hi);
/* A heatmap of v[rows][cols] (row 0 at the top) with a colour bar from lo to hi (NaN: from the data);
 * row and column labels are their indices plus the given offsets. */
void ll_svg_heatmap(ll_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const double *v, int rows,
                    int cols, double lo, double hi, const double *xvals, const double *yvals);

#endif
