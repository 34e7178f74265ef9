# train_scaling.awk: samples/s against the number of GPUs, from train.csv: "1 GPU eager" is the 1-GPU
# point and the ideal line (N times it), "N GPUs ddp" and "N GPUs dp" rows the others (the GPU count is
# the "gpus" column when there is one, else the case's leading number). For the smallest, a middle and
# the largest batch measured on 2 or more GPUs. Needs csv.awk, gp.awk.
# -v dir=PLOTS_DIR name=NAME machine=TEXT. Writes dir/name.dat and dir/name.gp; prints "ok: ..." or "skip: why".
FNR == 1 { csv_header($0); next }
{
    csv_row($0)
    c = col("case")
    b = num("batch")
    v = num("samples_per_s")
    if (v == "" && b != "" && num("median_us") != "")
        v = b / (num("median_us") * 1e-6)
    if (b == "" || v == "")
        next
    if (c == "1 GPU eager") {
        base[b] = v
        next
    }
    if (c !~ /^[0-9]+ GPUs? (ddp|dp)$/)
        next
    n = has_col("gpus") && num("gpus") != "" ? num("gpus") : c + 0
    mode = c ~ / ddp$/ ? "ddp" : "dp"
    val[mode, b, n] = v
    if (n >= 2)
        multi[b] = 1
    if (!((mode, n) in seen_n)) {
        seen_n[mode, n] = 1
        ns_[mode] = ns_[mode] " " n
    }
    if (n > maxn)
        maxn = n
}
END {
    nb = 0
    for (b in multi)
        if (b in base)
            bs[++nb] = b + 0
    if (nb == 0) {
        print "skip: train.csv has no 1 GPU eager row and ddp or dp rows on 2 or more GPUs at the same batch"
        exit 0
    }
    sort_num(bs, nb)
    pick[1] = bs[1]
    np = 1
    if (nb >= 3)
        pick[++np] = bs[int((nb + 1) / 2)]
    if (nb >= 2)
        pick[++np] = bs[nb]
    dat = dir "/" name ".dat"
    gp = dir "/" name ".gp"
    printf "" > dat
    nblk = 0
    plot = ""
    for (p = 1; p <= np; p++) {
        b = pick[p]
        for (m = 1; m <= 2; m++) {
            mode = m == 1 ? "ddp" : "dp"
            k = split(ns_[mode], ns, " ")
            if (k == 0)
                continue
            sort_num(ns, k)
            rowsb = "1\t" base[b] "\n"
            last = ""
            for (i = 1; i <= k; i++)
                if (ns[i] >= 2 && ((mode, b, ns[i]) in val)) {
                    rowsb = rowsb ns[i] "\t" val[mode, b, ns[i]] "\n"
                    last = ns[i]
                }
            if (last == "")
                continue
            printf "%s# ltc %s, batch %s\n%s", nblk ? "\n\n" : "", mode, b, rowsb > dat
            eff = val[mode, b, last] / (last * base[b]) * 100
            plot = plot sprintf("%s \\\n     %s index %d using 1:2 with linespoints lt %d dt %d pt %d ps 1.6 title %s",
                                plot == "" ? "" : ",", gp_str(name ".dat"), nblk, p, m == 1 ? 1 : 4, m == 1 ? 7 : 5,
                                gp_str(sprintf("%s: ltc %s, %.0f%% of ideal on %d GPUs", batch_label(b), mode, eff, last)))
            nblk++
        }
        plot = plot sprintf(", \\\n     %.9g * x with lines lt %d dt 3 lw 1.5 title %s", base[b], p,
                            gp_str(batch_label(b) ": ideal, N x 1 GPU"))
    }
    close(dat)
    gp_begin(gp, name, "Scaling: samples/s against GPUs (bench_train)", machine,
             "GPUs (1 = 1 GPU eager; the global batch split over the GPUs)", "samples/s (global batch / median step time)")
    print "set logscale xy" > gp
    print "set format y \"%.0s%c\"" > gp
    s = ""
    for (n = 1; n <= maxn; n *= 2)
        s = s (s == "" ? "" : ", ") n
    if (maxn > 1 && s !~ ("(^|, )" maxn "$"))
        s = s ", " maxn
    print "set xtics (" s ")" > gp
    print "set xrange [0.85:" (maxn < 2 ? 2 : maxn) * 1.2 "]" > gp
    print "set key title \"global batch (K, M = 2^10, 2^20): case\"" > gp
    print "plot " plot > gp
    gp_end(gp, name)
    print "ok: " np " batches, up to " maxn " GPUs"
}
