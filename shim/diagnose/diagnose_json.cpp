// A JSON value, its writer (ltc's one writer, shim/common/json.c) and its parser (see diagnose_json.hpp).
#include "diagnose_json.hpp"

#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace ltc_json {

J J::num(double v) {
    if (!std::isfinite(v))
        return null();
    J j;
    j.kind = Num;
    j.n = v;
    return j;
}

const J *J::find(const std::string &key) const {
    if (kind != Obj)
        return nullptr;
    for (const auto &kv : items)
        if (kv.first == key)
            return &kv.second;
    return nullptr;
}

namespace {

void append(void *ctx, const char *s, size_t n) { static_cast<std::string *>(ctx)->append(s, n); }

void write_value(ltc_json_writer *w, const J &j) {
    switch (j.kind) {
    case J::Null: ltc_json_null(w, nullptr); return;
    case J::Bool: ltc_json_bool(w, nullptr, j.b); return;
    case J::Num: ltc_json_number(w, nullptr, j.n); return;
    case J::Str: ltc_json_string_n(w, nullptr, j.s.data(), j.s.size()); return;
    case J::Arr:
    case J::Obj:
        if (j.kind == J::Obj)
            ltc_json_begin_object(w, nullptr, j.one_line);
        else
            ltc_json_begin_array(w, nullptr, j.one_line);
        for (const auto &kv : j.items) {
            if (j.kind == J::Obj)
                ltc_json_key(w, kv.first.data(), kv.first.size());
            write_value(w, kv.second);
        }
        ltc_json_end(w);
    }
}

// A strict reader: exactly the grammar of RFC 8259; raw bytes inside strings are taken as they are (the
// writer makes them valid UTF-8 again).
struct Parser {
    explicit Parser(const std::string &text) : t(text) {}
    const std::string &t;
    size_t i = 0;
    std::string error;

