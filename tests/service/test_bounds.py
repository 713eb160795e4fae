"""Bounds: thousands of idle connections, slow clients and too many event streams are
refused or served within bounds, and the server answers throughout."""
import errno
import os
import resource
import socket
import threading
import time

from conftest import Server, make_token


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def probe(server, token, results, stop):
    """GET /v1/health on a fresh connection every 100 ms: (seconds, status or error)."""
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            r = server.request("GET", "/v1/health", token=token, timeout=10)
            results.append((time.monotonic() - t0, r.status))
        except OSError as e:
            results.append((time.monotonic() - t0, "error: %s" % e))
        time.sleep(0.1)


def test_ten_thousand_idle_connections_stay_bounded(home):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 10_000
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want + 1000), hard))
    attempts = min(want, min(hard, want + 1000) - 500)
    server = Server(home, extra=["--threads", "16", "--max-streams", "4"]).start()
    token = make_token(home, "read")
    results, stop = [], threading.Event()
    prober = threading.Thread(target=probe, args=(server, token, results, stop))
    prober.start()
    idle, refused, peak_fds = [], 0, 0
    try:
        for i in range(attempts):
            s = socket.socket()
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", server.port))
            if err not in (0, errno.EINPROGRESS):
                refused += 1
                s.close()
                continue
            idle.append(s)
            if i % 500 == 0:
                peak_fds = max(peak_fds, open_fds(server.proc.pid))
        time.sleep(2)  # The connections sit idle while the prober keeps asking.
        peak_fds = max(peak_fds, open_fds(server.proc.pid))
    finally:
        for s in idle:
            s.close()
        stop.set()
        prober.join()
    try:
        # Connections the server holds at once: 16 threads + 64 waiting + its own files.
        assert peak_fds < 16 + 64 + 100, peak_fds
        assert results, "no probe ran"
        # Every probe was answered (served, or refused with 503 busy) within 5 s.
        for seconds, status in results:
            assert status in (200, 503), results
            assert seconds < 5, results
        assert any(status == 200 for _, status in results), results
        r = server.request("GET", "/v1/health", token=token)
        assert r.status == 200
        metrics = server.request("GET", "/v1/metrics", token=token).body
        shed = [l for l in metrics.splitlines() if l.startswith("skillrt_http_connections_shed_total")]
        print("attempted %d idle connections, %d refused by connect, probes %d, %s, peak fds %d"
              % (attempts, refused, len(results), shed, peak_fds))
    finally:
        server.stop()


def test_slow_clients_are_dropped_and_others_served(home):
    server = Server(home, extra=["--threads", "8", "--max-streams", "2"]).start()
    token = make_token(home, "read")
    slow = []
    try:
        for _ in range(6):  # A byte every half second: never a whole request head.
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(s)
        t0 = time.monotonic()
        r = server.request("GET", "/v1/health", token=token, timeout=5)
        assert r.status == 200 and time.monotonic() - t0 < 2
        closed = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and closed < len(slow):
            closed = 0
            for s in slow:
                try:
                    s.sendall(b"X")
                    s.settimeout(0.01)
                    # An answer (400 for the cut request) then the end, or the end at once.
                    while s.recv(4096):
                        pass
                    closed += 1
                except socket.timeout:
                    pass
                except OSError:
                    closed += 1
            time.sleep(0.5)
        assert closed == len(slow), "slow clients still held after the request deadline"
    finally:
        for s in slow:
            s.close()
        server.stop()


def test_event_streams_are_bounded(home):
    server = Server(home, extra=["--threads", "8", "--max-streams", "2",
                                 "--workers", "0"]).start()
    try:
        run = make_token(home, "run")
        job = server.request("POST", "/v1/jobs", token=run,
                             body={"skill": "number-stats", "input": {}}).json()
        conns = []
        for _ in range(2):  # Two streams of a job that never starts: they stay open.
            c = server.connection(timeout=10)
            c.request("GET", "/v1/jobs/%s/events" % job["id"],
                      headers={"Authorization": "Bearer " + run["token"]})
            resp = c.getresponse()
            assert resp.status == 200
            conns.append(c)
        r = server.request("GET", "/v1/jobs/%s/events" % job["id"], token=run)
        assert r.status == 503 and r.code == "busy"
        assert server.request("GET", "/v1/health", token=run).status == 200
        for c in conns:
            c.close()
        time.sleep(1.0)
        # The slots are free again once the streams' readers are gone.
        server.request("POST", "/v1/jobs/%s/cancel" % job["id"], token=run)
        r = server.request("GET", "/v1/jobs/%s/events?format=jsonl" % job["id"], token=run)
        assert r.status == 200
    finally:
        server.stop()
