#!/usr/bin/env python3
# tests/bench/zmtp_proxy.py: a TCP proxy on 127.0.0.1 for bench_sync.sh that forwards bytes
# unchanged both ways and, on the side, parses the ZMTP 3.x stream to log each frame.
# Usage: zmtp_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT LOGFILE   (LISTEN_PORT 0: any free
# port). It listens on 127.0.0.1 only and dials only 127.0.0.1; SIGTERM or SIGINT stops it.
# LOGFILE (appended, line-buffered; T is time.time() with microseconds, N counts accepted
# connections from 1, c2s is from the dialling side, s2c from TARGET):
#   listen PORT                  the port it listens on, first
#   conn N open T                a connection accepted and its twin to TARGET dialled
#   conn N handshake T           the server's READY command has passed (end of the CURVE or
#                                NULL handshake); after it CURVE messages are MESSAGE boxes,
#                                which libzmq 4.3 sends as data frames (no 0x04 bit)
#   conn N c2s|s2c T BYTES       each frame after that, when the proxy has read its last
#                                byte (it forwards it at once); BYTES is the whole frame:
#                                flags byte, size field and body
#   conn N close T               either side hung up
# SPDX-License-Identifier: MIT
import os
import selectors
import signal
import socket
import sys
import time

GREETING_LEN = 64  # ZMTP 3.x: signature, version, mechanism, as-server, filler
FLAG_LONG = 0x02  # 8-byte big-endian size, else 1 byte
FLAG_COMMAND = 0x04
FRAME_MAX = 1 << 40  # a size above this is not ZMTP we understand: stop parsing
NAME_KEEP = 256  # first body bytes kept of a command: name length + name
RECV_BYTES = 1 << 18
QUEUE_MAX = 8 << 20  # bytes waiting for one side before we stop reading the other
LOCAL = ("127.0.0.1", "localhost")


class Parser:
    """ZMTP 3.x frames of one direction, fed in chunks of any size; the bodies are skipped,
    never buffered (only a command's first NAME_KEEP bytes are kept, for its name)."""

    def __init__(self):
        self.greeting_left = GREETING_LEN
        self.header = bytearray()
        self.body_left = -1  # -1: reading a header
        self.frame_len = 0
        self.command = False
        self.head = bytearray()
        self.broken = False

    def feed(self, data):
        """Return (frame bytes, command name or None) for each frame completed in data."""
        done = []
        i, n = 0, len(data)
        while i < n and not self.broken:
            if self.greeting_left:
                take = min(self.greeting_left, n - i)
                self.greeting_left -= take
                i += take
            elif self.body_left < 0:
                self.header.append(data[i])
                i += 1
                size_len = 8 if self.header[0] & FLAG_LONG else 1
                if len(self.header) == 1 + size_len:
                    size = int.from_bytes(self.header[1:], "big")
                    if size > FRAME_MAX:
                        self.broken = True
                        break
                    self.command = bool(self.header[0] & FLAG_COMMAND)
                    self.frame_len = 1 + size_len + size
                    self.body_left = size
                    self.head = bytearray()
                    self.header = bytearray()
            else:
                take = min(self.body_left, n - i)
                if self.command and len(self.head) < NAME_KEEP:
                    self.head += data[i : i + min(take, NAME_KEEP - len(self.head))]
                self.body_left -= take
                i += take
            if self.body_left == 0:
                name = None
                if self.command and self.head:
                    name = bytes(self.head[1 : 1 + self.head[0]])
                done.append((self.frame_len, name))
                self.body_left = -1
        return done


class Conn:
    def __init__(self, number, client, server):
        self.number = number
        self.sock = {"c2s": client, "s2c": server}  # the side each direction reads from
        self.queue = {"c2s": [], "s2c": []}  # bytes waiting to go out in that direction
        self.queued = {"c2s": 0, "s2c": 0}
        self.eof = {"c2s": False, "s2c": False}
        self.parser = {"c2s": Parser(), "s2c": Parser()}
        self.ready = False
        self.closed = False


