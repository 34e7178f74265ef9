// The diagnosis's JSON writer (see diagnose_json.hpp).
#include "diagnose_json.hpp"

namespace ltc_json {

// Bytes in the valid UTF-8 sequence at s[i] (a byte of 0x80 or more), or 0 where there is none (RFC 3629:
// no overlong forms, no surrogates, nothing past U+10FFFF).
static size_t utf8_length(const std::string &s, size_t i) {
    unsigned char b = (unsigned char)s[i];
    size_t n = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > s.size())
        return 0;
    for (size_t k = 1; k < n; k++)
        if (((unsigned char)s[i + k] & 0xC0) != 0x80)
            return 0;
    unsigned char b1 = (unsigned char)s[i + 1];
    if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 > 0x8F))
        return 0;
    return n;
}

// JSON text must be UTF-8, but what the report quotes (paths, environment variables, driver strings) may
// not be: a byte that starts no valid sequence is written as U+FFFD.
void json_escape(std::string &out, const std::string &s) {
    out += '"';
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t n = utf8_length(s, i);
            if (n == 0) {
                out += "\\ufffd";
            } else {
                out.append(s, i, n);
                i += n - 1;
            }
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += (char)c;
            }
        }
    }
    out += '"';
}

void json_write(std::string &out, const J &j, int indent) {
    std::string pad(indent + 2, ' ');
    switch (j.kind) {
    case J::Null: out += "null"; return;
    case J::Bool:
    case J::Num: out += j.s; return;
    case J::Str: json_escape(out, j.s); return;
    case J::Arr:
    case J::Obj: {
        bool obj = j.kind == J::Obj;
        if (j.items.empty()) {
            out += obj ? "{}" : "[]";
            return;
        }
        out += obj ? "{\n" : "[\n";
        for (size_t i = 0; i < j.items.size(); i++) {
            out += pad;
            if (obj) {
                json_escape(out, j.items[i].first);
                out += ": ";
            }
            json_write(out, j.items[i].second, indent + 2);
            out += i + 1 < j.items.size() ? ",\n" : "\n";
        }
        out += std::string(indent, ' ');
        out += obj ? "}" : "]";
    }
    }
}

void flatten(std::map<std::string, std::string> &facts, const std::string &prefix, const J &j) {
    if (j.kind == J::Arr || j.kind == J::Obj) {
        for (size_t i = 0; i < j.items.size(); i++) {
            std::string key = j.kind == J::Obj ? j.items[i].first : std::to_string(i);
            flatten(facts, prefix.empty() ? key : prefix + "." + key, j.items[i].second);
        }
    } else if (j.kind != J::Null) {
        facts[prefix] = j.s;
    }
}

}  // namespace ltc_json
