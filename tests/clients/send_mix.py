"""Sends the known mix of tests/test_e2e_clients.cpp with Debian's python3-statsd
(run it with /usr/bin/python3), then a sentinel line, over UDP or TCP.

usage: send_mix.py <udp|tcp> <port> <sentinel>
"""
import sys

import statsd

mode, port, sentinel = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "tcp":
    client = statsd.TCPStatsClient("127.0.0.1", port)
else:
    client = statsd.StatsClient("127.0.0.1", port)
client.incr("py.hits", 5)
client.incr("py.hits", 5)
client.decr("py.hits", 2)
client.gauge("py.temp", 21.5)
client.gauge("py.temp", 1.5, delta=True)
for v in (100, 200, 300, 400):
    client.timing("py.lat", v)
client.set("py.users", "alice")
client.set("py.users", "bob")
client.set("py.users", "alice")
client._send(sentinel)
if mode == "tcp":
    client.close()
