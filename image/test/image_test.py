#!/usr/bin/env python3
"""Boots the kiosk image under QEMU (q35, OVMF, TCG, -vga std) and checks it.

Driven by scripts/test-image after `make image`. Everything the guest is asked
goes through its serial ports and the QEMU monitor:
  ttyS0  the guest's journal (kds.txt: serial_debug = yes)   -> serial0-bootN.log
  ttyS1  a root shell (the same key), used to ask questions   -> shell-bootN.log
  monitor (unix socket): screendump, sendkey, quit (the power cut)
The guest has no network beyond QEMU's restricted user-mode NIC (no route
out); the all-in-one kds-server listens on the guest's own loopback.

Prints one line per check (`ok - ...` / `FAIL - ...`) and the figures, exits 1
when a check failed. Waits are on conditions with deadlines, never sleeps as
synchronisation.
"""

import argparse
import os
import re
import shlex
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "qemu"))
from qemu_driver import Monitor, QemuError, SerialConsole, connect_unix, write_png  # noqa: E402

MIB = 1024 * 1024


def log(msg):
    print(f"test-image: {msg}", file=sys.stderr, flush=True)


class Results:
    def __init__(self):
        self.failed = []
        self.passed = 0
        self.figures = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok - {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            self.failed.append(name)
            print(f"FAIL - {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def figure(self, text):
        self.figures.append(text)
        print(f"# {text}", flush=True)


# ---------------------------------------------------------------- images


def screen_stats(w, h, rgb):
    """(distinct colours in a sample, fraction of pixels unlike the most common one)."""
    counts = {}
    step = 3 * 7  # every 7th pixel
    for k in range(0, len(rgb) - 2, step):
        px = rgb[k : k + 3]
        counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values()) or 1
    top = max(counts.values()) if counts else 0
    return len(counts), 1 - top / total


# ---------------------------------------------------------------- QEMU


class Guest:
    def __init__(self, args, disk, boot):
        self.args = args
        self.dir = args.workdir
        self.boot = boot
        self.serial_log = os.path.join(self.dir, f"serial0-boot{boot}.log")
        self.shell_log = os.path.join(self.dir, f"shell-boot{boot}.log")
        self.mon_path = os.path.join(self.dir, "monitor.sock")
        self.serial_path = os.path.join(self.dir, "serial0.sock")
        self.shell_path = os.path.join(self.dir, "shell.sock")
        for p in (self.mon_path, self.serial_path, self.shell_path, self.serial_log):
            if os.path.exists(p):
                os.unlink(p)
        self.disk = disk
        self.proc = None
        self.mon = None
        self.console = None
        self.shell = None
        self.shell_buf = b""
        self.seq = 0

    def start(self):
        a = self.args
        cmd = [
            "qemu-system-x86_64",
            "-accel", "tcg",
            "-machine", "q35",
            "-m", "1536",
            "-smp", str(a.smp),
            "-vga", "std",
            "-display", "none",
            "-no-reboot",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={a.ovmf_code}",
            "-drive", f"if=pflash,format=raw,unit=1,file={a.ovmf_vars}",
            "-drive", f"file={self.disk},format=raw,if=virtio,cache=writeback",
            "-device", "i6300esb",
            "-chardev", f"socket,id=s0,path={self.serial_path},server=on,wait=on",
            "-serial", "chardev:s0",
            "-chardev", f"socket,id=s1,path={self.shell_path},server=on,wait=off,logfile={self.shell_log}",
            "-serial", "chardev:s1",
            "-monitor", f"unix:{self.mon_path},server=on,wait=off",
            # A NIC for DHCP on the guest side only: restrict=on gives it no
            # route anywhere (no host, no internet).
            "-nic", "user,restrict=on,model=virtio-net-pci",
        ]
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, f"qemu-boot{self.boot}.log"), "wb"),
            stderr=subprocess.STDOUT,
        )
        # The journal's port first: the guest starts once it is connected.
        self.console = SerialConsole(self.serial_path, self.proc, open(self.serial_log, "wb"))
        self.mon = Monitor(self.mon_path, self.proc)

    def screendump(self, png_path):
        """The screen as (width, height, RGB bytes), also written to `png_path`."""
        w, h, rgb = self.mon.screendump(png_path[:-4] + ".ppm")
        write_png(png_path, w, h, rgb)
        return w, h, rgb

    def power_cut(self):
        """`quit` in the monitor: QEMU stops at once, like pulling the plug."""
        self.mon.quit(timeout=30)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.power_cut()
        for s in (self.mon, self.console, self.shell):
            if s:
                s.close()

    # ---- the serial journal (ttyS0)

    def wait_serial(self, pattern, timeout):
        """The first journal line matching `pattern`, or None when none came
        within `timeout` seconds or QEMU exited."""
        try:
            return self.console.wait_line(pattern, 0, timeout)[1]
        except QemuError:
            return None

    # ---- the root shell (ttyS1)

    def open_shell(self, timeout):
        """Waits for the autologin shell and makes it quiet; False on timeout."""
        self.shell = connect_unix(self.shell_path, self.proc)
        self.shell.settimeout(0.5)
        deadline = time.monotonic() + timeout
        last_poke = 0.0
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            now = time.monotonic()
            if now - last_poke > 3:
                # Split marker so the echo of this line never matches.
                self.shell.sendall(b'\nstty -echo; PS1=""; PS2=""; echo "__SHELL""_READY__"\n')
                last_poke = now
            self._shell_recv()
            if b"__SHELL_READY__" in self.shell_buf:
                self.shell.sendall(
                    b"export TERM=dumb SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_COLORS=0 LC_ALL=C.UTF-8\n"
                )
                self.run("true", timeout=30)
                return True
        return False

    def _shell_recv(self):
        try:
            chunk = self.shell.recv(65536)
            if chunk:
                self.shell_buf += chunk
        except socket.timeout:
            pass

    def run(self, command, timeout=60):
        """Runs a command in the guest's shell; returns (exit status, output)."""
        self.seq += 1
        n = self.seq
        self.shell_buf = b""
        line = f'echo "__BEG""IN_{n}__"; {command}\necho "__EN""D_{n}__ $?"\n'
        self.shell.sendall(line.encode())
        rx = re.compile(rb"__BEGIN_%d__\r?\n(.*?)__END_%d__ (\d+)" % (n, n), re.S)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._shell_recv()
            m = rx.search(self.shell_buf)
            if m:
                out = m.group(1).decode(errors="replace").replace("\r\n", "\n")
                return int(m.group(2)), out
            if not self.alive():
                break
        return None, self.shell_buf.decode(errors="replace")[-2000:]

    def out(self, command, timeout=60):
        rc, text = self.run(command, timeout)
        return text.strip() if rc == 0 else None


