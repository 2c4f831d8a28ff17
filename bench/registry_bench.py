"""Benchmarks Custody against CNCF Distribution and the machine's limits,
side by side in one run, and prints a Markdown report with ratios.

Everything runs on loopback on this machine: the same blob file, the same
manifest bytes, the same load generator settings for every server.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Custody:
    """Without authentication by default, as Distribution runs; with
    auth="token", as production runs (then `secret` is the admin's)."""
    name = "custody"

    def __init__(self, binary, work, auth="open"):
        self.dir = os.path.join(work, f"custody-data-{auth}")
        self.port = free_port()
        cfg = os.path.join(work, f"custody-{auth}.toml")
        with open(cfg, "w") as f:
            f.write(f'[server]\naccess_log = "off"\n[auth]\nmode = "{auth}"\n')
        log = os.path.join(work, f"custody-{auth}.log")
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([binary, "serve", "--config", cfg, "--listen", f"127.0.0.1:{self.port}",
                                          "--data", self.dir], stdout=subprocess.DEVNULL, stderr=out)
        wait_http(f"http://127.0.0.1:{self.port}/v2/")
        m = re.search(r"with secret (cst_[A-Za-z0-9_-]+)", open(log).read())
        self.secret = m.group(1) if m else None

    def bearer(self, scope):
        """A token for `scope` from /auth/token, as docker fetches one."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/auth/token?service=custody&scope={scope}")
        pair = base64.b64encode(f"admin:{self.secret}".encode()).decode()
        req.add_header("Authorization", f"Basic {pair}")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["token"]


class Distribution:
    name = "distribution"

    def __init__(self, work):
        self.dir = os.path.join(work, "distribution-data")
        self.port = free_port()
        cfg = os.path.join(work, "distribution.yml")
        with open(cfg, "w") as f:
            f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.dir}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{self.port}
""")
        self.proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{self.port}/v2/")


