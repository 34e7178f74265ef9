// The package's metadata: AOTInductor writes a flat JSON object of strings (<stem>_metadata.json, the
// AOTI_* keys plus aot_inductor.metadata), and the exporter's ltc.inputs / ltc.outputs values describe
// the tensors: "name:dtype:[d0,d1,...]" items joined by ";", -1 for a dynamic size (docs/model.md).
#include "model_internal.hpp"

#include <cstdlib>

namespace ltc_pt2 {

namespace {

struct Reader {
    const std::string &s;
    size_t i = 0;
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
            i++;
    }
    bool eat(char c) {
        ws();
        if (i < s.size() && s[i] == c) {
            i++;
            return true;
        }
        return false;
    }
    static void utf8(std::string &out, unsigned cp) {
        if (cp < 0x80) {
            out += (char)cp;
        } else if (cp < 0x800) {
            out += (char)(0xC0 | (cp >> 6));
            out += (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += (char)(0xE0 | (cp >> 12));
            out += (char)(0x80 | ((cp >> 6) & 0x3F));
            out += (char)(0x80 | (cp & 0x3F));
        } else {
            out += (char)(0xF0 | (cp >> 18));
            out += (char)(0x80 | ((cp >> 12) & 0x3F));
            out += (char)(0x80 | ((cp >> 6) & 0x3F));
            out += (char)(0x80 | (cp & 0x3F));
        }
    }
    bool hex4(unsigned *cp) {
        if (i + 4 > s.size())
            return false;
        char buf[5] = {s[i], s[i + 1], s[i + 2], s[i + 3], 0};
        char *end = nullptr;
        *cp = (unsigned)strtoul(buf, &end, 16);
        i += 4;
        return *end == '\0';
    }
    bool string(std::string &out) {
        if (!eat('"'))
            return false;
        while (i < s.size() && s[i] != '"') {
            char c = s[i++];
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i >= s.size())
                return false;
            char e = s[i++];
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            if (const char *k = e ? strchr(from, e) : nullptr) {
                out += to[k - from];
                continue;
            }
            unsigned cp = 0, lo = 0;
            if (e != 'u' || !hex4(&cp))
                return false;
            if (cp >= 0xD800 && cp < 0xDC00 && s.compare(i, 2, "\\u") == 0 && (i += 2, hex4(&lo)) && lo >= 0xDC00 &&
                lo < 0xE000)
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            utf8(out, cp);
        }
        return eat('"');
    }
};

}  // namespace

std::string parse_json_strings(const std::string &text, std::map<std::string, std::string> *out) {
    Reader r{text};
    if (!r.eat('{'))
        return "not a JSON object";
    if (r.eat('}'))
        return "";
    do {
        std::string k, v;
        if (!r.string(k) || !r.eat(':'))
            return "a key is not a JSON string";
        if (!r.string(v))
            return "the value of \"" + k + "\" is not a string";
        (*out)[k] = v;
    } while (r.eat(','));
    return r.eat('}') ? "" : "the object does not end where it should";
}

bool parse_io_specs(const std::string &text, std::vector<IoSpec> *out) {
    std::vector<IoSpec> specs;
    size_t i = 0;
    while (i < text.size()) {
        size_t end = text.find(';', i);
        std::string item = text.substr(i, end == std::string::npos ? std::string::npos : end - i);
        i = end == std::string::npos ? text.size() : end + 1;
        size_t a = item.find(':'), b = a == std::string::npos ? a : item.find(':', a + 1);
        if (b == std::string::npos || item.size() < b + 3 || item[b + 1] != '[' || item.back() != ']')
            return false;
        IoSpec io;
        io.name = item.substr(0, a);
        io.dtype = item.substr(a + 1, b - a - 1);
        io.ndim = 0;
        std::string dims = item.substr(b + 2, item.size() - b - 3);
        for (size_t j = 0; j < dims.size();) {
            char *stop = nullptr;
            long long d = strtoll(dims.c_str() + j, &stop, 10);
            size_t used = (size_t)(stop - dims.c_str());
            if (used == j || d < -1 || io.ndim == LTC_MAX_DIMS || (used < dims.size() && dims[used] != ','))
                return false;
            io.shape[io.ndim++] = d;
            j = used + (used < dims.size());
        }
        specs.push_back(io);
    }
    *out = std::move(specs);
    return true;
}

}  // namespace ltc_pt2
