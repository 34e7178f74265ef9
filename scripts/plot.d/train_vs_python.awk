# train_vs_python.awk: ltc against the seed's Python, side by side: step time against global batch,
# log-log; solid lines for each ltc case of train.csv that names a peer (its "peer" column), dashed ones
# for each Python peer of train-peers.csv. Needs csv.awk, gp.awk.
# -v dir=PLOTS_DIR name=NAME machine=TEXT; files: train.csv train-peers.csv.
# Writes dir/name.dat and dir/name.gp; prints "ok: ..." or "skip: why".
FNR == 1 { csv_header($0); peers = FILENAME ~ /-peers\.csv$/; next }
{
    csv_row($0)
    b = num("batch")
    m = num("median_us")
    if (b == "" || m == "")
        next
    if (peers) {
        s = col("peer")
        if (s == "")
            next
        py = 1
    } else {
        if (col("peer") == "" || col("peer") == "-")
            next
        s = "ltc: " col("case")
        py = 0
    }
    if (!(s in rows)) {
        order[++ns] = s
        is_py[s] = py
        rows[s] = ""
    }
    rows[s] = rows[s] b "\t" m "\n"
    if (py)
        npy++
    if (!(b in seen)) {
        seen[b] = 1
        xs[++nx] = b
    }
}
END {
    if (npy == 0) {
        print "skip: no Python figures (train-peers.csv has no rows: no Python peer ran)"
        exit 0
    }
    dat = dir "/" name ".dat"
    gp = dir "/" name ".gp"
    printf "" > dat
    for (s = 1; s <= ns; s++)
        printf "# %s\n%s%s", order[s], rows[order[s]], s < ns ? "\n\n" : "" > dat
    close(dat)
    sort_num(xs, nx)
    gp_begin(gp, name, "ltc against the seed's Python, side by side (bench_train)", machine,
             "global batch (samples; K = 1024, M = 1024 K)", "step time, median (µs)")
    print "set logscale xy" > gp
    print "set format y \"%g\"" > gp
    gp_xtics(gp, xs, nx, "batch", 10)
    print "set xrange [" xs[1] / 1.5 ":" xs[nx] * 1.5 "]" > gp
    p = ""
    for (i = 1; i <= ns; i++)
        p = p sprintf("%s \\\n     %s index %d using 1:2 with linespoints lt %d %s title %s", i > 1 ? "," : "",
                      gp_str(name ".dat"), i - 1, i, is_py[order[i]] ? "dt 2 pt 6 lw 2.5" : "", gp_str(order[i]))
    print "plot " p > gp
    gp_end(gp, name)
    print "ok: " ns - npy_series() " ltc cases, " npy_series() " Python peers"
}
function npy_series(    i, n) {
    n = 0
    for (i = 1; i <= ns; i++)
        n += is_py[order[i]]
    return n
}
