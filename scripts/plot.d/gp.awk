# gp.awk: what every plot script shares: the PNG and SVG terminals, the title, the colours.
# Needs csv.awk. A plot program calls gp_begin, prints its own settings and `plot` to the same file,
# then gp_end, which draws the same plot again as SVG.

function gp_begin(f, name, title, machine, xlabel, ylabel,    i) {
    printf "# %s.gp: written by scripts/plot from the report's CSV files.\n", name > f
    printf "# To draw %s.png and %s.svg again: cd to this folder, then gnuplot %s.gp\n", name, name, name > f
    print "set encoding utf8" > f
    print "set terminal pngcairo size 1200,750 font \"Sans,13\" noenhanced" > f
    print "set output " gp_str(name ".png") > f
    print "set datafile separator \"\\t\"" > f
    print "set title " gp_str(title (machine != "" ? "\n" machine : "")) > f
    print "set xlabel " gp_str(xlabel) > f
    print "set ylabel " gp_str(ylabel) > f
    print "set grid xtics ytics lc rgb \"#d0d0d0\" lw 1 dt 1" > f
    print "set border lw 1.2" > f
    print "set key outside right top vertical Left reverse box opaque spacing 1.3 samplen 3" > f
    print "set pointsize 1.1" > f
    # Okabe-Ito: told apart with colour blindness too; then greys
    split("#0072B2 #D55E00 #009E73 #CC79A7 #E69F00 #56B4E9 #000000 #8C564B #999999 #F0E442", GP_COLOR, " ")
    for (i = 1; i <= 10; i++)
        printf "set linetype %d lc rgb \"%s\" lw 2 pt %d\n", i, GP_COLOR[i], (i == 1 ? 7 : i == 2 ? 5 : i == 3 ? 9 : i == 4 ? 13 : i == 5 ? 11 : 6 + i) > f
}

function gp_end(f, name) {
    print "set terminal svg size 1200,750 font \"Sans,13\" noenhanced dynamic background rgb \"white\"" > f
    print "set output " gp_str(name ".svg") > f
    print "replot" > f
    print "set output" > f
    close(f)
}

# "set xtics (...)" for the sorted values v[1..n] labelled by kind ("batch", "bytes", or "" for plain):
# at most about `most` of them, evenly spaced, counted back from the last one
function gp_xtics(f, v, n, kind, most,    i, k, s, lab) {
    k = n > most ? int((n + most - 1) / most) : 1
    s = ""
    for (i = n; i >= 1; i -= k) {
        lab = kind == "batch" ? batch_label(v[i]) : kind == "bytes" ? bytes_label(v[i]) : v[i] ""
        s = gp_str(lab) " " v[i] (s == "" ? "" : ", ") s
    }
    print "set xtics (" s ")" > f
}

# sorts a[1..n] ascending (numbers), in place; insertion sort, the lists are short
function sort_num(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) {
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--)
            a[j + 1] = a[j]
        a[j + 1] = t
    }
}
