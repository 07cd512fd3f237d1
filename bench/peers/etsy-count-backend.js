/* A backend for Etsy statsd that only counts, for bench/statsd_peers.sh: at each
   flush it adds up the bench.* counters (the lines that reached the aggregates)
   and statsd.metrics_received / statsd.bad_lines_seen; the management
   interface's "stats" command reports the running totals as bench.flushes,
   bench.lines, bench.metrics_received and bench.bad_lines. */
'use strict';

let flushes = 0;
let lines = 0;
let metricsReceived = 0;
let badLines = 0;

exports.init = function (startupTime, config, events) {
  events.on('flush', function (timestamp, metrics) {
    const counters = metrics.counters;
    for (const key in counters) {
      if (key.startsWith('bench.')) lines += counters[key];
    }
    metricsReceived += counters['statsd.metrics_received'] || 0;
    badLines += counters['statsd.bad_lines_seen'] || 0;
    flushes++;
  });
  events.on('status', function (write) {
    write(null, 'bench', 'flushes', flushes);
    write(null, 'bench', 'lines', lines);
    write(null, 'bench', 'metrics_received', metricsReceived);
    write(null, 'bench', 'bad_lines', badLines);
  });
  return true;
};
