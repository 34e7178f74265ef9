# context.awk: the "context" object of a harness JSON report (bench/harness.c writes one "key": "value"
# a line) as key<TAB>value lines; other JSON files give nothing.
/^  "context": \{/ { in_ctx = 1; next }
in_ctx && /^  \}/ { in_ctx = 0 }
in_ctx && match($0, /^ *"[^"]*": "/) {
    k = substr($0, RSTART, RLENGTH)
    sub(/^ *"/, "", k)
    sub(/": "$/, "", k)
    v = substr($0, RSTART + RLENGTH)
    sub(/,$/, "", v)
    sub(/"$/, "", v)
    gsub(/\\"/, "\"", v)
    gsub(/\\\\/, "\\", v)
    gsub(/\t/, " ", v)
    print k "\t" v
}
