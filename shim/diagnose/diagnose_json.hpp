// The diagnosis's JSON value and writer: the report is built as one J, printed as JSON, and flattened
// for ltc_diagnosis_get. Standard C++ only (no LibTorch): tests/fuzz compiles diagnose_json.cpp on its own.
#pragma once

#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <utility>

namespace ltc_json {

struct J {
    enum Kind { Null, Bool, Num, Str, Arr, Obj } kind = Null;
    std::string s;
    std::deque<std::pair<std::string, J>> items;  // a deque: references to items survive push_back

    static J null() { return J(); }
    static J boolean(bool b) {
        J j;
        j.kind = Bool;
        j.s = b ? "true" : "false";
        return j;
    }
    static J num(double v) {
        J j;
        j.kind = Num;
        char buf[64];
        if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
            snprintf(buf, sizeof buf, "%.0f", v);
        else if (std::isfinite(v))
            snprintf(buf, sizeof buf, "%.6g", v);
        else
            return null();
        j.s = buf;
        return j;
    }
    static J str(const std::string &v) {
        J j;
        j.kind = Str;
        j.s = v;
        return j;
    }
    static J arr() {
        J j;
        j.kind = Arr;
        return j;
    }
    static J obj() {
        J j;
        j.kind = Obj;
        return j;
    }
    J &set(const std::string &key, J v) {
        items.emplace_back(key, std::move(v));
        return items.back().second;
    }
    J &push(J v) {
        items.emplace_back("", std::move(v));
        return items.back().second;
    }
};

// Appends s as a JSON string (quoted, escaped; bytes that are not valid UTF-8 become U+FFFD).
void json_escape(std::string &out, const std::string &s);
// Appends j as JSON, indented by `indent` spaces (two more per level).
void json_write(std::string &out, const J &j, int indent);
// Every scalar of j as "a.b.0.c" -> text into facts (null values are left out).
void flatten(std::map<std::string, std::string> &facts, const std::string &prefix, const J &j);

}  // namespace ltc_json
