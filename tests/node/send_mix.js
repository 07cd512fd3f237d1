// Sends the known mix of tests/test_e2e_clients.cpp with hot-shots, then a
// sentinel line the test waits for, then closes the client.
// usage: node send_mix.js <dogstatsd|telegraf|tcp> <port> <sentinel> <timestamp_s>
'use strict';
const StatsD = require('hot-shots');

const [mode, port, sentinel, timestamp] = process.argv.slice(2);
const client = new StatsD({
  host: '127.0.0.1',
  port: Number(port),
  protocol: mode === 'tcp' ? 'tcp' : 'udp',
  telegraf: mode === 'telegraf',
  errorHandler: (err) => {
    console.error('hot-shots error:', err);
    process.exitCode = 1;
  },
});

const tags = { env: 'prod', region: 'eu' };
client.increment('hot.hits', 5, tags);
client.increment('hot.hits', 5, tags);
client.gauge('hot.temp', 21.5);
for (const v of [100, 200, 300, 400]) client.timing('hot.lat', v, tags);
client.histogram('hot.hist', 3);
client.set('hot.users', 'alice');
client.set('hot.users', 'bob');
client.set('hot.users', 'alice');
if (mode !== 'telegraf') {
  client.distribution('hot.dist', 7, ['kind:a']);
  client.gauge('hot.ts_gauge', 1, { timestamp: Number(timestamp) });
}
// Flushes the client's own aggregation first, so the sentinel goes last.
client.close(() => {
  const again = new StatsD({ host: '127.0.0.1', port: Number(port), protocol: mode === 'tcp' ? 'tcp' : 'udp' });
  again.send(sentinel, undefined, () => again.close());
});
