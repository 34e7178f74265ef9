# peers_md.awk: bench_train's side-by-side figures as one Markdown table, a row per global batch: for
# each Python peer named in train.csv's "peer" column, its median, then each ltc case compared with it
# (median, and the peer's time over ltc's). Needs csv.awk, gp.awk (sort_num). Prints nothing without
# Python figures.
FNR == 1 { csv_header($0); next }
{
    csv_row($0)
    c = col("case")
    p = col("peer")
    b = num("batch")
    m = num("median_us")
    pm = num("peer_median_us")
    if (c == "" || p == "" || p == "-" || b == "" || m == "" || pm == "")
        next
    if (!(p in is_peer)) {
        is_peer[p] = 1
        peers[++np] = p
    }
    if (!((p, c) in is_case)) {
        is_case[p, c] = 1
        ncase[p]++
        cases[p, ncase[p]] = c
    }
    pt[p, b] = pm
    t[c, b] = m
    if (!(b in seen)) {
        seen[b] = 1
        bs[++nb] = b
    }
}
END {
    if (np == 0)
        exit 0
    sort_num(bs, nb)
    line = "| global batch |"
    sep = "| ---: |"
    for (i = 1; i <= np; i++) {
        p = peers[i]
        line = line " " md_cell(p) " (us) |"
        sep = sep " ---: |"
        for (j = 1; j <= ncase[p]; j++) {
            line = line " ltc " md_cell(cases[p, j]) " (us) | " md_cell(p) " / it (x) |"
            sep = sep " ---: | ---: |"
        }
    }
    print line
    print sep
    for (k = 1; k <= nb; k++) {
        b = bs[k]
        line = "| " b " |"
        for (i = 1; i <= np; i++) {
            p = peers[i]
            line = line " " (((p, b) in pt) ? fmt(pt[p, b], 4) : "-") " |"
            for (j = 1; j <= ncase[p]; j++) {
                c = cases[p, j]
                line = line " " (((c, b) in t) ? fmt(t[c, b], 4) : "-") " | " \
                    (((c, b) in t) && ((p, b) in pt) ? sprintf("%.2f", pt[p, b] / t[c, b]) : "-") " |"
            }
        }
        print line
    }
}
