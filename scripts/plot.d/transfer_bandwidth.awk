# transfer_bandwidth.awk: copy bandwidth against size, one line per copy and memory of bench_transfer's
# sweep (transfer.csv), with the PCIe link's theoretical rate as a line (link_GBps of transfer-fit.csv,
# else bandwidth / of_link_pct). Needs csv.awk, gp.awk.
# -v dir=PLOTS_DIR name=NAME machine=TEXT link_name="PCIe Gen5 x16" (or ""); files: transfer.csv
# [transfer-fit.csv]. Writes dir/name.dat and dir/name.gp; prints "ok: ..." or "skip: why".
FNR == 1 { csv_header($0); fit = FILENAME ~ /-fit\.csv$/; next }
{
    csv_row($0)
    if (fit) {
        if (link == "" && num("link_GBps") != "")
            link = num("link_GBps")
        next
    }
    b = num("bytes")
    bw = num("bandwidth_GBps")
    if (b == "" || bw == "")
        next
    s = col("copy") (col("memory") != "" ? ", " col("memory") : "")
    if (!(s in rows)) {
        order[++ns] = s
        rows[s] = ""
    }
    rows[s] = rows[s] b "\t" bw "\n"
    if (link_from_pct == "" && num("of_link_pct") != "" && num("of_link_pct") > 0)
        link_from_pct = bw / num("of_link_pct") * 100
    if (!(b in seen)) {
        seen[b] = 1
        xs[++nx] = b
    }
    if (bw > ymax)
        ymax = bw
}
END {
    if (ns == 0) {
        print "skip: transfer.csv has no rows with bytes and bandwidth_GBps"
        exit 0
    }
    if (link == "" && link_from_pct != "")
        link = sprintf("%.1f", link_from_pct)
    dat = dir "/" name ".dat"
    gp = dir "/" name ".gp"
    printf "" > dat
    for (s = 1; s <= ns; s++)
        printf "# %s\n%s%s", order[s], rows[order[s]], s < ns ? "\n\n" : "" > dat
    close(dat)
    sort_num(xs, nx)
    gp_begin(gp, name, "Copy bandwidth against size (bench_transfer)", machine,
             "copy size (bytes; KiB = 1024 B)", "bandwidth = bytes / median time of a synced copy (GB/s = 10^9 B/s)")
    print "set logscale x 2" > gp
    gp_xtics(gp, xs, nx, "bytes", 11)
    print "set xrange [" xs[1] / 1.5 ":" xs[nx] * 1.5 "]" > gp
    top = link != "" && link + 0 > ymax ? link + 0 : ymax
    print "set yrange [0:" top * 1.12 "]" > gp
    s = ""
    for (i = 1; i <= ns; i++)
        s = s sprintf("%s \\\n     %s index %d using 1:2 with linespoints lt %d title %s", i > 1 ? "," : "",
                      gp_str(name ".dat"), i - 1, i, gp_str(order[i]))
    if (link != "") {
        s = s sprintf(", \\\n     %s with lines dt 2 lw 2 lc rgb \"#444444\" title \"PCIe link\"", link)
        printf "set label %s at graph 0.02, first %s offset 0, 0.8 left textcolor rgb \"#444444\" front\n",
            gp_str((link_name != "" ? link_name : "PCIe link") ", theoretical: " sprintf("%.1f", link) " GB/s per direction"), link > gp
    }
    print "plot " s > gp
    gp_end(gp, name)
    print "ok: " ns " series" (link != "" ? ", PCIe line at " sprintf("%.1f", link) " GB/s" : ", no PCIe line (no GPU link in the report)")
}