# ---------------------------------------------------------------- guest HTTP

# bash's /dev/tcp: the image has no curl binary, and the server is on the
# guest's loopback only.
def http_get(g, path, auth=True, timeout=30):
    """GET on the guest's loopback with bash's /dev/tcp (the image has no curl
    binary, and the server listens on the guest's 127.0.0.1 only)."""
    token = '"$(cat /var/lib/kds/local-token)"' if auth else '""'
    hdr = "Authorization: Bearer %s\\r\\n" if auth else "%s"
    cmd = (
        "(exec 3<>/dev/tcp/127.0.0.1/8080 && "
        f"printf 'GET %s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n{hdr}Connection: close\\r\\n\\r\\n' '{path}' {token} >&3 && "
        "cat <&3; exec 3<&-)"
    )
    rc, text = g.run(cmd, timeout=timeout)
    if rc != 0:
        return None, None
    head, _, body = text.partition("\n\n")
    if "\r\n\r\n" in text:
        head, _, body = text.partition("\r\n\r\n")
    m = re.match(r"HTTP/1\.[01] (\d+)", head)
    return (int(m.group(1)) if m else None), body


def tickets(g, station):
    """{id: status} of the station's tickets as the guest's kds-server has them."""
    code, body = http_get(g, f"/kds/queue?station={station}")
    if code != 200 or body is None:
        return None
    body = body.strip()
    # Chunked transfer encoding: join the chunks.
    if re.match(r"^[0-9a-fA-F]+\r?\n", body):
        parts, rest = [], body
        while True:
            m = re.match(r"^([0-9a-fA-F]+)\r?\n", rest)
            if not m:
                break
            size = int(m.group(1), 16)
            rest = rest[m.end() :]
            if size == 0:
                break
            parts.append(rest[:size])
            rest = rest[size:].lstrip("\r\n")
        body = "".join(parts)
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        data = data.get("tickets", [])
    return {t["id"]: t.get("status") for t in data if isinstance(t, dict) and "id" in t}


# ---------------------------------------------------------------- the test


def prepare_disk(args):
    disk = os.path.join(args.workdir, "disk.img")
    if os.path.exists(disk):
        os.unlink(disk)
    subprocess.run(["cp", "--sparse=always", args.image, disk], check=True)
    size = os.path.getsize(disk)
    # A disk larger than the image, like the SSD it gets flashed onto.
    os.truncate(disk, size + args.grow_mib * MIB)
    esp = f"{disk}@@{1 * MIB}"
    kds = os.path.join(args.workdir, "kds.txt")
    with open(kds, "w") as f:
        f.write(
            "# kds.txt written by scripts/test-image\n"
            f"station = {args.station}\n"
            "server = local\n"
            "demo = yes\n"
            "demo_rate = 30\n"
            "hostname = kds-test\n"
            "timezone = Europe/Berlin\n"
            "rotation = 0\n"
            f"ssh_key = {args.ssh_pub}\n"
            "serial_debug = yes\n"
        )
    subprocess.run(["mcopy", "-o", "-i", esp, kds, "::/kds.txt"], check=True)
    if args.console:
        entry = os.path.join(args.workdir, "kds.conf")
        subprocess.run(["mcopy", "-o", "-i", esp, "::/loader/entries/kds.conf", entry], check=True)
        text = open(entry).read()
        text = re.sub(r"^(options .*)$", r"\1 console=ttyS0,115200 systemd.getty_auto=0", text, flags=re.M)
        open(entry, "w").write(text)
        subprocess.run(["mcopy", "-o", "-i", esp, entry, "::/loader/entries/kds.conf"], check=True)
    return disk, size


