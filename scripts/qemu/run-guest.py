#!/usr/bin/env python3
"""Boots the test guest under QEMU (TCG) and runs step files against it.

    run-guest.py --kernel VMLINUZ --initrd INITRD --artifacts DIR STEPFILE...

The guest's serial console is a unix socket (its output is logged to
DIR/qemu-serial.log), the QEMU monitor another one. Network: one user-mode NIC
(restrict=on: the guest reaches nothing) with two forwards from the host's
loopback: HOSTPORT -> guest 8080 (for a server in the guest; given to the steps
as ${HOSTPORT}) and a command port -> guest 7000, where the guest's
`nc -ll -p 7000 -e sh` runs each `sh`/`bg` step. (Commands do not go over the
serial line: under TCG its input stops once the guest opens the emulated
PS/2 keyboard's evdev node, which every input test does.)

Step files: one step per line, `#` starts a comment, ${VAR} expands from the
environment (HOSTPORT, ARTIFACTS added). Steps:

    sh CMD                 run CMD in a guest shell (a connection to the guest's command port
                           7000, forwarded from host loopback), wait for it, fail unless it
                           exits 0; its output joins the console lines
    sh! CMD                the same, but fail unless it exits non-zero
    bg CMD                 start CMD in the background, its output on the console (`CMD
                           </dev/null >/dev/console 2>&1 &`, no </dev/null when CMD redirects
                           stdin itself); use `sh -c 'echo $$ >FILE; exec CMD'` for its pid
    expect [T] REGEX       wait (T seconds, default 60) for a console line matching REGEX,
                           printed since the last sh/bg/sendkey/host step began (the
                           expects after one step may match in any order)
    reject REGEX           fail if a line matching REGEX was printed so far
    mark                   start collecting for `stats`
    stats LABEL REGEX      median, worst and count of REGEX's first group (a number) over the
                           lines since `mark`; printed and appended to qemu-figures.txt
    record [T] REGEX       expect, and append the matched line to ARTIFACTS/qemu-figures.txt
    screendump NAME        screenshot -> ARTIFACTS/qemu-NN-NAME.png (NN counts up)
    screenwait NAME X Y RRGGBB [X Y RRGGBB]... [T]
                           screenshots until every listed pixel has its colour (T seconds,
                           default 30; for outputs without a completion event, e.g. fbdev's
                           deferred I/O), then keeps the last one as screendump NAME does
    pixel X Y RRGGBB [TOL] the last screenshot's pixel at X,Y is that colour (+-TOL per channel)
    changed                the last screenshot differs from the one before it
    sendkey KEY            press a key on the guest's emulated keyboard (QEMU key names)
    repeat N / end         run the steps between N times
    host CMD               run CMD on the host (bash), fail unless it exits 0
    echo TEXT              print TEXT to the harness's log

The first failing step stops the run: the harness prints the step, its file and
line, and the last lines of the serial console, then exits 1.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qemu_driver import Monitor, QemuError, SerialConsole, free_port, write_png  # noqa: E402


class StepError(QemuError):
    pass


class Guest:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.serial_path = os.path.join(workdir, "serial.sock")
        self.monitor_path = os.path.join(workdir, "monitor.sock")
        self.log = open(os.path.join(args.artifacts, "qemu-serial.log"), "wb")
        self.hostport = free_port()
        self.cmdport = free_port()
        cmd = [
            args.qemu, "-accel", "tcg", "-m", os.environ.get("QEMU_MEM", "1024"), "-vga", "std", "-nographic",
            "-no-reboot", "-kernel", args.kernel, "-initrd", args.initrd,
            "-append", "console=ttyS0 panic=-1 quiet loglevel=3 " + args.append,
            "-chardev", f"socket,id=ser0,path={self.serial_path},server=on,wait=on",
            "-serial", "chardev:ser0",
            "-monitor", f"unix:{self.monitor_path},server=on,wait=off",
            "-nic",
            f"user,model=e1000,restrict=on,hostfwd=tcp:127.0.0.1:{self.hostport}-:8080"
            f",hostfwd=tcp:127.0.0.1:{self.cmdport}-:7000",
        ]
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.console = SerialConsole(self.serial_path, self.qemu, self.log)
        self.monitor = Monitor(self.monitor_path, self.qemu)

    def run(self, command, timeout):
        """Runs a shell command line in the guest (one TCP connection to the
        guest's `nc -ll -p 7000 -e sh`); returns its exit status. Its output
        joins the console lines (and the serial log)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", self.cmdport), timeout=5)
                conn.settimeout(max(1, deadline - time.monotonic()))
                conn.sendall(f'{command}\necho "@@KDS-RC=$?"\nexit\n'.encode())
                data = b""
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                conn.close()
            except socket.timeout:
                raise StepError(f"no answer within {timeout:.0f} s")
            except OSError:
                data = b""
            m = re.search(rb"@@KDS-RC=(\d+)", data)
            if m:
                break
            # The guest's command listener is not up yet (bounded retry).
            if time.monotonic() > deadline:
                raise StepError("the guest's command port (7000) does not answer")
            time.sleep(0.2)
        self.console.add(data[: m.start()].decode("utf-8", "replace"))
        return int(m.group(1))

    def stop(self):
        self.monitor.quit()
        self.monitor.close()
        self.console.close()


def load_steps(paths):
    steps = []
    for path in paths:
        with open(path) as f:
            for n, raw in enumerate(f, 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                steps.append((path, n, line))
    return steps


def expand(text, env):
    return re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), text)