    bool fail(const char *what) {
        if (error.empty()) {
            char buf[160];
            snprintf(buf, sizeof buf, "%s at byte %zu", what, i);
            error = buf;
        }
        return false;
    }
    void ws() {
        while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
            i++;
    }
    bool literal(const char *word) {
        for (const char *p = word; *p; p++, i++)
            if (i >= t.size() || t[i] != *p)
                return fail("not a JSON value");
        return true;
    }
    bool hex4(unsigned *out) {
        if (i + 4 > t.size())
            return fail("a \\u escape cut short");
        unsigned v = 0;
        for (int k = 0; k < 4; k++) {
            char c = t[i++];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0)
                return fail("a \\u escape that is not 4 hex digits");
            v = v * 16 + (unsigned)d;
        }
        *out = v;
        return true;
    }
    // Appends code point cp as UTF-8: a lead byte, then 6 bits per continuation byte.
    static void utf8(std::string &s, unsigned cp) {
        static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
        int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        char b[4];
        for (int k = n - 1; k > 0; k--, cp >>= 6)
            b[k] = (char)(0x80 | (cp & 0x3F));
        b[0] = (char)(lead[n] | cp);
        s.append(b, (size_t)n);
    }
    bool string(std::string &s) {
        i++;  // the opening quote
        for (;;) {
            if (i >= t.size())
                return fail("a string without its closing quote");
            unsigned char c = (unsigned char)t[i];
            if (c == '"') {
                i++;
                return true;
            }
            if (c < 0x20)
                return fail("a control character inside a string");
            if (c != '\\') {
                s += (char)c;
                i++;
                continue;
            }
            if (++i >= t.size())
                return fail("an escape cut short");
            char e = t[i++];
            switch (e) {
            case '"': s += '"'; break;
            case '\\': s += '\\'; break;
            case '/': s += '/'; break;
            case 'b': s += '\b'; break;
            case 'f': s += '\f'; break;
            case 'n': s += '\n'; break;
            case 'r': s += '\r'; break;
            case 't': s += '\t'; break;
            case 'u': {
                unsigned cp;
                if (!hex4(&cp))
                    return false;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail("a lone low surrogate");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (i + 2 > t.size() || t[i] != '\\' || t[i + 1] != 'u')
                        return fail("a high surrogate without its low one");
                    i += 2;
                    if (!hex4(&lo))
                        return false;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail("a high surrogate without its low one");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                utf8(s, cp);
                break;
            }
            default: i--; return fail("an unknown escape");
            }
        }
    }
    bool digits() {
        size_t from = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9')
            i++;
        return i > from;
    }
    bool number(J *out) {
        size_t from = i;
        if (t[i] == '-')
            i++;
        if (i < t.size() && t[i] == '0')
            i++;
        else if (!digits())
            return fail("not a JSON value");
        if (i < t.size() && t[i] == '.') {
            i++;
            if (!digits())
                return fail("a number without digits after its point");
        }
        if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
            i++;
            if (i < t.size() && (t[i] == '+' || t[i] == '-'))
                i++;
            if (!digits())
                return fail("a number without digits in its exponent");
        }
        double v = 0;
        auto r = std::from_chars(t.data() + from, t.data() + i, v);  // the grammar above, in any locale
        if (r.ec != std::errc() || !std::isfinite(v)) {
            i = from;
            return fail("a number out of range");
        }
        *out = J::num(v);
        return true;
    }
    bool value(J *out, int depth) {
        ws();
        if (i >= t.size())
            return fail("the text ends where a value should be");
        char c = t[i];
        if (c == '{' || c == '[') {
            if (depth >= LTC_JSON_MAX_DEPTH)
                return fail("nested too deep");
            bool obj = c == '{';
            *out = obj ? J::obj() : J::arr();
            i++;
            ws();
            if (i < t.size() && t[i] == (obj ? '}' : ']')) {
                i++;
                return true;
            }
            for (;;) {
                std::string key;
                if (obj) {
                    ws();
                    if (i >= t.size() || t[i] != '"')
                        return fail("an object member without its quoted name");
                    if (!string(key))
                        return false;
                    ws();
                    if (i >= t.size() || t[i] != ':')
                        return fail("a member name without ':'");
                    i++;
                }
                J &item = out->set(key, J());
                if (!value(&item, depth + 1))
                    return false;
                ws();
                if (i < t.size() && t[i] == ',') {
                    i++;
                    continue;
                }
                if (i < t.size() && t[i] == (obj ? '}' : ']')) {
                    i++;
                    return true;
                }
                return fail(obj ? "an object without ',' or '}' after a member" : "an array without ',' or ']' after an item");
            }
        }
        if (c == '"') {
            *out = J::str("");
            return string(out->s);
        }
        if (c == 't') {
            *out = J::boolean(true);
            return literal("true");
        }
        if (c == 'f') {
            *out = J::boolean(false);
            return literal("false");
        }
        if (c == 'n') {
            *out = J::null();
            return literal("null");
        }
        if (c == '-' || (c >= '0' && c <= '9'))
            return number(out);
        return fail("not a JSON value");
    }
};

}  // namespace

void json_write(std::string &out, const J &j) {
    ltc_json_writer w;
    ltc_json_init(&w, append, &out);
    write_value(&w, j);
}

bool json_parse(const std::string &text, J *out, std::string *error) {
    Parser p(text);
    J j;
    bool ok = p.value(&j, 0);
    if (ok) {
        p.ws();
        if (p.i != text.size())
            ok = p.fail("text after the JSON value");
    }
    if (!ok) {
        if (error)
            *error = p.error;
        return false;
    }
    *out = std::move(j);
    return true;
}

void flatten(std::map<std::string, std::string> &facts, const std::string &prefix, const J &j) {
    char buf[40];
    switch (j.kind) {
    case J::Null: return;
    case J::Bool: facts[prefix] = j.b ? "true" : "false"; return;
    case J::Num: facts[prefix] = ltc_json_number_text(buf, sizeof buf, j.n); return;
    case J::Str: facts[prefix] = j.s; return;
    case J::Arr:
    case J::Obj:
        for (size_t i = 0; i < j.items.size(); i++) {
            std::string key = j.kind == J::Obj ? j.items[i].first : std::to_string(i);
            flatten(facts, prefix.empty() ? key : prefix + "." + key, j.items[i].second);
        }
    }
}

}  // namespace ltc_json
