/* ltc's one JSON writer, in plain C11. libltc writes its reports with it (the diagnosis, the cross-rank
 * check, ltc-cuda-probe's answer), and the programs that cannot rely on libltc compile this file
 * themselves: check_cuda's front (which must answer when libltc cannot be loaded) and the benchmark
 * harness. Inside libltc its symbols are hidden: they are not part of the API.
 *
 * One policy for every document:
 *   strings  valid UTF-8 is written as it is; a byte that starts no valid UTF-8 sequence (RFC 3629: no
 *            overlong forms, no surrogates, nothing past U+10FFFF) is written as U+FFFD, the replacement
 *            character, so the output is valid UTF-8 whatever bytes were quoted (paths, environment
 *            variables, driver strings), and reads back as it was written.
 *            '"', '\\', \n, \r and \t are escaped by name, the other control characters as \u00XX.
 *   numbers  whole numbers below 2^53 exactly ("13000"), others with 9 significant digits ("0.123",
 *            "1.5e-07"; from 1e9 on rounded to a whole number, from 2^53 on with all 17), whatever the
 *            process's locale; NaN and the infinities as null. A number read back and written again is
 *            written the same.
 *   layout   two spaces per level, one item per line; a container opened "on one line" is written as
 *            {"a": 1, "b": [1, 2]}, and everything inside it too; empty containers as {} and [].
 *
 * Writing: ltc_json_init (or ltc_json_init_file), then values. Inside an object every value follows its
 * key: pass it as the call's `key`, or call ltc_json_key first (for keys that may hold NUL bytes) and
 * pass NULL. In an array and at the top, key is NULL. Containers nest at most LTC_JSON_MAX_DEPTH deep: a
 * deeper one is written as null and what is written into it is dropped. The writer only formats: the
 * sink says whether the bytes arrived (for a FILE, check ferror and fclose as usual). */
#ifndef LTC_COMMON_JSON_H
#define LTC_COMMON_JSON_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { LTC_JSON_MAX_DEPTH = 64 };

/* Where the text goes: called with each piece of it (n bytes, not NUL-terminated). */
typedef void (*ltc_json_sink)(void *ctx, const char *s, size_t n);

typedef struct ltc_json_writer {
    ltc_json_sink sink;
    void *ctx;
    int depth;       /* containers open */
    int dropped;     /* containers open past LTC_JSON_MAX_DEPTH (their contents are dropped) */
    int keyed;       /* a key was written: the next value follows it */
    char close[LTC_JSON_MAX_DEPTH];           /* per open container: '}' or ']' */
    unsigned char used[LTC_JSON_MAX_DEPTH];   /* ... it has an item */
    unsigned char one_line[LTC_JSON_MAX_DEPTH]; /* ... it is written on one line */
} ltc_json_writer;

void ltc_json_init(ltc_json_writer *w, ltc_json_sink sink, void *ctx);
void ltc_json_init_file(ltc_json_writer *w, FILE *f);

/* Containers: one_line != 0 writes this one (and all inside it) on one line. */
void ltc_json_begin_object(ltc_json_writer *w, const char *key, int one_line);
void ltc_json_begin_array(ltc_json_writer *w, const char *key, int one_line);
void ltc_json_end(ltc_json_writer *w);

/* The key of the next value, n bytes (which may hold NUL). */
void ltc_json_key(ltc_json_writer *w, const char *key, size_t n);

/* Values. s NULL writes null. */
void ltc_json_string(ltc_json_writer *w, const char *key, const char *s);
void ltc_json_string_n(ltc_json_writer *w, const char *key, const char *s, size_t n);
void ltc_json_number(ltc_json_writer *w, const char *key, double v);
void ltc_json_bool(ltc_json_writer *w, const char *key, int v);
void ltc_json_null(ltc_json_writer *w, const char *key);

/* The number policy on its own: v as the writer writes it, into buf (32 bytes are always enough);
 * "null" for NaN and the infinities. Returns buf. */
char *ltc_json_number_text(char *buf, size_t size, double v);

#ifdef __cplusplus
}
#endif

#endif /* LTC_COMMON_JSON_H */
