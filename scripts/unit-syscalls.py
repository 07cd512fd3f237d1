#!/usr/bin/env python3
"""Checks that a unit's SystemCallFilter= allows every system call in an strace log.

usage: unit-syscalls.py UNIT STRACE_LOG   (strace -f -o STRACE_LOG ...)

No systemd runs as PID 1 on the CI machines, so the filter cannot be tried for
real; this applies systemd's rules to the calls the agent was seen making: the
first SystemCallFilter= line is an allow list, later lines add to it, `~` lines
remove from it, `@group`s expand as `systemd-analyze syscall-filter` lists them.
Exit 0 when every call is allowed, 1 with the list of refused ones.
"""
import re
import subprocess
import sys


def groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                         text=True, check=True).stdout
    result, current = {}, None
    for line in out.splitlines():
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if line.startswith("@"):
            current = item.split()[0]
            result[current] = []
        elif current:
            result[current].append(item.split()[0])
    return result


def expand(name, table):
    if not name.startswith("@"):
        return {name}
    if name not in table:
        sys.exit(f"unit-syscalls: unknown group {name}")
    calls = set()
    for member in table[name]:
        calls |= expand(member, table)
    return calls


def allowed(unit_path, table):
    calls = None
    for line in open(unit_path, encoding="utf-8"):
        match = re.match(r"\s*SystemCallFilter=(.*)", line)
        if not match:
            continue
        value = match.group(1).strip()
        deny = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand(item, table)
        if calls is None:
            if deny:
                sys.exit("unit-syscalls: the first SystemCallFilter= is a deny list; not handled")
            calls = set()
        calls = calls - names if deny else calls | names
    if calls is None:
        sys.exit("unit-syscalls: the unit has no SystemCallFilter=")
    # systemd always lets these through so that the service can start and exit.
    return calls | {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}


def seen(log_path):
    calls = set()
    for line in open(log_path, encoding="utf-8", errors="replace"):
        # "1234  name(args) = ..." or "1234  <... name resumed>"
        match = re.match(r"\s*(?:\[pid\s+)?\d+\]?\s+(?:\d+\.\d+\s+)?([a-z_0-9]+)\(", line)
        if match:
            calls.add(match.group(1))
    return calls


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    table = groups()
    allow = allowed(sys.argv[1], table)
    made = seen(sys.argv[2])
    if not made:
        sys.exit("unit-syscalls: no system calls found in " + sys.argv[2])
    refused = sorted(made - allow)
    if refused:
        print("unit-syscalls: refused by SystemCallFilter=: " + " ".join(refused), file=sys.stderr)
        return 1
    print(f"unit-syscalls: all {len(made)} system calls the agent made are allowed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
