#!/usr/bin/env bash
# bench/soak-plot.sh — the plot of a soak's samples: RSS of every process (left
# axis) and the statsd -> exporter ring fill (right axis) against minutes, with
# the end of the warm-up marked. bench/soak.sh calls it at the end of a run; the
# plot in docs/soak.png was made from docs/soak.csv with
#
#   bench/soak-plot.sh docs/soak.csv docs/soak.png [--warmup 5] [--title TEXT]
#
# Needs gnuplot (Debian `gnuplot-nox`; not a CI dependency: CI does not plot).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SOAK.csv OUT.png [--warmup MINUTES] [--title TEXT]" >&2; exit 2; }
csv=$1 png=$2 warmup=5 title="bucky3 soak"
shift 2
while [ $# -gt 0 ]; do
  case "$1" in
    --warmup) warmup=$2; shift 2 ;;
    --title) title=$2; shift 2 ;;
    *) echo "usage: $0 SOAK.csv OUT.png [--warmup MINUTES] [--title TEXT]" >&2; exit 2 ;;
  esac
done
command -v gnuplot > /dev/null || { echo "soak-plot: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 2; }
[ -s "$csv" ] || { echo "soak-plot: $csv is missing or empty" >&2; exit 2; }
# The columns by name, so a new column in soak.csv does not shift the plot.
col() {
  local i
  i=$(head -1 "$csv" | tr ',' '\n' | grep -nx "$1" | cut -d: -f1)
  [ -n "$i" ] || { echo "soak-plot: no column $1 in $csv" >&2; exit 2; }
  echo "$i"
}
t=$(col t_s) fill=$(col ring_fill_percent)
s=$(col statsd_server_rss_kib) l=$(col linux_stats_rss_kib) p=$(col prometheus_exporter_rss_kib)
v=$(col supervisor_rss_kib)
gnuplot <<GP
set terminal pngcairo size 1000,600 noenhanced
set output "$png"
set datafile separator ","
set key outside bottom center horizontal
set title "$title"
set xlabel "minutes"
set ylabel "RSS (MiB)"
set y2label "ring fill (%)"
set yrange [0:*]
set y2range [0:*]
set y2tics
set ytics nomirror
set grid
set arrow from $warmup, graph 0 to $warmup, graph 1 nohead dt 3 lc rgb "gray40"
set label "end of warm-up" at $warmup, graph 0.97 offset 0.5,0 tc rgb "gray40"
plot "$csv" every ::1 using (\$$t/60):(\$$s/1024) with lines lw 2 title "statsd_server", \
     "" every ::1 using (\$$t/60):(\$$l/1024) with lines lw 2 title "linux_stats", \
     "" every ::1 using (\$$t/60):(\$$p/1024) with lines lw 2 title "prometheus_exporter", \
     "" every ::1 using (\$$t/60):(\$$v/1024) with lines lw 2 title "supervisor", \
     "" every ::1 using (\$$t/60):$fill axes x1y2 with lines lw 1 dt 2 title "ring fill statsd -> exporter"
GP
echo "soak-plot: $png" >&2
