#!/usr/bin/env python3
# bench/cg_calls.py — calls and instructions of functions in callgrind output files.
#
#   bench/cg_calls.py [--event E] REGEX FILE...    one line per matching function, summed over
#                                   the files: calls, inclusive E, self E (tab-separated, then name)
#   bench/cg_calls.py [--event E] --top N FILE...  the N functions with the most self E
#
# E is an event of the profile (default Ir; with --cache-sim=yes also D1mr, DLmr, ...,
# with --branch-sim=yes Bc, Bcm, ...); events a profile lacks count 0.
#
# Inclusive = the function's own instructions plus those of every call it made, as
# callgrind_annotate --inclusive=yes counts them. Exits 1 when nothing matched or a
# file is not callgrind output, so a caller never does arithmetic on an empty answer.
import re
import sys
from collections import defaultdict


def parse(path, event, calls, inclusive, self_ir):
    names = {}
    column = None

    def name_of(spec):
        m = re.match(r"\((\d+)\)(?: (.*))?$", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), spec)

    with open(path, encoding="utf-8", errors="replace") as f:
        if not f.readline().startswith("# callgrind format"):
            sys.exit(f"{path}: not a callgrind output file")
        fn = cfn = None
        pending_call = False
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("events:"):
                events = line.split()[1:]
                column = 1 + events.index(event) if event in events else None
            elif line.startswith("fn="):
                fn = name_of(line[3:])
            elif line.startswith("cfn="):
                cfn = name_of(line[4:])
            elif line.startswith("calls="):
                calls[cfn] += int(line[6:].split()[0])
                pending_call = True
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                fields = line.split()
                ir = int(fields[column]) if column is not None and len(fields) > column else 0
                inclusive[fn] += ir
                if not pending_call:
                    self_ir[fn] += ir
                pending_call = False


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit("usage: cg_calls.py [--event E] REGEX|--top N FILE...")
    top = None
    event = "Ir"
    if args[0] == "--event":
        event = args[1]
        args = args[2:]
    if len(args) < 2:
        sys.exit("usage: cg_calls.py [--event E] REGEX|--top N FILE...")
    if args[0] == "--top":
        top = int(args[1])
        args = args[2:]
    else:
        pattern = re.compile(args[0])
        args = args[1:]
    calls, inclusive, self_ir = defaultdict(int), defaultdict(int), defaultdict(int)
    for path in args:
        parse(path, event, calls, inclusive, self_ir)
    if top is not None:
        chosen = sorted(self_ir, key=lambda n: -self_ir[n])[:top]
    else:
        chosen = sorted(n for n in set(inclusive) | set(calls) if n and pattern.search(n))
    if not chosen:
        sys.exit(f"no function matches in {' '.join(args)}")
    for name in chosen:
        print(f"{calls[name]}\t{inclusive[name]}\t{self_ir[name]}\t{name}")


main()
