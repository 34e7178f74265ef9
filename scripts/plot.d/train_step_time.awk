# train_step_time.awk: step time against global batch, log-log, one line per case of train.csv (CPU 1
# thread, CPU all threads, the GPU cases), the CPU/GPU crossover marked. Needs csv.awk, gp.awk, xover.awk.
# -v dir=PLOTS_DIR name=NAME machine=TEXT [xover=BATCH xover_h2d=BATCH] (else computed from the rows).
# Writes dir/name.dat and dir/name.gp; prints "ok: ..." or "skip: why".
FNR == 1 { csv_header($0); next }
{
    csv_row($0)
    c = col("case")
    b = num("batch")
    m = num("median_us")
    if (c == "" || b == "" || m == "")
        next
    if (!(c in rows)) {
        order[++ns] = c
        rows[c] = ""
    }
    rows[c] = rows[c] b "\t" m "\t" (num("min_us") == "" ? "NaN" : num("min_us")) "\t" (num("max_us") == "" ? "NaN" : num("max_us")) "\n"
    xover_add(c, b, m)
    if (!(b in seen)) {
        seen[b] = 1
        xs[++nx] = b
    }
}
END {
    if (ns == 0) {
        print "skip: train.csv has no rows with case, batch and median_us"
        exit 0
    }
    if (xover == "")
        xover = xover_find("gpu")
    if (xover_h2d == "")
        xover_h2d = xover_find("h2d")
    dat = dir "/" name ".dat"
    gp = dir "/" name ".gp"
    printf "" > dat
    for (s = 1; s <= ns; s++)
        printf "# %s\n%s%s", order[s], rows[order[s]], s < ns ? "\n\n" : "" > dat
    close(dat)
    sort_num(xs, nx)
    gp_begin(gp, name, "Linear(100, 10) SGD step time against global batch (bench_train)", machine,
             "global batch (samples; K = 1024, M = 1024 K)", "step time (µs): median, bars from min to max")
    print "set logscale xy" > gp
    print "set format y \"%g\"" > gp
    gp_xtics(gp, xs, nx, "batch", 10)
    print "set xrange [" xs[1] / 1.5 ":" xs[nx] * 1.5 "]" > gp
    what = ""
    if (xover != "" && xover != "none") {
        printf "set arrow from %s, graph 0 to %s, graph 1 nohead dt 2 lw 2 lc rgb \"#444444\" back\n", xover, xover > gp
        # the labels sit at the graph's left edge (a long label beside its line runs off the plot);
        # the dashed and dotted lines mark where
        printf "set label %s at graph 0.02, graph 0.04 left textcolor rgb \"#444444\" front\n",
            gp_str("dashed: 1 GPU eager beats " XO_CPU_NAME " from batch " batch_label(xover)) > gp
        what = "crossover at batch " xover
    } else if (xover == "none") {
        printf "set label %s at graph 0.98, graph 0.04 right textcolor rgb \"#444444\" front\n",
            gp_str("no crossover: the CPU is faster up to the largest batch") > gp
        what = "no crossover"
    }
    if (xover_h2d != "" && xover_h2d != "none" && xover_h2d != xover) {
        printf "set arrow from %s, graph 0 to %s, graph 1 nohead dt 3 lw 2 lc rgb \"#444444\" back\n", xover_h2d, xover_h2d > gp
        printf "set label %s at graph 0.02, graph 0.10 left textcolor rgb \"#444444\" front\n",
            gp_str("dotted: with the batch copied in (+ H2D), from batch " batch_label(xover_h2d)) > gp
    }
    s = ""
    for (i = 1; i <= ns; i++)
        s = s sprintf("%s \\\n     %s index %d using 1:2:3:4 with yerrorlines lt %d title %s", i > 1 ? "," : "",
                      gp_str(name ".dat"), i - 1, i, gp_str(order[i]))
    print "plot " s > gp
    gp_end(gp, name)
    print "ok: " ns " cases" (what != "" ? ", " what : "")
}