class Proxy:
    def __init__(self, listen_port, target, log):
        self.target = target
        self.log = log
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", listen_port))
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.count = 0
        self.write("listen %d" % self.listener.getsockname()[1])

    def write(self, line):
        self.log.write(line + "\n")

    def accept(self):
        try:
            client, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError as e:
            print("zmtp_proxy: cannot dial %s:%d: %s" % (self.target + (e,)), file=sys.stderr)
            client.close()
            return
        self.count += 1
        c = Conn(self.count, client, server)
        for s in (client, server):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.write("conn %d open %.6f" % (c.number, time.time()))
        self.sel.register(client, selectors.EVENT_READ, (c, "c2s"))
        self.sel.register(server, selectors.EVENT_READ, (c, "s2c"))

    @staticmethod
    def other(direction):
        return "s2c" if direction == "c2s" else "c2s"

    def update(self, c):
        """Read from a side while it is open and what it sent is not piling up; write to a
        side while something waits for it."""
        if c.closed:
            return
        for d in ("c2s", "s2c"):
            events = 0
            if not c.eof[d] and c.queued[d] < QUEUE_MAX:
                events |= selectors.EVENT_READ
            # what goes out to this socket is the other direction's queue
            if c.queue[self.other(d)]:
                events |= selectors.EVENT_WRITE
            self.watch(c.sock[d], events, (c, d))

    def watch(self, sock, events, data):
        if not events:
            self.unwatch(sock)
            return
        try:
            self.sel.modify(sock, events, data)
        except KeyError:
            self.sel.register(sock, events, data)

    def unwatch(self, sock):
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass

    def close(self, c):
        if c.closed:
            return
        c.closed = True
        for s in c.sock.values():
            self.unwatch(s)
            s.close()
        self.write("conn %d close %.6f" % (c.number, time.time()))

    def on_frames(self, c, d, frames, now):
        for size, name in frames:
            if c.ready:
                self.write("conn %d %s %.6f %d" % (c.number, d, now, size))
            elif d == "s2c" and name == b"READY":
                c.ready = True
                self.write("conn %d handshake %.6f" % (c.number, now))

    def flush(self, c, d):
        """Send what waits in direction d to its destination; False if the link broke."""
        out = c.sock[self.other(d)]
        q = c.queue[d]
        while q:
            try:
                sent = out.send(q[0])
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            c.queued[d] -= sent
            if sent < len(q[0]):
                q[0] = q[0][sent:]
                return True
            q.pop(0)
        return True

    def readable(self, c, d):
        try:
            data = c.sock[d].recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            c.eof[d] = True
        else:
            now = time.time()
            c.queue[d].append(memoryview(data))
            c.queued[d] += len(data)
            self.on_frames(c, d, c.parser[d].feed(data), now)
        if not self.flush(c, d):
            self.close(c)
        elif c.eof[d] and not c.queue[d]:
            self.close(c)  # ZeroMQ never half-closes: one side gone ends the pair

    def writable(self, c, d_out_sock):
        d = self.other(d_out_sock)  # the direction whose queue goes to this socket
        if not self.flush(c, d):
            self.close(c)
        elif c.eof[d] and not c.queue[d]:
            self.close(c)

    def run(self):
        while True:
            for key, mask in self.sel.select():
                if key.data is None:
                    self.accept()
                    continue
                c, d = key.data
                if c.closed:
                    continue
                if mask & selectors.EVENT_READ:
                    self.readable(c, d)
                if not c.closed and mask & selectors.EVENT_WRITE:
                    self.writable(c, d)
                self.update(c)


def main(argv):
    if len(argv) != 5:
        print("usage: zmtp_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT LOGFILE", file=sys.stderr)
        return 2
    try:
        listen_port, target_port = int(argv[1]), int(argv[3])
    except ValueError:
        print("zmtp_proxy: ports are numbers", file=sys.stderr)
        return 2
    if argv[2] not in LOCAL:
        print("zmtp_proxy: the target must be on 127.0.0.1", file=sys.stderr)
        return 2

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(argv[4], "a", buffering=1) as log:
        try:
            Proxy(listen_port, ("127.0.0.1", target_port), log).run()
        except SystemExit:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
