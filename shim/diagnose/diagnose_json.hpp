// A JSON value (J), written with ltc's one JSON writer (shim/common/json.c) and read back with the one
// parser (json_parse). The diagnosis renders its typed report into a J (diagnose_report.hpp), the cross-rank
// check builds its document as one and reads each rank's report from one. Standard C++ only (no LibTorch):
// tests/fuzz compiles diagnose_json.cpp on its own.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <utility>

namespace ltc_json {

struct J {
    enum Kind { Null, Bool, Num, Str, Arr, Obj } kind = Null;
    bool b = false;
    double n = 0;
    std::string s;
    std::deque<std::pair<std::string, J>> items;  // a deque: references to items survive push_back
    bool one_line = false;                        // an array or object written on one line

    static J null() { return J(); }
    static J boolean(bool v) {
        J j;
        j.kind = Bool;
        j.b = v;
        return j;
    }
    static J num(double v);  // NaN and the infinities are null
    static J str(const std::string &v) {
        J j;
        j.kind = Str;
        j.s = v;
        return j;
    }
    static J arr(bool one_line = false) {
        J j;
        j.kind = Arr;
        j.one_line = one_line;
        return j;
    }
    static J obj(bool one_line = false) {
        J j;
        j.kind = Obj;
        j.one_line = one_line;
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
    // The member named key (the first one), or nullptr.
    const J *find(const std::string &key) const;
};

// Appends j as one JSON document (no newline after it).
void json_write(std::string &out, const J &j);
// Parses text, which must be exactly one JSON value (RFC 8259; whitespace around it), nested at most
// LTC_JSON_MAX_DEPTH deep, its numbers within a double's range. false, with *error naming the byte and
// what was wrong, when it is not.
bool json_parse(const std::string &text, J *out, std::string *error);
// Every scalar of j as "a.b.0.c" -> text into facts (null values are left out; numbers as written).
void flatten(std::map<std::string, std::string> &facts, const std::string &prefix, const J &j);

}  // namespace ltc_json