def split_timeout(rest, default=60.0):
    head, _, tail = rest.partition(" ")
    if re.fullmatch(r"\d+(\.\d+)?", head) and tail:
        return float(head), tail
    return default, rest


class Runner:
    def __init__(self, guest, artifacts, env):
        self.g = guest
        self.artifacts = artifacts
        self.env = env
        self.cursor = 0
        self.shots = 0
        self.images = []
        self.seq = 0
        self.stats_mark = 0

    def run(self, steps):
        i = 0
        while i < len(steps):
            path, n, line = steps[i]
            verb, _, rest = line.partition(" ")
            if verb == "repeat":
                depth, j = 1, i + 1
                while j < len(steps):
                    v = steps[j][2].split(" ", 1)[0]
                    depth += 1 if v == "repeat" else -1 if v == "end" else 0
                    if depth == 0:
                        break
                    j += 1
                if depth:
                    raise StepError(f"{path}:{n}: repeat without end")
                for _ in range(int(rest)):
                    self.run(steps[i + 1 : j])
                i = j + 1
                continue
            try:
                self.step(verb, expand(rest, self.env))
            except QemuError as e:
                raise StepError(f"{path}:{n}: `{line}`: {e}") from None
            i += 1

    def grab(self):
        self.seq += 1
        return self.g.monitor.screendump(os.path.join(self.g.workdir, f"shot-{self.seq}.ppm"))

    def save_shot(self, name, shot):
        self.shots += 1
        name = f"qemu-{self.shots:02d}-{name}"
        w, h, rgb = shot
        write_png(os.path.join(self.artifacts, name + ".png"), w, h, rgb)
        self.images.append(shot)
        print(f"  screenshot {name}.png ({w}x{h})", flush=True)

    def step(self, verb, rest):
        g = self.g
        if verb in ("sh", "sh!", "bg", "sendkey", "host"):
            self.cursor = g.console.line_count()
        if verb in ("sh", "sh!"):
            rc = g.run(rest, 120)
            if verb == "sh" and rc != 0:
                raise StepError(f"exit status {rc}")
            if verb == "sh!" and rc == 0:
                raise StepError("exit status 0, expected a failure")
        elif verb == "bg":
            # A background job must not share the console as its stdin (the
            # interactive shell then loses its input): /dev/null unless the
            # step redirects stdin itself.
            stdin = "" if "<" in rest else " </dev/null"
            if g.run(f"{rest}{stdin} >/dev/console 2>&1 &", 120) != 0:
                raise StepError("could not start it")
        elif verb in ("expect", "record"):
            timeout, regex = split_timeout(rest)
            idx, m = g.console.wait_line(regex, self.cursor, timeout)
            print(f"  matched: {m.string}", flush=True)
            if verb == "record":
                with open(os.path.join(self.artifacts, "qemu-figures.txt"), "a") as f:
                    f.write(m.string + "\n")
        elif verb == "mark":
            self.stats_mark = g.console.line_count()
        elif verb == "stats":
            label, _, regex = rest.partition(" ")
            pattern = re.compile(regex)
            with g.console.cond:
                values = sorted(
                    float(m.group(1)) for m in map(pattern.search, g.console.lines[self.stats_mark :]) if m
                )
            if not values:
                raise StepError(f"no line matched /{regex}/ since `mark`")
            line = (
                f"{label}: n={len(values)} median={values[len(values) // 2]:g} "
                f"worst={values[-1]:g} best={values[0]:g}"
            )
            print(f"  {line}", flush=True)
            with open(os.path.join(self.artifacts, "qemu-figures.txt"), "a") as f:
                f.write(line + "\n")
        elif verb == "reject":
            pattern = re.compile(rest)
            with g.console.cond:
                bad = [l for l in g.console.lines if pattern.search(l)]
            if bad:
                raise StepError(f"unwanted line: {bad[0]}")
        elif verb == "screendump":
            self.save_shot(rest, self.grab())
        elif verb == "screenwait":
            parts = rest.split()
            name, args = parts[0], parts[1:]
            timeout = float(args.pop()) if len(args) % 3 == 1 else 30.0
            wanted = [
                (int(args[i]), int(args[i + 1]), bytes.fromhex(args[i + 2]))
                for i in range(0, len(args), 3)
            ]
            deadline = time.monotonic() + timeout
            while True:
                shot = self.grab()
                w, h, rgb = shot
                wrong = [
                    f"{x},{y} is {rgb[(y * w + x) * 3 : (y * w + x) * 3 + 3].hex()} not {c.hex()}"
                    for x, y, c in wanted
                    if not (0 <= x < w and 0 <= y < h)
                    or any(abs(a - b) > 8 for a, b in zip(rgb[(y * w + x) * 3 : (y * w + x) * 3 + 3], c))
                ]
                if not wrong:
                    break
                if time.monotonic() > deadline:
                    self.save_shot(name, shot)
                    raise StepError("the screen never showed it: " + "; ".join(wrong))
            self.save_shot(name, shot)
        elif verb == "pixel":
            parts = rest.split()
            x, y, want = int(parts[0]), int(parts[1]), parts[2]
            tol = int(parts[3]) if len(parts) > 3 else 8
            if not self.images:
                raise StepError("no screenshot yet")
            w, h, rgb = self.images[-1]
            if not (0 <= x < w and 0 <= y < h):
                raise StepError(f"{x},{y} is outside the {w}x{h} screenshot")
            o = (y * w + x) * 3
            got = rgb[o : o + 3]
            exp = bytes.fromhex(want)
            if any(abs(a - b) > tol for a, b in zip(got, exp)):
                raise StepError(f"pixel {x},{y} is {got.hex()}, expected {want}")
        elif verb == "changed":
            if len(self.images) < 2 or self.images[-1] == self.images[-2]:
                raise StepError("the screen did not change between the last two screenshots")
        elif verb == "sendkey":
            g.monitor.command(f"sendkey {rest}")
        elif verb == "host":
            r = subprocess.run(["bash", "-c", rest], env=self.env)
            if r.returncode != 0:
                raise StepError(f"host command exited {r.returncode}")
        elif verb == "echo":
            print(f"  {rest}", flush=True)
        else:
            raise StepError(f"unknown step `{verb}`")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--append", default="")
    ap.add_argument("steps", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    for old in os.listdir(args.artifacts):
        if old.startswith("qemu-"):
            os.remove(os.path.join(args.artifacts, old))
    steps = load_steps(args.steps)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kds-qemu-") as workdir:
        guest = None
        try:
            guest = Guest(args, workdir)
            env = dict(os.environ, HOSTPORT=str(guest.hostport), ARTIFACTS=args.artifacts)
            guest.console.wait_line(r"KDS-GUEST-READY", 0, 120)
            print(f"test-qemu: guest up after {time.monotonic() - started:.1f} s", flush=True)
            runner = Runner(guest, args.artifacts, env)
            runner.run(steps)
        except QemuError as e:
            print(f"test-qemu: FAILED: {e}", file=sys.stderr)
            if guest:
                with guest.console.cond:
                    tail = guest.console.lines[-25:]
                print("test-qemu: last console lines:\n  " + "\n  ".join(tail), file=sys.stderr)
                guest.stop()
            sys.exit(1)
        guest.stop()
    print(f"test-qemu: all {len(steps)} steps passed in {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