class Nginx:
    name = "nginx"

    def __init__(self, work, manifest, blob):
        root = os.path.join(work, "nginx")
        os.makedirs(os.path.join(root, "www"))
        with open(os.path.join(root, "www", "manifest"), "wb") as f:
            f.write(manifest)
        os.link(blob, os.path.join(root, "www", "blob"))
        self.port = free_port()
        conf = os.path.join(root, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes auto;
daemon off;
user root;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  sendfile on;
  tcp_nopush on;
  server {{
    listen 127.0.0.1:{self.port};
    root {root}/www;
    location / {{ default_type {ACCEPT}; }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{self.port}/manifest")


def make_blob(path, size):
    block = os.urandom(1 << 20)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(size >> 20):
            chunk = hashlib.sha256(i.to_bytes(8, "big")).digest() + block[32:]
            f.write(chunk)
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def dd_fsync_write(src, dst):
    t = time.perf_counter()
    run(["dd", f"if={src}", f"of={dst}", "bs=1M", "conv=fsync"])
    elapsed = time.perf_counter() - t
    os.unlink(dst)
    return os.path.getsize(src) / elapsed


def page_cache_read(src):
    run(["dd", f"if={src}", "of=/dev/null", "bs=1M"])  # warm
    t = time.perf_counter()
    run(["dd", f"if={src}", "of=/dev/null", "bs=1M"])
    return os.path.getsize(src) / (time.perf_counter() - t)


def push_blob(port, repo, path, digest):
    base = f"http://127.0.0.1:{port}"
    r = run(["curl", "-s", "-D", "-", "-o", "/dev/null", "-X", "POST", f"{base}/v2/{repo}/blobs/uploads/"])
    loc = re.search(r"(?im)^location:\s*(\S+)", r.stdout).group(1)
    if loc.startswith("/"):
        loc = base + loc
    sep = "&" if "?" in loc else "?"
    t = time.perf_counter()
    out = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-T", path,
               "-H", "Content-Type: application/octet-stream", f"{loc}{sep}digest={digest}"]).stdout
    elapsed = time.perf_counter() - t
    assert out == "201", f"push to {port} answered {out}"
    return os.path.getsize(path) / elapsed


def pull_blob(port, repo, digest, size):
    return pull_url(f"http://127.0.0.1:{port}/v2/{repo}/blobs/{digest}", size)


def pull_url(url, size):
    run(["curl", "-s", "-o", "/dev/null", url])  # warm the page cache
    t = time.perf_counter()
    out = run(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", url]).stdout
    elapsed = time.perf_counter() - t
    assert int(out) == size, out
    return size / elapsed


def skopeo_copy(src, dst):
    t = time.perf_counter()
    run(["skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", src, dst])
    return time.perf_counter() - t


def wrk_get(url, seconds, headers=()):
    extra = [a for h in headers for a in ("-H", h)]
    out = run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-H", f"Accept: {ACCEPT}", *extra, url]).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return rps, float(p99.group(1)) * scale


def ab_head(url, requests):
    out = run(["ab", "-q", "-k", "-i", "-c", "64", "-n", str(requests), "-H", f"Accept: {ACCEPT}", url]).stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    p99 = float(re.search(r"\s99%\s+(\d+)", out).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    assert failed == 0, out
    return rps, p99


def push_manifest(port, repo, tag, config_bytes, layer_bytes, auth=()):
    auth = list(auth)
    base = f"http://127.0.0.1:{port}/v2/{repo}"
    for data in (config_bytes, layer_bytes):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        r = run(["curl", "-s", *auth, "-D", "-", "-o", "/dev/null", "-X", "POST", f"{base}/blobs/uploads/"])
        loc = re.search(r"(?im)^location:\s*(\S+)", r.stdout).group(1)
        loc = loc if loc.startswith("http") else f"http://127.0.0.1:{port}{loc}"
        sep = "&" if "?" in loc else "?"
        subprocess.run(["curl", "-s", *auth, "-X", "PUT", "-H", "Content-Type: application/octet-stream",
                        "--data-binary", "@-", f"{loc}{sep}digest={d}"],
                       input=data, check=True, capture_output=True)
    m = {"schemaVersion": 2, "mediaType": ACCEPT,
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": "sha256:" + hashlib.sha256(config_bytes).hexdigest(), "size": len(config_bytes)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                     "digest": "sha256:" + hashlib.sha256(layer_bytes).hexdigest(), "size": len(layer_bytes)}]}
    body = json.dumps(m, indent=3).encode()
    r = subprocess.run(["curl", "-s", *auth, "-w", "%{http_code}", "-X", "PUT", "-H", f"Content-Type: {ACCEPT}",
                        "--data-binary", "@-", f"{base}/manifests/{tag}"], input=body, capture_output=True)
    assert r.stdout.endswith(b"201"), f"manifest push to {port}: {r.stdout!r}"
    return body


def fmt_rate(bps):
    return f"{bps / (1 << 20):,.0f} MiB/s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--custody", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--quick", action="store_true", help="256 MiB blob and 5 s load runs")
    ap.add_argument("--out", default="bench/results/latest.md")
    args = ap.parse_args()
    blob_size = (256 if args.quick else 1024) << 20
    load_seconds = 5 if args.quick else 15
    work = tempfile.mkdtemp(prefix="custody-bench-", dir=os.path.abspath("."))
    servers = []
    rows = []
    try:
        blob = os.path.join(work, "blob.bin")
        digest = make_blob(blob, blob_size)
        limits = {"dd_fsync": dd_fsync_write(blob, os.path.join(work, "dd.out")), "page_cache": page_cache_read(blob)}

        custody = Custody(os.path.abspath(args.custody), work)
        dist = Distribution(work)
        servers = [custody, dist]
        idle = {s.name: rss_kib(s.proc.pid) for s in servers}

        push = {s.name: push_blob(s.port, "bench/blob", blob, digest) for s in servers}
        pull = {s.name: pull_blob(s.port, "bench/blob", digest, blob_size) for s in servers}
        rows.append(("blob push (1 file, fsync'd by Custody)", push, limits["dd_fsync"], "dd conv=fsync", "{:,.0f}", fmt_rate))
        rows.append(("blob pull (page cache)", pull, limits["page_cache"], "dd from page cache", "{:,.0f}", fmt_rate))

        images = sorted(f for f in os.listdir(os.path.join(args.shared, "images")) if f.endswith(".oci.tar"))
        image_rows = []
        for image in images:
            src = f"oci-archive:{os.path.join(args.shared, 'images', image)}"
            times = {}
            for s in servers:
                ref = f"docker://127.0.0.1:{s.port}/bench/{image.split('.')[0]}:latest"
                t_push = skopeo_copy(src, ref)
                out = os.path.join(work, f"pull-{s.name}-{image}")
                t_pull = skopeo_copy(ref, f"oci:{out}:latest")
                shutil.rmtree(out)
                times[s.name] = (t_push, t_pull)
            image_rows.append((image, times))

        layer = os.urandom(2048)
        manifest = None
        for s in servers:
            manifest = push_manifest(s.port, "bench/manifest", "latest", b'{"os":"linux"}', layer)
        nginx = Nginx(work, manifest, blob)
        limits["nginx_sendfile"] = pull_url(f"http://127.0.0.1:{nginx.port}/blob", blob_size)
        rows.append(("blob pull vs nginx sendfile of the same file", pull, limits["nginx_sendfile"],
                     "nginx + curl", "{:,.0f}", fmt_rate))
        servers.append(nginx)
        urls = {"custody": f"http://127.0.0.1:{custody.port}/v2/bench/manifest/manifests/latest",
                "distribution": f"http://127.0.0.1:{dist.port}/v2/bench/manifest/manifests/latest",
                "nginx": f"http://127.0.0.1:{nginx.port}/manifest"}
        get = {name: wrk_get(url, load_seconds) for name, url in urls.items()}
        # The same GET as production runs it: token authentication on, a
        # bearer token on every request.
        secured = Custody(os.path.abspath(args.custody), work, auth="token")
        servers.append(secured)
        push_token = secured.bearer("repository:bench/manifest:pull,push")
        push_manifest(secured.port, "bench/manifest", "latest", b'{"os":"linux"}', layer,
                      auth=["-H", f"Authorization: Bearer {push_token}"])
        pull_token = secured.bearer("repository:bench/manifest:pull")
        get_token = wrk_get(f"http://127.0.0.1:{secured.port}/v2/bench/manifest/manifests/latest", load_seconds,
                            headers=[f"Authorization: Bearer {pull_token}"])
        head = {name: ab_head(url, 20000 if args.quick else 100000) for name, url in urls.items()}
        busy = {s.name: rss_kib(s.proc.pid) for s in servers[:2]}
    finally:
        for s in servers:
            s.proc.terminate()
            s.proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores; "
             f"blob {blob_size >> 20} MiB; load {load_seconds} s, 64 connections.", ""]
    lines += ["| measure | custody | distribution 2.8 | machine limit | custody / limit | custody / distribution |",
              "|---|---|---|---|---|---|"]
    for label, vals, limit, limit_name, _, f in rows:
        c, d = vals["custody"], vals["distribution"]
        lines.append(f"| {label} | {f(c)} | {f(d)} | {f(limit)} ({limit_name}) | {c / limit:.2f}× | {c / d:.2f}× |")
    for verb, res, tool in (("GET", get, "wrk"), ("HEAD", head, "ab -k -i")):
        c, d, n = res["custody"], res["distribution"], res["nginx"]
        lines.append(f"| manifest {verb} by tag, req/s ({tool}) | {c[0]:,.0f} | {d[0]:,.0f} | {n[0]:,.0f} (nginx static) "
                     f"| {c[0] / n[0]:.2f}× | {c[0] / d[0]:.1f}× |")
        lines.append(f"| manifest {verb} p99 latency, ms | {c[1]:.2f} | {d[1]:.2f} | {n[1]:.2f} (nginx) "
                     f"| {c[1] / max(n[1], 1e-9):.2f}× | {c[1] / max(d[1], 1e-9):.2f}× |")
    c, d, n = get_token, get["distribution"], get["nginx"]
    lines.append(f"| manifest GET by tag with a bearer token (auth on), req/s (wrk) | {c[0]:,.0f} | {d[0]:,.0f} (no auth) "
                 f"| {n[0]:,.0f} (nginx static) | {c[0] / n[0]:.2f}× | {c[0] / d[0]:.1f}× |")
    lines.append(f"| manifest GET with a bearer token p99 latency, ms | {c[1]:.2f} | {d[1]:.2f} (no auth) | {n[1]:.2f} (nginx) "
                 f"| {c[1] / max(n[1], 1e-9):.2f}× | {c[1] / max(d[1], 1e-9):.2f}× |")
    lines.append(f"| RSS idle, MiB | {idle['custody'] / 1024:.1f} | {idle['distribution'] / 1024:.1f} | | | |")
    lines.append(f"| RSS after the run, MiB | {busy['custody'] / 1024:.1f} | {busy['distribution'] / 1024:.1f} | | | |")
    lines += ["", "| image (skopeo copy) | custody push s | distribution push s | custody pull s | distribution pull s |",
              "|---|---|---|---|---|"]
    for image, t in image_rows:
        lines.append(f"| {image} | {t['custody'][0]:.2f} | {t['distribution'][0]:.2f} | {t['custody'][1]:.2f} | "
                     f"{t['distribution'][1]:.2f} |")
    report = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    sys.exit(main())
