"""What the QEMU test drivers share: scripts/qemu/run-guest.py (make test-qemu)
and image/test/image_test.py (make test-image) both import it, by path from
their own location.

  connect_unix(path, proc)   a unix socket QEMU serves (monitor, serial), once it is there
  SerialConsole(path, proc, log)
                             a serial port's lines (also logged), and waiting for one
  Monitor(path, proc)        the human monitor: command(), sendkey via command(),
                             screendump() to (width, height, RGB bytes), quit()
  read_ppm / write_png       QEMU's binary PPM screendumps, and PNG for the artifacts
  free_port()                a free TCP port on the host's loopback (for hostfwd)

Every wait is for a condition with a deadline, never a sleep as synchronisation.
"""

import os
import socket
import struct
import re
import subprocess
import threading
import time
import zlib


class QemuError(Exception):
    """QEMU or its monitor did not do what the driver asked."""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect_unix(path, proc, timeout=30):
    """Connects to the unix socket QEMU (`proc`) serves at `path`, waiting for
    QEMU to create it; QemuError when QEMU exits or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise QemuError(f"qemu exited with status {proc.returncode} before {path} opened")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise QemuError(f"qemu did not open {path} within {timeout} s")
            time.sleep(0.05)  # polling for QEMU's socket file: a bounded wait-for-condition


class SerialConsole:
    """A serial port QEMU serves on a unix socket
    (`-chardev socket,id=ID,path=PATH,server=on,wait=on`: the guest starts once
    this connects, so no output is lost). A thread reads it into `lines` (and
    the raw bytes into `log`, an open binary file it then owns: `close()`
    closes it); `wait_line` waits for one."""

    def __init__(self, path, proc, log, timeout=30):
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self._partial = b""
        self.log = log
        self.sock = connect_unix(path, proc, timeout)
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.cond:
                    self.eof = True
                    self.cond.notify_all()
                return
            with self.cond:
                if not self.log.closed:
                    self.log.write(data)
                    self.log.flush()
                self._partial += data
                while b"\n" in self._partial:
                    line, self._partial = self._partial.split(b"\n", 1)
                    self.lines.append(line.replace(b"\r", b"").decode("utf-8", "replace"))
                self.cond.notify_all()

    def add(self, text):
        """Adds output that came another way (a command's answer) to the
        lines and the log."""
        with self.cond:
            if not self.log.closed:
                self.log.write(text.encode())
                self.log.flush()
            self.lines.extend(text.replace("\r", "").splitlines())
            self.cond.notify_all()

    def line_count(self):
        with self.cond:
            return len(self.lines)

    def wait_line(self, regex, start, timeout):
        """The first line from index `start` on matching `regex`, as (index,
        match), waiting up to `timeout` seconds for it; QemuError when the
        deadline passes or the port closes (QEMU exited)."""
        pattern = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    m = pattern.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                if self.eof:
                    raise QemuError(f"the serial console closed while waiting for /{regex}/")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise QemuError(f"no line matching /{regex}/ within {timeout:.0f} s")
                self.cond.wait(left)

    def close(self):
        self.sock.close()
        with self.cond:
            self.log.close()


class Monitor:
    """QEMU's human monitor on a unix socket (`-monitor unix:PATH,server=on,wait=off`)."""

    def __init__(self, path, proc, timeout=30):
        self.proc = proc
        self.sock = connect_unix(path, proc, timeout)
        self._read_prompt(60)

    def _read_prompt(self, timeout):
        buf = b""
        self.sock.settimeout(timeout)
        while not buf.endswith(b"(qemu) "):
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise QemuError(f"no monitor prompt within {timeout} s") from None
            if not chunk:
                raise QemuError("the QEMU monitor closed")
            buf += chunk
        return buf.decode("utf-8", "replace")

    def command(self, command, timeout=60):
        """Runs a monitor command (e.g. `sendkey ret`); returns its output."""
        self.sock.sendall(command.encode() + b"\n")
        return self._read_prompt(timeout)

    def screendump(self, ppm_path, timeout=30):
        """The screen as (width, height, RGB bytes), through a PPM file at
        `ppm_path` (removed again)."""
        if os.path.exists(ppm_path):
            os.unlink(ppm_path)
        self.command(f"screendump {ppm_path}")
        deadline = time.monotonic() + timeout
        while not (os.path.exists(ppm_path) and os.path.getsize(ppm_path) > 0):
            if time.monotonic() > deadline:
                raise QemuError("screendump wrote no file")
            time.sleep(0.05)  # bounded wait for QEMU to finish the file
        shot = read_ppm(ppm_path)
        os.unlink(ppm_path)
        return shot

    def quit(self, timeout=10):
        """`quit`: QEMU stops at once, like pulling the plug. Kills it if it
        has not exited within `timeout` seconds."""
        try:
            self.sock.sendall(b"quit\n")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.sock.close()


def read_ppm(path):
    """An 8-bit binary PPM (P6, QEMU's screendump) as (width, height, RGB bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    # Header: P6 <ws> width <ws> height <ws> maxval <single ws> pixels; # comments.
    fields = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise QemuError(f"{path}: not an 8-bit P6 PPM")
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos : pos + w * h * 3]


def write_png(path, w, h, rgb):
    """Writes 8-bit RGB pixels (rows top to bottom) as a PNG."""

    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    stride = w * 3
    raw = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(h))
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
