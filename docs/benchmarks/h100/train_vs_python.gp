# train_vs_python.gp: written by scripts/plot from the report's CSV files.
# To draw train_vs_python.png and train_vs_python.svg again: cd to this folder, then gnuplot train_vs_python.gp
set encoding utf8
set terminal pngcairo size 1200,750 font "Sans,13" noenhanced
set output "train_vs_python.png"
set datafile separator "\t"
set title "ltc against the seed's Python, side by side (bench_train)\nNVIDIA H100 80GB HBM3, host vm, commit b03b955, 2026-11-24"
set xlabel "global batch (samples; K = 1024, M = 1024 K)"
set ylabel "step time, median (µs)"
set grid xtics ytics lc rgb "#d0d0d0" lw 1 dt 1
set border lw 1.2
set key outside right top vertical Left reverse box opaque spacing 1.3 samplen 3
set pointsize 1.1
set linetype 1 lc rgb "#0072B2" lw 2 pt 7
set linetype 2 lc rgb "#D55E00" lw 2 pt 5
set linetype 3 lc rgb "#009E73" lw 2 pt 9
set linetype 4 lc rgb "#CC79A7" lw 2 pt 13
set linetype 5 lc rgb "#E69F00" lw 2 pt 11
set linetype 6 lc rgb "#56B4E9" lw 2 pt 12
set linetype 7 lc rgb "#000000" lw 2 pt 13
set linetype 8 lc rgb "#8C564B" lw 2 pt 14
set linetype 9 lc rgb "#999999" lw 2 pt 15
set linetype 10 lc rgb "#F0E442" lw 2 pt 16
set logscale xy
set format y "%g"
set xtics ("64" 64, "256" 256, "1024" 1024, "4096" 4096, "16K" 16384, "64K" 65536, "256K" 262144, "1M" 1048576, "2M" 2097152)
set xrange [42.6667:3145728]
plot  \
     "train_vs_python.dat" index 0 using 1:2 with linespoints lt 1  title "ltc: 1 GPU eager", \
     "train_vs_python.dat" index 1 using 1:2 with linespoints lt 2  title "ltc: 1 GPU eager, autograd", \
     "train_vs_python.dat" index 2 using 1:2 with linespoints lt 3  title "ltc: 1 GPU graph", \
     "train_vs_python.dat" index 3 using 1:2 with linespoints lt 4  title "ltc: 1 GPU dp", \
     "train_vs_python.dat" index 4 using 1:2 with linespoints lt 5  title "ltc: 1 GPU ddp", \
     "train_vs_python.dat" index 5 using 1:2 with linespoints lt 6 dt 2 pt 6 lw 2.5 title "Python eager", \
     "train_vs_python.dat" index 6 using 1:2 with linespoints lt 7 dt 2 pt 6 lw 2.5 title "Python nn.DataParallel", \
     "train_vs_python.dat" index 7 using 1:2 with linespoints lt 8 dt 2 pt 6 lw 2.5 title "Python DDP"
set terminal svg size 1200,750 font "Sans,13" noenhanced dynamic background rgb "white"
set output "train_vs_python.svg"
replot
set output
