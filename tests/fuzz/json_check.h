/* json_check.h: a strict JSON (RFC 8259) validator for the fuzz targets, in plain C.
 *
 *   long json_check(const char *s, size_t n, json_string_fn on_string, void *ctx);
 *
 * Returns -1 when s[0..n) is exactly one JSON value with optional whitespace around it, else the byte
 * offset of the first error. Strict: raw bytes must be valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), control characters must be escaped, \u escapes must pair surrogates, numbers
 * follow the RFC grammar, nesting is bounded. on_string (may be NULL) gets each string (keys too), in
 * document order, decoded to UTF-8. */
#ifndef LTC_FUZZ_JSON_CHECK_H
#define LTC_FUZZ_JSON_CHECK_H

#include <stddef.h>
#include <stdlib.h>

typedef void (*json_string_fn)(void *ctx, const char *s, size_t n);

typedef struct json_cursor {
    const unsigned char *s;
    size_t n, i;
    json_string_fn on_string;
    void *ctx;
    char *buf; /* the string being decoded */
    size_t cap, len;
} json_cursor;

enum { JSON_MAX_DEPTH = 512 };

static void json_ws(json_cursor *c) {
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static int json_lit(json_cursor *c, const char *lit) {
    for (size_t k = 0; lit[k]; k++, c->i++)
        if (c->i >= c->n || c->s[c->i] != (unsigned char)lit[k])
            return 0;
    return 1;
}

static int json_put(json_cursor *c, unsigned char b) {
    if (c->len == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        char *p = (char *)realloc(c->buf, cap);
        if (!p)
            return 0;
        c->buf = p;
        c->cap = cap;
    }
    c->buf[c->len++] = (char)b;
    return 1;
}

static int json_put_cp(json_cursor *c, unsigned long cp) {
    if (cp < 0x80)
        return json_put(c, (unsigned char)cp);
    if (cp < 0x800)
        return json_put(c, (unsigned char)(0xC0 | (cp >> 6))) && json_put(c, (unsigned char)(0x80 | (cp & 0x3F)));
    if (cp < 0x10000)
        return json_put(c, (unsigned char)(0xE0 | (cp >> 12))) && json_put(c, (unsigned char)(0x80 | ((cp >> 6) & 0x3F))) &&
               json_put(c, (unsigned char)(0x80 | (cp & 0x3F)));
    return json_put(c, (unsigned char)(0xF0 | (cp >> 18))) && json_put(c, (unsigned char)(0x80 | ((cp >> 12) & 0x3F))) &&
           json_put(c, (unsigned char)(0x80 | ((cp >> 6) & 0x3F))) && json_put(c, (unsigned char)(0x80 | (cp & 0x3F)));
}

static int json_hex4(json_cursor *c, unsigned long *out) {
    unsigned long v = 0;
    for (int k = 0; k < 4; k++, c->i++) {
        if (c->i >= c->n)
            return 0;
        unsigned char h = c->s[c->i];
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0)
            return 0;
        v = v * 16 + (unsigned long)d;
    }
    *out = v;
    return 1;
}

/* One UTF-8 sequence starting at c->i (a byte >= 0x80), appended to the buffer. */
static int json_utf8(json_cursor *c) {
    unsigned char b = c->s[c->i];
    int more;
    unsigned long cp, min;
    if (b >= 0xC2 && b <= 0xDF)
        more = 1, cp = b & 0x1F, min = 0x80;
    else if (b >= 0xE0 && b <= 0xEF)
        more = 2, cp = b & 0x0F, min = 0x800;
    else if (b >= 0xF0 && b <= 0xF4)
        more = 3, cp = b & 0x07, min = 0x10000;
    else
        return 0; /* a continuation byte, C0/C1 (always overlong) or F5..FF */
    if (c->i + (size_t)more >= c->n)
        return 0;
    for (int k = 1; k <= more; k++) {
        unsigned char t = c->s[c->i + (size_t)k];
        if ((t & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (t & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    for (int k = 0; k <= more; k++)
        if (!json_put(c, c->s[c->i + (size_t)k]))
            return 0;
    c->i += (size_t)more + 1;
    return 1;
}

static int json_string(json_cursor *c) {
    if (c->i >= c->n || c->s[c->i] != '"')
        return 0;
    c->i++;
    c->len = 0;
    while (c->i < c->n) {
        unsigned char b = c->s[c->i];
        if (b == '"') {
            c->i++;
            if (c->on_string)
                c->on_string(c->ctx, c->buf ? c->buf : "", c->len);
            return 1;
        }
        if (b < 0x20)
            return 0;
        if (b >= 0x80) {
            if (!json_utf8(c))
                return 0;
            continue;
        }
        if (b != '\\') {
            if (!json_put(c, b))
                return 0;
            c->i++;
            continue;
        }
        if (++c->i >= c->n)
            return 0;
        unsigned char e = c->s[c->i++];
        const char *plain = "\"\\/bfnrt", *value = "\"\\/\b\f\n\r\t";
        const char *at = NULL;
        for (int k = 0; plain[k]; k++)
            if (plain[k] == (char)e)
                at = value + k;
        if (at) {
            if (!json_put(c, (unsigned char)*at))
                return 0;
            continue;
        }
        if (e != 'u')
            return 0;
        unsigned long cp, lo;
        if (!json_hex4(c, &cp))
            return 0;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return 0; /* a low surrogate alone */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (c->i + 1 >= c->n || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u')
                return 0;
            c->i += 2;
            if (!json_hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return 0;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (!json_put_cp(c, cp))
            return 0;
    }
    return 0;
}

static int json_digits(json_cursor *c) {
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
        c->i++;
    return c->i > start;
}

static int json_number(json_cursor *c) {
    if (c->i < c->n && c->s[c->i] == '-')
        c->i++;
    if (c->i < c->n && c->s[c->i] == '0')
        c->i++;
    else if (!json_digits(c))
        return 0;
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (!json_digits(c))
            return 0;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (!json_digits(c))
            return 0;
    }
    return 1;
}

static int json_value(json_cursor *c, int depth) {
    if (depth > JSON_MAX_DEPTH)
        return 0;
    json_ws(c);
    if (c->i >= c->n)
        return 0;
    unsigned char b = c->s[c->i];
    if (b == '{' || b == '[') {
        unsigned char close = b == '{' ? '}' : ']';
        c->i++;
        json_ws(c);
        if (c->i < c->n && c->s[c->i] == close) {
            c->i++;
            return 1;
        }
        for (;;) {
            if (b == '{') {
                json_ws(c);
                if (!json_string(c))
                    return 0;
                json_ws(c);
                if (c->i >= c->n || c->s[c->i] != ':')
                    return 0;
                c->i++;
            }
            if (!json_value(c, depth + 1))
                return 0;
            json_ws(c);
            if (c->i >= c->n)
                return 0;
            if (c->s[c->i] == close) {
                c->i++;
                return 1;
            }
            if (c->s[c->i] != ',')
                return 0;
            c->i++;
        }
    }
    if (b == '"')
        return json_string(c);
    if (b == 't')
        return json_lit(c, "true");
    if (b == 'f')
        return json_lit(c, "false");
    if (b == 'n')
        return json_lit(c, "null");
    return json_number(c);
}

static long json_check(const char *s, size_t n, json_string_fn on_string, void *ctx) {
    json_cursor c = {(const unsigned char *)s, n, 0, on_string, ctx, NULL, 0, 0};
    int ok = json_value(&c, 0);
    if (ok) {
        json_ws(&c);
        ok = c.i == n;
    }
    free(c.buf);
    return ok ? -1 : (long)c.i;
}

#endif
