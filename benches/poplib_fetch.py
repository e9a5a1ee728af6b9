#!/usr/bin/env python3
"""Python's poplib fetching every message, for comparison with benches/fetch.rs.

usage: poplib_fetch.py HOST PORT USER PASSWORD RUNS
Prints one JSON line: {"best_s": ..., "messages": ..., "octets": ..., "commands": ...}.
"""
import json
import poplib
import sys
import time

host, port, user, password, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
best = None
for _ in range(runs):
    started = time.perf_counter()
    pop = poplib.POP3(host, port, timeout=60)
    pop.user(user)
    pop.pass_(password)
    count, _ = pop.stat()
    octets = 0
    for i in range(1, count + 1):
        _, lines, _ = pop.retr(i)
        octets += sum(len(line) + 2 for line in lines)
    pop.quit()
    elapsed = time.perf_counter() - started
    best = elapsed if best is None else min(best, elapsed)
# USER, PASS, STAT, one RETR per message, QUIT: poplib waits for each reply.
print(json.dumps({"best_s": best, "messages": count, "octets": octets, "commands": count + 4}))
