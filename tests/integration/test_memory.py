"""Bounded memory: a 2 GiB blob streams through the server (push and pull)
while its resident set grows by less than 32 MiB."""
import hashlib
import os
import socket
import unittest

from harness import ServerTestCase

GIB = 1 << 30
CHUNK = 1 << 20


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def reset_peak(pid):
    # Writing 5 to clear_refs resets VmHWM to the current RSS.
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


class BoundedMemoryTest(ServerTestCase):
    config = '[server]\naccess_log = "off"\n'

    def test_two_gib_blob_streams_in_bounded_memory(self):
        size = 2 * GIB
        block = hashlib.sha256(b"seed").digest() * (CHUNK // 32)
        h = hashlib.sha256()
        for _ in range(size // CHUNK):
            h.update(block)
        digest = "sha256:" + h.hexdigest()
        pid = self.server.proc.pid
        self.req("GET", "/v2/")  # warm up: threads, connections, caches
        reset_peak(pid)
        base = vm_hwm_kib(pid)

        r = self.req("POST", "/v2/big/blob/blobs/uploads/")
        self.assertEqual(r.status, 202)
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(f"PUT {r.header('Location')}?digest={digest} HTTP/1.1\r\nHost: x\r\n"
                      f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode())
            for _ in range(size // CHUNK):
                s.sendall(block)
            reply = s.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 201"), reply)
        push_growth = vm_hwm_kib(pid) - base

        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(f"GET /v2/big/blob/blobs/{digest} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            got = hashlib.sha256()
            header = b""
            while b"\r\n\r\n" not in header:
                header += s.recv(65536)
            head, body = header.split(b"\r\n\r\n", 1)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            got.update(body)
            n = len(body)
            while True:
                data = s.recv(1 << 20)
                if not data:
                    break
                got.update(data)
                n += len(data)
        self.assertEqual(n, size)
        self.assertEqual("sha256:" + got.hexdigest(), digest)
        total_growth = vm_hwm_kib(pid) - base
        print(f"RSS growth: push {push_growth} KiB, push+pull {total_growth} KiB")
        self.assertLess(push_growth, 32 * 1024, f"push grew RSS by {push_growth} KiB")
        self.assertLess(total_growth, 32 * 1024, f"push+pull grew RSS by {total_growth} KiB")
        blob = os.path.join(self.server.data_dir, "blobs", "sha256", digest[7:9], digest[7:])
        self.assertEqual(os.path.getsize(blob), size)


if __name__ == "__main__":
    unittest.main()
