#!/usr/bin/env python3
"""Drives a program in a real pseudo-terminal, as a person at a terminal would.

usage: pty-drive.py STEPS_JSON -- program args...
STEPS_JSON is a list of steps: {"send": "text"} writes keys to the terminal (\x03 is Ctrl-C,
\x04 Ctrl-D, \x1b[A the up arrow); {"expect": "regex", "timeout": s} waits until everything the
program printed since the last expect matches; {"sleep": s} waits, reading; the regex (Python re, DOTALL). Prints one JSON object:
{"ok": bool, "failed": step index or null, "transcript": all output, "exit": exit status or null}.
"""
import json
import os
import pty
import re
import select
import sys
import time


def main():
    steps = json.loads(sys.argv[1])
    argv = sys.argv[sys.argv.index('--') + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ['TERM'] = 'xterm'
        os.environ['COLUMNS'] = '200'
        os.execvp(argv[0], argv)
    transcript = b''
    mark = 0
    failed = None

    def read_some(timeout):
        nonlocal transcript
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        transcript += data
        return True

    for i, step in enumerate(steps):
        if 'send' in step:
            os.write(fd, step['send'].encode())
            continue
        if 'sleep' in step:
            end = time.time() + step['sleep']
            while time.time() < end:
                read_some(0.05)
            continue
        rx = re.compile(step['expect'], re.S)
        deadline = time.time() + step.get('timeout', 20)
        alive = True
        while True:
            text = transcript[mark:].decode('utf-8', 'replace')
            m = rx.search(text)
            if m:
                mark += len(text[:m.end()].encode('utf-8', 'replace'))
                break
            if time.time() > deadline or not alive:
                failed = i
                break
            alive = read_some(0.1)
        if failed is not None:
            break
    status = None
    deadline = time.time() + 20
    while time.time() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
            break
        if not read_some(0.1):
            time.sleep(0.05)
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    while read_some(0):
        pass
    print(json.dumps({'ok': failed is None, 'failed': failed, 'transcript': transcript.decode('utf-8', 'replace'), 'exit': status}))


main()
