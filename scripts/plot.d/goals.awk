# goals.awk: the "goals" of harness JSON reports as Markdown table rows
# "| benchmark | goal | measured | target | result |", and a last line "#counts MET MISSED NOT_MEASURED".
# Each goal is one line of the JSON (bench/harness.c writes them so).
function jstr(line, key,    v) {
    if (!match(line, "\"" key "\": \"([^\"\\\\]|\\\\.)*\""))
        return ""
    v = substr(line, RSTART + length(key) + 5, RLENGTH - length(key) - 6)
    gsub(/\\"/, "\"", v)
    return v
}
function jnum(line, key,    v) {
    if (!match(line, "\"" key "\": [^,}]*"))
        return ""
    v = substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 4)
    return v == "null" ? "" : v + 0
}
FNR == 1 { bench = "" }
/^  "benchmark": "/ { bench = jstr($0, "benchmark") }
/^    \{"goal": / {
    g = jstr($0, "goal")
    v = jnum($0, "value")
    t = jnum($0, "target")
    u = jstr($0, "unit")
    r = jstr($0, "result")
    hib = $0 ~ /"higher_is_better": true/
    if (r == "PASS") { met++; word = "met" }
    else if (r == "MISS") { missed++; word = "**missed**" }
    else { nm++; word = "not measured" }
    printf "| bench_%s | %s | %s | %s %s%s | %s |\n", bench, md_cell(g), v == "" ? "-" : fmt(v, 4) (u != "" && u != "x" ? " " u : u == "x" ? "x" : ""),
        hib ? ">=" : "<=", fmt(t, 4), (u != "" && u != "x" ? " " u : u == "x" ? "x" : ""), word
}
END { print "#counts " met + 0 " " missed + 0 " " nm + 0 }
