# speedup.awk: bench_train's CPU against GPU as Markdown: per global batch, the median step time of the
# CPU cases and the one-GPU cases of train.csv, and the CPU (all threads) time over each GPU case's;
# then the crossover lines. Needs csv.awk, gp.awk (sort_num), xover.awk.
# -v xover=BATCH xover_h2d=BATCH: the benchmark's own figures ("" to compute them from the rows).
FNR == 1 { csv_header($0); next }
{
    csv_row($0)
    c = col("case")
    b = num("batch")
    m = num("median_us")
    if (c == "" || b == "" || m == "" || (c !~ /^CPU, / && c !~ /^1 GPU /))
        next
    xover_add(c, b, m)
    if (!(c in is_case)) {
        is_case[c] = 1
        cases[++nc] = c
        gpu[nc] = c ~ /GPU/
        ngpu += gpu[nc]
    }
    t[c, b] = m
    if (!(b in seen)) {
        seen[b] = 1
        bs[++nb] = b
    }
}
END {
    if (nc == 0) {
        print "No CPU or one-GPU rows in train.csv."
        exit 0
    }
    sort_num(bs, nb)
    cpu = XO_CPU_NAME
    line = "| global batch |"
    sep = "| ---: |"
    for (i = 1; i <= nc; i++) {
        line = line " " md_cell(cases[i]) " (us) |"
        sep = sep " ---: |"
    }
    for (i = 1; i <= nc; i++)
        if (gpu[i] && cpu != "") {
            line = line " " md_cell(cpu) " / " md_cell(cases[i]) " (x) |"
            sep = sep " ---: |"
        }
    print line
    print sep
    for (j = 1; j <= nb; j++) {
        b = bs[j]
        line = "| " b " |"
        for (i = 1; i <= nc; i++)
            line = line " " (((cases[i], b) in t) ? fmt(t[cases[i], b], 4) : "-") " |"
        for (i = 1; i <= nc; i++)
            if (gpu[i] && cpu != "")
                line = line " " (((cases[i], b) in t) && ((cpu, b) in t) ? sprintf("%.2f", t[cpu, b] / t[cases[i], b]) : "-") " |"
        print line
    }
    print ""
    if (ngpu == 0) {
        print "No GPU case was measured (no usable GPU where the report was made): no speedup or crossover."
        exit 0
    }
    if (xover == "")
        xover = xover_find("gpu")
    if (xover_h2d == "")
        xover_h2d = xover_find("h2d")
    say("1 GPU eager", xover, "the batch already on the GPU")
    say("1 GPU eager + H2D", xover_h2d, "the batch copied in from pinned host memory every step")
}
function say(what, x, how) {
    if (x == "")
        return
    if (x == "none")
        printf "- Crossover, %s (%s): **none**; %s is faster up to the largest batch, %s.\n", what, how, cpu, bs[nb]
    else if (x + 0 == bs[1])
        printf "- Crossover, %s (%s): **%s**, the smallest batch measured: the GPU is faster at every batch.\n", what, how, x
    else
        printf "- Crossover, %s (%s): **batch %s**: from there on, the GPU is faster than %s at every larger batch measured.\n", what, how, x, cpu
}
