#!/usr/bin/env python3
"""Chaos client for benches/soak.sh: opens connections to kv and, at random, resets them
mid-pipeline (RST after half a frame), closes them without reading the replies, or sends a
pipeline and checks every reply. Exits 1 (and says which) at the first wrong reply.

    chaos.py HOST PORT SECONDS
"""
import random
import socket
import struct
import sys
import time


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise EOFError("connection closed mid-reply")
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-"):
        return kind + rest
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        return [read_reply(f) for _ in range(int(rest))]
    raise ValueError("not RESP: %r" % line)


def reset(sock):
    # SO_LINGER with a zero timeout: close sends RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def main():
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    deadline = time.time() + seconds
    rng = random.Random()
    counts = {"checked": 0, "reset": 0, "unread": 0, "replies": 0}
    conn_id = 0
    while time.time() < deadline:
        conn_id += 1
        try:
            sock = socket.create_connection((host, port), timeout=10)
        except OSError as e:
            print("chaos: connect failed: %s" % e, file=sys.stderr)
            return 1
        tag = "chaos:%d:%d" % (rng.randrange(1 << 30), conn_id)
        # The counter expires too (INCR keeps the deadline), so even a connection reset right
        # after its first frame leaves nothing behind for long: the keyspace stays bounded.
        cmds, expected = [enc("SET", tag + ":n", 0, "EX", 2)], [b"+OK"]
        for i in range(rng.randrange(1, 40)):
            value = "%x" % rng.getrandbits(64) * rng.randrange(1, 20)
            key = "%s:%d" % (tag, i)
            cmds += [enc("SET", key, value, "EX", 2), enc("GET", key), enc("INCR", tag + ":n")]
            expected += [b"+OK", value.encode(), i + 1]
        cmds.append(enc("MGET", tag + ":0", tag + ":missing"))
        expected.append([expected[2], None])
        data = b"".join(cmds)
        mode = rng.random()
        try:
            if mode < 0.25:
                sock.sendall(data[: rng.randrange(1, len(data))])
                reset(sock)
                counts["reset"] += 1
            elif mode < 0.4:
                sock.sendall(data)
                sock.close()
                counts["unread"] += 1
            else:
                sock.sendall(data)
                f = sock.makefile("rb")
                for want in expected:
                    got = read_reply(f)
                    if got != want:
                        print("chaos: WRONG REPLY on %s: want %r, got %r" % (tag, want, got),
                              file=sys.stderr)
                        return 1
                    counts["replies"] += 1
                f.close()
                sock.close()
                counts["checked"] += 1
        except (OSError, EOFError) as e:
            print("chaos: I/O error on a checked connection: %s" % e, file=sys.stderr)
            return 1
    print("chaos: %(checked)d connections checked (%(replies)d replies), %(reset)d reset "
          "mid-pipeline, %(unread)d closed unread" % counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
