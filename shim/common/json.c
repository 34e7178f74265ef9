/* ltc's one JSON writer (json.h says the policy). */
#include "json.h"

#include <locale.h>
#include <math.h>
#include <string.h>

static void put(ltc_json_writer *w, const char *s, size_t n) {
    if (n)
        w->sink(w->ctx, s, n);
}

static void puts_(ltc_json_writer *w, const char *s) { put(w, s, strlen(s)); }

static void file_sink(void *ctx, const char *s, size_t n) { fwrite(s, 1, n, (FILE *)ctx); }

void ltc_json_init(ltc_json_writer *w, ltc_json_sink sink, void *ctx) {
    memset(w, 0, sizeof *w);
    w->sink = sink;
    w->ctx = ctx;
}

void ltc_json_init_file(ltc_json_writer *w, FILE *f) { ltc_json_init(w, file_sink, f); }

/* Bytes in the valid UTF-8 sequence at s[i] (a byte of 0x80 or more), or 0 where there is none. */
static size_t utf8_length(const unsigned char *s, size_t n, size_t i) {
    unsigned char b = s[i];
    size_t len = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (len == 0 || i + len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
    unsigned char b1 = s[i + 1];
    if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 > 0x8F))
        return 0;
    return len;
}

static void quoted(ltc_json_writer *w, const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    size_t run = 0; /* bytes s[i - run, i) to copy as they are */
    put(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : utf8_length(s, n, i);
        const char *esc = NULL;
        char buf[8];
        if (len == 0)
            esc = "\xEF\xBF\xBD"; /* U+FFFD, the replacement character */
        else if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(buf, sizeof buf, "\\u%04x", c);
            esc = buf;
        }
        if (esc) {
            put(w, text + i - run, run);
            run = 0;
            puts_(w, esc);
            i++;
        } else {
            run += len;
            i += len;
        }
    }
    put(w, text + n - run, run);
    put(w, "\"", 1);
}

static void indent(ltc_json_writer *w, int levels) {
    static const char spaces[] = "                                ";
    put(w, "\n", 1);
    for (size_t left = 2 * (size_t)levels; left > 0;) {
        size_t k = left < sizeof spaces - 1 ? left : sizeof spaces - 1;
        put(w, spaces, k);
        left -= k;
    }
}

/* Before a value (or a key): the separator and the line break its container wants. 0: drop the value. */
static int start_item(ltc_json_writer *w) {
    if (w->dropped)
        return 0;
    if (w->keyed) {
        w->keyed = 0;
        return 1;
    }
    if (w->depth == 0)
        return 1;
    int top = w->depth - 1;
    if (w->used[top])
        put(w, w->one_line[top] ? ", " : ",", w->one_line[top] ? 2 : 1);
    if (!w->one_line[top])
        indent(w, w->depth);
    w->used[top] = 1;
    return 1;
}

void ltc_json_key(ltc_json_writer *w, const char *key, size_t n) {
    if (!start_item(w))
        return;
    quoted(w, key, n);
    put(w, ": ", 2);
    w->keyed = 1;
}

/* start_item, after the key when there is one. */
static int start_value(ltc_json_writer *w, const char *key) {
    if (key && !w->dropped) {
        ltc_json_key(w, key, strlen(key));
    }
    return start_item(w);
}

static void begin(ltc_json_writer *w, const char *key, int one_line, char open, char close) {
    if (w->dropped) {
        w->dropped++;
        return;
    }
    if (!start_value(w, key))
        return;
    if (w->depth == LTC_JSON_MAX_DEPTH) {
        puts_(w, "null");
        w->dropped = 1;
        return;
    }
    put(w, &open, 1);
    w->close[w->depth] = close;
    w->used[w->depth] = 0;
    w->one_line[w->depth] = one_line || (w->depth > 0 && w->one_line[w->depth - 1]);
    w->depth++;
}

void ltc_json_begin_object(ltc_json_writer *w, const char *key, int one_line) { begin(w, key, one_line, '{', '}'); }
void ltc_json_begin_array(ltc_json_writer *w, const char *key, int one_line) { begin(w, key, one_line, '[', ']'); }

void ltc_json_end(ltc_json_writer *w) {
    if (w->dropped) {
        w->dropped--;
        return;
    }
    if (w->depth == 0)
        return;
    w->depth--;
    if (w->used[w->depth] && !w->one_line[w->depth])
        indent(w, w->depth);
    put(w, &w->close[w->depth], 1);
}

void ltc_json_string_n(ltc_json_writer *w, const char *key, const char *s, size_t n) {
    if (!start_value(w, key))
        return;
    if (s)
        quoted(w, s, n);
    else
        puts_(w, "null");
}

void ltc_json_string(ltc_json_writer *w, const char *key, const char *s) { ltc_json_string_n(w, key, s, s ? strlen(s) : 0); }

char *ltc_json_number_text(char *buf, size_t size, double v) {
    /* Each form reads back as a number that is written the same way again: a document read and written
     * again is the same text (the cross-rank check re-renders each rank's report). */
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, size, "null");
    else if (a >= 9007199254740992.0) /* 2^53 and up: every digit that the double has */
        snprintf(buf, size, "%.17g", v);
    else if (v == floor(v) || a >= 999999999.5) /* whole, or 9 digits leave no fraction: rounded */
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.9g", v);
    /* a locale with another decimal point (LC_NUMERIC "de_DE": "0,5") must not reach the JSON */
    const char *point = localeconv()->decimal_point;
    if (point && point[0] && strcmp(point, ".") != 0) {
        char *at = strstr(buf, point);
        if (at) {
            size_t plen = strlen(point);
            *at = '.';
            memmove(at + 1, at + plen, strlen(at + plen) + 1);
        }
    }
    return buf;
}

void ltc_json_number(ltc_json_writer *w, const char *key, double v) {
    char buf[40];
    if (start_value(w, key))
        puts_(w, ltc_json_number_text(buf, sizeof buf, v));
}

void ltc_json_bool(ltc_json_writer *w, const char *key, int v) {
    if (start_value(w, key))
        puts_(w, v ? "true" : "false");
}

void ltc_json_null(ltc_json_writer *w, const char *key) {
    if (start_value(w, key))
        puts_(w, "null");
}
