# transfer_bandwidth.gp: written by scripts/plot from the report's CSV files.
# To draw transfer_bandwidth.png and transfer_bandwidth.svg again: cd to this folder, then gnuplot transfer_bandwidth.gp
set encoding utf8
set terminal pngcairo size 1200,750 font "Sans,13" noenhanced
set output "transfer_bandwidth.png"
set datafile separator "\t"
set title "Copy bandwidth against size (bench_transfer)\nNVIDIA H100 80GB HBM3, host vm, commit b03b955, 2026-11-24"
set xlabel "copy size (bytes; KiB = 1024 B)"
set ylabel "bandwidth = bytes / median time of a synced copy (GB/s = 10^9 B/s)"
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
set logscale x 2
set xtics ("8 B" 8, "64 B" 64, "512 B" 512, "4 KiB" 4096, "32 KiB" 32768, "256 KiB" 262144, "2 MiB" 2097152, "16 MiB" 16777216, "128 MiB" 134217728, "1073741820 B" 1073741820)
set xrange [2.66667:1610612730]
set yrange [0:227.075]
set label "PCIe Gen5 x16, theoretical: 63.0 GB/s per direction" at graph 0.02, first 63.0154 offset 0, 0.8 left textcolor rgb "#444444" front
plot  \
     "transfer_bandwidth.dat" index 0 using 1:2 with linespoints lt 1 title "host to host, pageable", \
     "transfer_bandwidth.dat" index 1 using 1:2 with linespoints lt 2 title "host to device, pageable", \
     "transfer_bandwidth.dat" index 2 using 1:2 with linespoints lt 3 title "host to device, pinned", \
     "transfer_bandwidth.dat" index 3 using 1:2 with linespoints lt 4 title "device to host, pageable", \
     "transfer_bandwidth.dat" index 4 using 1:2 with linespoints lt 5 title "device to host, pinned", \
     63.0154 with lines dt 2 lw 2 lc rgb "#444444" title "PCIe link"
set terminal svg size 1200,750 font "Sans,13" noenhanced dynamic background rgb "white"
set output "transfer_bandwidth.svg"
replot
set output