def boot_checks(g, args, r, boot, state):
    """What every boot must show; fills state for the next boot's comparisons."""
    t0 = g.t_start
    m = g.wait_serial(r"kds-boot-config\[\d+\]: (kds-boot-config: )?applied", args.boot_timeout)
    if not r.check(f"boot {boot}: UEFI → systemd-boot → kernel → systemd, kds.txt applied", m is not None,
                   "see " + g.serial_log):
        return False
    r.figure(f"boot {boot}: kds.txt applied {time.monotonic() - t0:.1f} s after QEMU started")
    if boot == 1:
        # Before the kiosk draws: nothing on the screen (no boot messages, no
        # cursor, no login prompt).
        png = os.path.join(args.artifacts, "image-boot1-before-kiosk.png")
        w, h, rgb = g.screendump(png)
        colours, busy = screen_stats(w, h, rgb)
        r.check("boot 1: nothing on the screen during boot (no messages, no cursor)",
                colours == 1 or busy == 0, f"{png}: {colours} colours")
    if not r.check(f"boot {boot}: root shell on ttyS1 (serial_debug)", g.open_shell(120)):
        return False
    # Let the boot finish its start-up jobs, with a deadline.
    g.run("systemctl is-system-running --wait", timeout=240)
    analyze = g.out("systemd-analyze time | head -n 1") or ""
    r.figure(f"boot {boot}: {analyze}")
    # Where the boot's time went, for whoever makes it faster (not a check).
    boot_figures(g, args, r, boot)

    if boot == 1:
        groups = g.out("id -nG kds") or ""
        r.check("boot 1: the kiosk user kds in video, input, render and tty",
                {"video", "input", "render", "tty"} <= set(groups.split()), groups)
        fonts = g.out("ls /usr/share/kds/fonts/") or ""
        r.check("boot 1: the renderer's fonts in /usr/share/kds/fonts", "DejaVuSans.ttf" in fonts.split()
                and "DejaVuSans-Bold.ttf" in fonts.split(), fonts.replace("\n", " "))

    # Read-only root, writable data.
    opts = g.out("findmnt -no OPTIONS /") or ""
    r.check(f"boot {boot}: root mounted read-only", opts.split(",")[0] == "ro", opts)
    opts = g.out("findmnt -no OPTIONS /data") or ""
    r.check(f"boot {boot}: data partition mounted read-write on /data", opts.startswith("rw"), opts)
    binds = g.out("findmnt -no TARGET -T /var/lib/kds; findmnt -no TARGET -T /var/log/journal") or ""
    r.check(f"boot {boot}: /var/lib/kds and the journal on the data partition",
            binds.split() == ["/var/lib/kds", "/var/log"], binds.replace("\n", " "))

    # First boot grew the data partition to the end of the disk.
    sizes = g.out("lsblk -bndo SIZE /dev/disk/by-label/KDSDATA; df -B1 --output=size /data | tail -n 1") or ""
    part, fs = (int(x) for x in sizes.split()) if len(sizes.split()) == 2 else (0, 0)
    r.check(f"boot {boot}: data partition grown to fill the disk",
            part > (args.data_mib + args.grow_mib - 64) * MIB and fs > (args.grow_mib // 2) * MIB,
            f"partition {part // MIB} MiB, file system {fs // MIB} MiB, image had {args.data_mib} MiB")

    # This device's own identity.
    mid = g.out("cat /etc/machine-id") or ""
    r.check(f"boot {boot}: machine id made on this device",
            re.fullmatch(r"[0-9a-f]{32}", mid) is not None and mid != open("/etc/machine-id").read().strip()
            and mid == (g.out("cat /data/etc/machine-id") or ""), mid)
    keys = g.out("cat /data/ssh/ssh_host_ed25519_key.pub") or ""
    r.check(f"boot {boot}: SSH host keys made on this device", keys.startswith("ssh-ed25519 "), keys[:40])
    if boot == 1:
        state["machine_id"], state["host_key"] = mid, keys
    else:
        r.check(f"boot {boot}: same machine id and host keys as boot 1",
                mid == state.get("machine_id") and keys == state.get("host_key"))

    # kds.txt applied.
    r.check(f"boot {boot}: hostname from kds.txt", g.out("hostname") == "kds-test", g.out("hostname") or "")
    tz = g.out("readlink -f /etc/localtime; date +%Z") or ""
    r.check(f"boot {boot}: time zone from kds.txt",
            tz.split("\n")[0].endswith("Europe/Berlin") and tz.split("\n")[-1] in ("CET", "CEST"), tz.replace("\n", " "))
    ssh = g.out("systemctl is-active ssh.service; ss -Htln 'sport = :22' | wc -l") or ""
    r.check(f"boot {boot}: sshd on (a key is set in kds.txt)", ssh.split() == ["active", "2"] or
            (ssh.split()[:1] == ["active"] and ssh.split()[-1] != "0"), ssh.replace("\n", " "))
    net = g.out("networkctl --no-legend list 2>/dev/null | awk '{print $2, $4}' | tr '\\n' ' '") or ""
    r.check(f"boot {boot}: network up through systemd-networkd (guest-only NIC)", "eth0 routable" in net, net)
    wd = g.out("cat /sys/class/watchdog/watchdog0/state 2>/dev/null || echo none") or ""
    r.check(f"boot {boot}: hardware watchdog in use (i6300esb)", wd == "active", wd)
    dev = g.out("ls /dev/dri/ 2>/dev/null | tr '\\n' ' '; echo; grep -l -i keyboard /sys/class/input/event*/device/name 2>/dev/null | wc -l") or ""
    r.check(f"boot {boot}: display and keyboard devices for the kiosk (DRM card, evdev keyboard)",
            "card0" in dev and dev.split("\n")[-1].strip() not in ("", "0"), dev.replace("\n", " | "))
    # A data partition that cannot come up does not stop the boot (nofail,
    # a device timeout); kds-data-alert ran and found nothing to report.
    fst = g.out("awk '$2 == \"/data\" || $2 == \"/var/lib/kds\" {print $4}' /etc/fstab | tr '\\n' ' '") or ""
    r.check(f"boot {boot}: data mounts in /etc/fstab are nofail, with a device timeout",
            len(fst.split()) == 2 and all("nofail" in o.split(",") for o in fst.split())
            and "x-systemd.device-timeout=10s" in fst.split()[0].split(","), fst)
    al = g.out("systemctl is-active kds-data-alert.service; ls /run/kds-alerts/ 2>/dev/null | tr '\\n' ' '") or ""
    r.check(f"boot {boot}: kds-data-alert ran, no data-mount alert", al.split() == ["active"], al.replace("\n", " "))
    # systemd-resolved answers no LLMNR (nor mDNS) queries from the LAN.
    llmnr = g.out("ss -Htuan 'sport = :5355 or sport = :5353' | wc -l; resolvectl status 2>/dev/null | grep -m1 -o '[-+]LLMNR'") or ""
    r.check(f"boot {boot}: LLMNR off (nothing listens on port 5355 or 5353)",
            llmnr.split() == ["0", "-LLMNR"], llmnr.replace("\n", " "))
    failed = g.out("systemctl list-units --failed --no-legend --plain | awk '{print $1}' | tr '\\n' ' '") or ""
    r.check(f"boot {boot}: no failed units", failed.strip() == "", failed)

    # The root file system came back clean (initramfs fsck of /, and of /data).
    # The root is checked by systemd-fsck-root (read-only root, `ro` on the
    # kernel command line), or by the initramfs when it has fsck.
    fsck = g.out("cat /run/initramfs/fsck.log 2>/dev/null; journalctl -b -o cat --no-pager -u systemd-fsck-root.service;"
                 " echo ---; cat /run/initramfs/kds-data.log 2>/dev/null") or ""
    rootlog, _, datalog = fsck.partition("---")
    r.check(f"boot {boot}: root file system checked at boot and clean", re.search(r"KDSROOT: clean|: clean,", rootlog) is not None
            and "error" not in rootlog.lower(), rootlog.strip().replace("\n", " | ")[:200])
    dm = re.findall(r"fsck \S+ exit (\d+)", datalog)
    r.check(f"boot {boot}: data file system checked at boot, nothing left to fix", dm and int(dm[-1]) in (0, 1),
            datalog.strip().replace("\n", " | ")[-240:])
    state_line = g.out("dumpe2fs -h /dev/disk/by-label/KDSROOT 2>/dev/null | grep -E '^Filesystem state'") or ""
    r.check(f"boot {boot}: root file system state clean", state_line.endswith("clean"), state_line)
    errs = g.run("journalctl -b -k -o cat --no-pager | grep -iE 'EXT4-fs (error|warning)|JBD2.*(error|abort)|I/O error, dev vd'")[1]
    r.check(f"boot {boot}: no file system errors in the kernel log", errs.strip() == "", errs.strip()[:300])

    # All-in-one: kds-server on the guest's loopback.
    ok = g.run("systemctl is-active kds-server.service", timeout=30)[0] == 0
    code, body = None, None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        code, body = http_get(g, "/health", auth=False)
        if code == 200:
            break
        if not g.alive():
            break
        g.run("sleep 1")  # the guest's clock paces the retries
    r.check(f"boot {boot}: kds-server (all-in-one) answers /health on guest 127.0.0.1:8080",
            ok and code == 200 and '"ok"' in (body or ""), f"active={ok} http={code} {(body or '').strip()[:80]}")
    lst = g.out("ss -Htln 'sport = :8080' | awk '{print $4}'") or ""
    r.check(f"boot {boot}: kds-server listens on loopback only", lst != "" and all(
        a.startswith("127.0.0.1:") or a.startswith("[::1]:") for a in lst.split()), lst)
    lan = g.out("ss -Htln 'sport = :8443' | awk '{print $4}'") or ""
    r.check(f"boot {boot}: kds-server (listen = lan) serves the network over TLS on port 8443",
            any(a.startswith("0.0.0.0:") or a.startswith("*:") for a in lan.split()), lan)
    fp = g.out("cat /var/lib/private/kds-server/tls/fingerprint.txt") or ""
    r.check(f"boot {boot}: the all-in-one server's TLS CA fingerprint is written on the data partition",
            "CA (ca_file of the other screens): SHA256 " in fp, fp.strip()[:200])
    tok = g.out("stat -c '%U %a' /var/lib/kds/local-token") or ""
    r.check(f"boot {boot}: kiosk token made on first boot, kept on the data partition", tok == "kds 600", tok)

    # Demo orders for this station, read with the kiosk's own token.
    deadline = time.monotonic() + 120
    open_ids = {}
    t = None
    while time.monotonic() < deadline and g.alive():
        t = tickets(g, args.station)
        open_ids = {k: v for k, v in (t or {}).items() if v in ("QUEUED", "IN_PROGRESS")}
        if open_ids:
            break
        g.run("sleep 2")  # paces the bounded poll
    r.check(f"boot {boot}: demo orders for {args.station} on the all-in-one server, read with the kiosk's token",
            len(open_ids) >= 1, f"{len(open_ids)} open of {len(t or {})} tickets" if t is not None else "GET /kds/queue failed")

    # The kiosk: started by systemd; READY=1 (first frame) makes it active.
    started = g.run("systemctl show -p ExecMainStartTimestampMonotonic --value kds-kiosk.service")[1].strip()
    r.check(f"boot {boot}: the kiosk unit was started", started not in ("", "0"), started)
    deadline = time.monotonic() + args.ready_timeout
    active = ""
    while time.monotonic() < deadline and g.alive():
        active = g.out("systemctl show -p ActiveState --value kds-kiosk.service") or ""
        if active == "active":
            break
        g.run("sleep 1")
    ready = active == "active"
    r.check(f"boot {boot}: kiosk READY (READY=1 after its first frame)", ready,
            (g.out("systemctl status --no-pager -n 8 kds-kiosk.service 2>&1 | tail -n 12") or "").replace("\n", " | ")[-600:])
    if ready:
        mono = g.out("systemctl show -p ActiveEnterTimestampMonotonic --value kds-kiosk.service") or "0"
        r.figure(f"boot {boot}: kiosk READY (first frame) {int(mono) / 1e6:.1f} s after the kernel started, "
                 f"{time.monotonic() - t0:.1f} s after QEMU started (firmware included)")
        status = g.out("systemctl show -p StatusText --value kds-kiosk.service") or ""
        r.figure(f"boot {boot}: kiosk status: {status}")
    first = g.out("journalctl -b -o short-monotonic --no-pager -u kds-kiosk.service | grep -m1 ' Starting '") or ""
    m = re.match(r"\[\s*([0-9.]+)\]", first)
    if m:
        r.figure(f"boot {boot}: kiosk first started {float(m.group(1)):.1f} s after the kernel started")
    # The first frame, timed from the kernel's start (the journal's monotonic
    # clock starts with the kernel) to the kiosk's "ready: first frame" line.
    line = g.out("journalctl -b -o short-monotonic --no-pager -u kds-kiosk.service"
                 " | grep -m1 'ready: first frame'") or ""
    m = re.match(r"\[\s*([0-9.]+)\]", line)
    frame = float(m.group(1)) if m else None
    state.setdefault("first_frame", {})[boot] = frame
    if frame is not None:
        r.figure(f"boot {boot}: first frame {frame:.1f} s after the kernel started"
                 f" (target {args.first_frame_s:g} s)")
    if boot in args.first_frame_boots:
        r.check(f"boot {boot}: first frame within {args.first_frame_s:g} s of the kernel's start",
                frame is not None and frame <= args.first_frame_s,
                f"{frame:.1f} s" if frame is not None else "no 'ready: first frame' line in the kiosk's journal")
    return ready


def boot_figures(g, args, r, boot):
    """Where the boot's time went, for whoever makes it faster (figures, not
    checks): the kernel and initramfs (until systemd starts), the units on the
    kiosk's critical chain, and `systemd-analyze blame`, kept in
    build/test-image/analyze-bootN.txt."""
    text = g.out("systemd-analyze time --no-pager; echo; "
                 "systemd-analyze critical-chain --no-pager kds-kiosk.service; echo; "
                 "systemd-analyze blame --no-pager | head -n 40", timeout=120) or ""
    with open(os.path.join(args.workdir, f"analyze-boot{boot}.txt"), "w") as f:
        f.write(text + "\n")
    user = g.out("systemctl show -p UserspaceTimestampMonotonic --value") or ""
    if user.isdigit():
        r.figure(f"boot {boot}: systemd started {int(user) / 1e6:.1f} s after the kernel (kernel and initramfs)")
    # The kiosk's critical chain on one line: unit @start +duration (seconds
    # after systemd started), the kiosk first.
    chain = []
    for line in text.split("\n"):
        m = re.match(r"^[\s│└├─]*([\w@\\.-]+\.(?:service|target|mount|socket|device))( @[^+]+)?( \+\S+)?$", line)
        if m and (chain or m.group(1) == "kds-kiosk.service"):
            chain.append(m.group(1) + (m.group(2) or "") + (m.group(3) or ""))
    if chain:
        r.figure(f"boot {boot}: the kiosk's critical chain: " + " <- ".join(chain))


def screen_check(g, r, name, args):
    png = os.path.join(args.artifacts, f"image-{name}.png")
    w, h, rgb = g.screendump(png)
    colours, busy = screen_stats(w, h, rgb)
    return png, colours, busy, (w, h)


def sfdisk_parts(path):
    import json

    out = subprocess.run(["sfdisk", "-J", path], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["partitiontable"]["partitions"]


def region_sha(path, start_sector, sectors):
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start_sector * 512)
        left = sectors * 512
        while left:
            b = f.read(min(left, 4 * MIB))
            if not b:
                break
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def update_check(args, disk, r):
    """image/flash-update with the image onto the used test disk: the data
    partition is untouched, kds.txt is the installer's, partition UUIDs are the
    image's."""
    parts = sfdisk_parts(disk)
    data = parts[2]
    before = region_sha(disk, data["start"], data["size"])
    esp = f"{disk}@@{parts[0]['start'] * 512}"
    kds_before = subprocess.run(["mtype", "-i", esp, "::/kds.txt"], capture_output=True).stdout
    # Mark the boot partition so the check sees it rewritten.
    marker = os.path.join(args.workdir, "marker.txt")
    open(marker, "w").write("old\n")
    subprocess.run(["mcopy", "-o", "-i", esp, marker, "::/marker.txt"], check=True)
    backups = os.path.join(args.workdir, "kds-txt-backup")
    p = subprocess.run(["bash", "image/flash-update", "--backup-dir", backups, args.image, disk],
                       capture_output=True, text=True)
    ok = p.returncode == 0
    m = re.search(r"a copy is in (\S+\.txt) ", p.stderr)
    kept = m is not None and os.path.isfile(m.group(1)) and open(m.group(1), "rb").read() == kds_before
    r.check("update (image/flash-update): checked the image's .sha256, kept a copy of kds.txt and said where",
            ok and "checking " in p.stderr and kept, p.stderr.strip()[-300:])
    after = region_sha(disk, data["start"], data["size"])
    kds_after = subprocess.run(["mtype", "-i", esp, "::/kds.txt"], capture_output=True).stdout
    marker_gone = subprocess.run(["mtype", "-i", esp, "::/marker.txt"], capture_output=True).returncode != 0
    img_uuids = [q["uuid"] for q in sfdisk_parts(args.image)]
    disk_uuids = [q["uuid"] for q in sfdisk_parts(disk)]
    r.check("update (image/flash-update): boot and system rewritten, data partition and kds.txt kept",
            ok and before == after and kds_before == kds_after and kds_after != b"" and marker_gone
            and img_uuids == disk_uuids,
            f"rc={p.returncode} data {'same' if before == after else 'CHANGED'} kds.txt "
            f"{'kept' if kds_before == kds_after else 'CHANGED'} boot {'rewritten' if marker_gone else 'NOT rewritten'} "
            f"{p.stderr.strip()[-200:]}")


def wait_screen(g, r, name, args, timeout=60):
    """Screendumps until the screen shows cards (many colours, not one
    background), with a deadline; returns the last one."""
    deadline = time.monotonic() + timeout
    while True:
        png, colours, busy, size = screen_check(g, r, name, args)
        if (colours >= 8 and busy > 0.05) or time.monotonic() > deadline or not g.alive():
            return png, colours, busy, size
        g.run("sleep 1")  # paces the bounded poll


def write_kds_txt(args, disk, text):
    """Puts a new kds.txt on the disk's boot partition, as an installer would."""
    esp = f"{disk}@@{1 * MIB}"
    kds = os.path.join(args.workdir, "kds.txt")
    with open(kds, "w") as f:
        f.write(text)
    subprocess.run(["mcopy", "-o", "-i", esp, kds, "::/kds.txt"], check=True)


def kiosk_status(g):
    """`kdsctl status --json` in the guest, decoded; None when it fails."""
    import json

    text = g.out("kdsctl status --json 2>/dev/null", timeout=30)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def wait_status(g, until, timeout):
    """Polls the kiosk's status until `until(status)` holds, with a deadline;
    returns the last status."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline and g.alive():
        st = kiosk_status(g)
        if st is not None and until(st):
            return st
        g.run("sleep 1")  # paces the bounded poll
    return st


# The installer's boot (issue 13): a kds.txt with a typo, a server and no
# token. The kiosk must explain the typo on screen (file and line), then,
# once kds.txt is fixed, show a pairing code; the manager approves it on the
# server and the tickets come.
BAD_LINE = "hold_to_bump_ms = fast"
PAIR_PORT = 8090


def installer_boot(args, disk, r):
    lines = [
        "# kds.txt written by scripts/test-image: the installer's boot",
        f"station = {args.station}",
        f"server = http://127.0.0.1:{PAIR_PORT}",
        "hostname = kds-test",
        "timezone = Europe/Berlin",
        f"ssh_key = {args.ssh_pub}",
        "serial_debug = yes",
        BAD_LINE,
    ]
    bad_no = len(lines)
    write_kds_txt(args, disk, "\n".join(lines) + "\n")
    log("boot 3 (the installer's: a typo in kds.txt, a server and no token)")
    g = Guest(args, disk, 3)
    g.start()
    try:
        m = g.wait_serial(r"kds-boot-config\[\d+\]: (kds-boot-config: )?applied", args.boot_timeout)
        if not (r.check("boot 3: kds.txt with a typo applied (the rest of it)", m is not None, "see " + g.serial_log)
                and r.check("boot 3: root shell on ttyS1", g.open_shell(120))):
            return
        # The typo: the kiosk stays up and its SETUP screen names file and line.
        st = wait_status(g, lambda s: s.get("mode") == "setup" and (s.get("setup") or {}).get("problems"),
                         args.ready_timeout)
        problems = ((st or {}).get("setup") or {}).get("problems") or []
        r.check("boot 3: a typo in kds.txt gives the SETUP screen naming the file and the line",
                any("kds.txt" in p and f"line {bad_no}" in p and "hold_to_bump_ms" in p for p in problems),
                f"mode={(st or {}).get('mode')} problems={problems}")
        # The SETUP screen's first frame: READY=1 (the kiosk unit active) is
        # sent once it is on the display.
        mono = g.out("systemctl show -p ActiveEnterTimestampMonotonic --value kds-kiosk.service") or ""
        frame = int(mono) / 1e6 if mono.isdigit() and int(mono) > 0 else None
        if frame is not None:
            r.figure(f"boot 3: first frame (SETUP screen) {frame:.1f} s after the kernel started"
                     f" (target {args.first_frame_s:g} s)")
        boot_figures(g, args, r, 3)
        if 3 in args.first_frame_boots:
            r.check(f"boot 3: first frame within {args.first_frame_s:g} s of the kernel's start",
                    frame is not None and frame <= args.first_frame_s,
                    f"{frame:.1f} s" if frame is not None else "the kiosk unit never became active (READY=1)")
        png, colours, busy, size = screen_check(g, r, "boot3-setup", args)
        r.check("boot 3: the SETUP screen is on the display (screendump)", colours >= 4 and busy > 0.05,
                f"{png}: {colours} colours, {busy:.0%} not background")
        restarts = g.out("systemctl show -p NRestarts --value kds-kiosk.service") or ""
        r.check("boot 3: systemd does not restart the kiosk over a bad configuration", restarts == "0", restarts)

        # The restaurant's server, on the guest's own loopback, with demo orders.
        g.run(f"systemd-run --unit=kds-pair-test /usr/bin/kds-server serve"
              f" --db /run/kds-pair-test.sqlite --listen http://127.0.0.1:{PAIR_PORT} --demo --demo-rate 30",
              timeout=30)
        # A new screen: no tickets cached from the boots before (the kiosk in
        # SETUP mode has not opened its database).
        g.run("rm -f /var/lib/kds/kiosk.sqlite /var/lib/kds/kiosk.sqlite-wal /var/lib/kds/kiosk.sqlite-shm")
        # The installer fixes kds.txt; kds-boot-config applies it again.
        fixed = "\n".join(lines[:-1] + ["# hold_to_bump_ms = 600"]) + "\n"
        g.run("mount -o remount,rw /boot/efi && printf '%s' " + shlex.quote(fixed) + " > /boot/efi/kds.txt && sync"
              " && mount -o remount,ro /boot/efi && systemctl restart kds-boot-config.service", timeout=120)
        st = wait_status(g, lambda s: s.get("mode") == "pairing" and
                         ((s.get("setup") or {}).get("pairing") or {}).get("code"), args.ready_timeout)
        pairing = ((st or {}).get("setup") or {}).get("pairing") or {}
        code = pairing.get("code") or ""
        r.check("boot 3: with the typo fixed and no token, the kiosk shows a 6-digit pairing code",
                re.fullmatch(r"[0-9]{6}", code) is not None, f"mode={(st or {}).get('mode')} pairing={pairing}")
        png, colours, busy, size = screen_check(g, r, "boot3-pairing", args)
        r.check("boot 3: the PAIRING screen is on the display (screendump)", colours >= 4 and busy > 0.05,
                f"{png}: {colours} colours, {busy:.0%} not background")
        if code:
            rc, text = g.run(f"kds-server pair {code} --station {args.station} --db /run/kds-pair-test.sqlite",
                             timeout=60)
            r.check("boot 3: the manager approves the code on the server (kds-server pair)", rc == 0,
                    text.strip()[-300:])
        st = wait_status(g, lambda s: s.get("mode") == "run" and s.get("connection") == "connected"
                         and len(s.get("cards") or []) > 0, args.ready_timeout)
        r.check("boot 3: once approved, the kiosk syncs with the server and shows its tickets",
                (st or {}).get("mode") == "run" and (st or {}).get("connection") == "connected"
                and len((st or {}).get("cards") or []) > 0,
                f"mode={(st or {}).get('mode')} connection={(st or {}).get('connection')}"
                f" cards={len((st or {}).get('cards') or [])}")
        png, colours, busy, size = wait_screen(g, r, "boot3-paired-tickets", args)
        r.check("boot 3: the screen shows tickets after pairing (screendump)", colours >= 8 and busy > 0.05,
                f"{png}: {colours} colours, {busy:.0%} not background")
        tok = g.out("stat -c '%U %a' /var/lib/kds/paired-token; grep -c token /boot/efi/kds.txt || true") or ""
        r.check("boot 3: the paired token is kept on the data partition (0600), not in kds.txt",
                tok.split() == ["kds", "600", "0"], tok.replace("\n", " "))
        g.run("systemctl poweroff", timeout=10)
        try:
            g.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pass
    finally:
        g.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    ap.add_argument("--layout", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--ovmf-code", required=True)
    ap.add_argument("--ovmf-vars", required=True)
    ap.add_argument("--ssh-pub", required=True)
    ap.add_argument("--station", default="grill")
    ap.add_argument("--grow-mib", type=int, default=1024)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--boot-timeout", type=int, default=300)
    ap.add_argument("--ready-timeout", type=int, default=120)
    ap.add_argument("--console", action="store_true")
    # Issue 13's budgets: the image's size, and the first frame from the
    # kernel's start (QEMU TCG with OVMF) on the boots listed.
    ap.add_argument("--max-raw-mib", type=int, default=400)
    ap.add_argument("--max-zst-mib", type=int, default=120)
    ap.add_argument("--first-frame-s", type=float, default=20.0)
    # The first frame's time is a speed figure (printed and kept with the
    # figures, like the benchmarks'), not a pass/fail check: a loaded machine
    # is slower, and tests check behaviour. List boots here to make it a check.
    ap.add_argument("--first-frame-boots", default="")
    args = ap.parse_args()
    args.first_frame_boots = {int(b) for b in args.first_frame_boots.split(",") if b.strip()}
    layout = dict(line.strip().split("=", 1) for line in open(args.layout) if "=" in line)
    args.data_mib = int(layout["data_mib"])
    os.makedirs(args.workdir, exist_ok=True)
    os.makedirs(args.artifacts, exist_ok=True)
    for f in os.listdir(args.artifacts):
        if f.startswith("image-") and f.endswith(".png"):
            os.unlink(os.path.join(args.artifacts, f))

    r = Results()
    disk, image_size = prepare_disk(args)
    r.figure(f"image {os.path.basename(args.image)}: {image_size // MIB} MiB raw; test disk +{args.grow_mib} MiB")
    # The download: the raw image and its zstd file within their budgets.
    r.check(f"image: at most {args.max_raw_mib} MiB raw", image_size <= args.max_raw_mib * MIB,
            f"{image_size / MIB:.1f} MiB")
    zst = args.image + ".zst"
    zst_size = os.path.getsize(zst) if os.path.isfile(zst) else None
    r.check(f"image: at most {args.max_zst_mib} MiB compressed (zstd)",
            zst_size is not None and zst_size <= args.max_zst_mib * MIB,
            f"{zst_size / MIB:.1f} MiB" if zst_size is not None else f"{zst} is missing (KDS_IMAGE_NO_COMPRESS?)")
    state = {}

    # ---------------- boot 1: first boot, service, a bump, then the plug is pulled
    log("boot 1 (first boot)")
    g = Guest(args, disk, 1)
    g.start()
    try:
        ready = boot_checks(g, args, r, 1, state)
        bumped = None
        if ready:
            # Tickets: the demo orders reach the screen.
            png, colours, busy, size = wait_screen(g, r, "boot1-tickets", args)
            r.check("boot 1: the screen shows tickets (screendump)", colours >= 8 and busy > 0.05,
                    f"{png}: {size[0]}x{size[1]}, {colours} colours, {busy:.0%} not background")
            before = tickets(g, args.station) or {}
            # The key press: Enter bumps the selected ticket.
            g.mon.command("sendkey ret")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and g.alive():
                now = tickets(g, args.station) or {}
                new_ready = [k for k, v in now.items() if v == "READY" and before.get(k) != "READY"]
                if new_ready:
                    bumped = new_ready[0]
                    break
                g.run("sleep 0.5")
            r.check("boot 1: a key press (sendkey ret) bumps a ticket, acknowledged by the server",
                    bumped is not None, f"ticket {bumped}")
            png2, *_ = screen_check(g, r, "boot1-after-bump", args)
            state["open_before_cut"] = {k for k, v in (tickets(g, args.station) or {}).items()
                                        if v in ("QUEUED", "IN_PROGRESS")}
        else:
            screen_check(g, r, "boot1-no-kiosk", args)
            for name in ("the screen shows tickets (screendump)",
                         "a key press (sendkey ret) bumps a ticket, acknowledged by the server"):
                r.check(f"boot 1: {name}", False, "not run: the kiosk is not READY")
        state["bumped"] = bumped
        # The power cut, in service: QEMU quits at once, nothing is flushed.
        log("boot 1: power cut (monitor quit)")
        g.power_cut()
    finally:
        g.stop()

    # ---------------- boot 2: after the power cut
    log("boot 2 (after the power cut)")
    g = Guest(args, disk, 2)
    g.start()
    try:
        ready = boot_checks(g, args, r, 2, state)
        if ready:
            now = tickets(g, args.station) or {}
            if state.get("bumped"):
                # READY, or already SERVED: the demo's expo hands an order over
                # once none of its tickets is open any more, which a lost bump
                # would have kept open (QUEUED or IN_PROGRESS).
                r.check("boot 2: the bump acknowledged before the power cut is kept",
                        now.get(state["bumped"]) in ("READY", "SERVED"), f"{state['bumped']}: {now.get(state['bumped'])}")
            else:
                r.check("boot 2: the bump acknowledged before the power cut is kept", False, "no bump in boot 1")
            lost = [k for k in state.get("open_before_cut", set()) if k not in now]
            r.check("boot 2: every ticket open before the power cut is still there", not lost, f"lost {lost}")
            png, colours, busy, size = wait_screen(g, r, "boot2-tickets", args)
            r.check("boot 2: the screen shows the tickets again (screendump)", colours >= 8 and busy > 0.05,
                    f"{png}: {colours} colours, {busy:.0%} not background")
        if ready:
            # A crash: systemd restarts the kiosk, which comes back READY.
            n0 = g.out("systemctl show -p NRestarts --value kds-kiosk.service") or "0"
            g.run("systemctl kill --signal=SIGKILL --kill-whom=main kds-kiosk.service")
            deadline = time.monotonic() + args.ready_timeout
            back = False
            while time.monotonic() < deadline and g.alive():
                n1 = g.out("systemctl show -p NRestarts --value kds-kiosk.service") or n0
                act = g.out("systemctl show -p ActiveState --value kds-kiosk.service") or ""
                if n1 != n0 and act == "active":
                    back = True
                    break
                g.run("sleep 1")  # paces the bounded poll
            r.check("boot 2: the kiosk is restarted after a crash (SIGKILL) and is READY again", back)
        else:
            screen_check(g, r, "boot2-no-kiosk", args)
            for name in ("the bump acknowledged before the power cut is kept",
                         "the screen shows the tickets again (screendump)",
                         "the kiosk is restarted after a crash (SIGKILL) and is READY again"):
                r.check(f"boot 2: {name}", False, "not run: the kiosk is not READY")
        # A clean shutdown this time (the journal, the databases), then done.
        g.run("systemctl poweroff", timeout=10)
        try:
            g.proc.wait(timeout=120)
            r.check("boot 2: clean shutdown (systemctl poweroff)", g.proc.returncode == 0, f"qemu exit {g.proc.returncode}")
        except subprocess.TimeoutExpired:
            r.check("boot 2: clean shutdown (systemctl poweroff)", False, "still running after 120 s")
    finally:
        g.stop()

    # ---------------- an update (image/flash-update) keeps kds.txt and the data
    update_check(args, disk, r)

    # ---------------- the installer's boot: a typo, then pairing
    installer_boot(args, disk, r)

    for f in r.figures:
        log(f)
    log(f"{r.passed} checks passed, {len(r.failed)} failed; logs in {args.workdir}, screens in {args.artifacts}")
    sys.exit(1 if r.failed else 0)


if __name__ == "__main__":
    main()
