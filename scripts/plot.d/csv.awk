# csv.awk: reading the benchmark harness's CSV files (bench/harness.c) by column name, in POSIX awk
# (mawk, gawk, busybox). Loaded with -f before the program that uses it.
#
#   FNR == 1 { csv_header($0); next }     the header line: column names -> positions
#   { csv_row($0); x = col("batch") }      a row; col() is "" for a missing column or empty cell
#
# A text cell holding a comma, a quote or a newline is quoted, with quotes doubled; numbers are plain;
# a value that was not measured is an empty cell.

function csv_split(line, out,    n, i, c, q, cur, len) {
    sub(/\r$/, "", line)
    n = 0
    cur = ""
    q = 0
    len = length(line)
    for (i = 1; i <= len; i++) {
        c = substr(line, i, 1)
        if (q) {
            if (c == "\"") {
                if (substr(line, i + 1, 1) == "\"") {
                    cur = cur "\""
                    i++
                } else {
                    q = 0
                }
            } else {
                cur = cur c
            }
        } else if (c == "\"") {
            q = 1
        } else if (c == ",") {
            out[++n] = cur
            cur = ""
        } else {
            cur = cur c
        }
    }
    out[++n] = cur
    return n
}

function csv_header(line,    n, i, h) {
    split("", CSV_COL)
    n = csv_split(line, h)
    for (i = 1; i <= n; i++)
        CSV_COL[h[i]] = i
    CSV_NCOL = n
    return n
}

function csv_row(line) {
    split("", CSV_F)
    return csv_split(line, CSV_F)
}

function has_col(name) { return (name in CSV_COL) }

function col(name) { return (name in CSV_COL) ? CSV_F[CSV_COL[name]] : "" }

# a cell as a number, or "" when empty or not a number
function num(name,    v) {
    v = col(name)
    return (v ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) ? v + 0 : ""
}

# "1.23", "45.6", "789": n significant digits at most, no exponent for everyday sizes
function fmt(v, digits,    a) {
    if (v == "")
        return "-"
    a = v < 0 ? -v : v
    if (a >= 1e7 || (a > 0 && a < 1e-3))
        return sprintf("%.3g", v)
    if (a >= 1000)
        return sprintf("%.0f", v)
    return sprintf("%." digits "g", v)
}

# 262144 -> "256K", 2097152 -> "2M", 1536 -> "1536" (K = 1024)
function batch_label(b) {
    if (b >= 1048576 && b % 1048576 == 0)
        return (b / 1048576) "M"
    if (b >= 16384 && b % 1024 == 0)
        return (b / 1024) "K"
    return b ""
}

# 4 -> "4 B", 65536 -> "64 KiB", 1073741824 -> "1 GiB"
function bytes_label(b) {
    if (b >= 1073741824 && b % 1073741824 == 0)
        return (b / 1073741824) " GiB"
    if (b >= 1048576 && b % 1048576 == 0)
        return (b / 1048576) " MiB"
    if (b >= 1024 && b % 1024 == 0)
        return (b / 1024) " KiB"
    return b " B"
}

# s with a backslash put before each character of chars (and newlines written as \n)
function esc(s, chars,    i, c, out, len) {
    out = ""
    len = length(s)
    for (i = 1; i <= len; i++) {
        c = substr(s, i, 1)
        if (c == "\n")
            c = "\\n"
        else if (index(chars, c))
            c = "\\" c
        out = out c
    }
    return out
}

# a gnuplot string literal
function gp_str(s) { return "\"" esc(s, "\\\"") "\"" }

# a Markdown table cell
function md_cell(s) { return esc(s, "|") }
