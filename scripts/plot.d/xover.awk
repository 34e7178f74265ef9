# xover.awk: the CPU/GPU crossover of bench_train's sweep, by its rule: the smallest global batch from
# which "1 GPU eager" (or "1 GPU eager + H2D") is faster than the CPU with all threads at every larger
# batch measured. Feed rows with xover_add(case, batch, median); then xover_find("gpu" or "h2d") gives
# the batch, "none" (the CPU is faster at the largest batch), or "" (the cases are not there).
# XO_CPU_NAME is the CPU case compared with.

function xover_add(c, b, m,    k, t) {
    if (c ~ /^CPU, [0-9]+ threads$/) {
        t = c
        sub(/^CPU, /, "", t)
        t = t + 0
        if (t < XO_THREADS)
            return
        if (t > XO_THREADS) {
            split("", XO_CPU)
            XO_THREADS = t
            XO_CPU_NAME = c
        }
        k = "cpu"
    } else if (c == "1 GPU eager") {
        k = "gpu"
    } else if (c == "1 GPU eager + H2D") {
        k = "h2d"
    } else {
        return
    }
    if (k == "cpu")
        XO_CPU[b] = m
    else
        XO[k, b] = m
    XO_B[b] = 1
}

function xover_find(k,    b, bs, n, i, found) {
    n = 0
    for (b in XO_B)
        if ((b in XO_CPU) && ((k, b) in XO))
            bs[++n] = b + 0
    if (n == 0)
        return ""
    sort_num(bs, n)
    found = "none"
    for (i = n; i >= 1 && XO[k, bs[i]] < XO_CPU[bs[i]]; i--)
        found = bs[i]
    return found
}
