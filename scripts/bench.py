"""Cold start and memory of PlanoAuth's functions, against a bare lambda_http function.

Each binary is started as Lambda starts it, against an emulation of the Lambda Runtime
API on loopback, and serves one invocation of its sample event (on the local stack).
Measured per run:
  - cold init: from process start to its first request for an event (init done);
  - first invocation: from handing it the event to its response (DynamoDB included);
  - peak RSS: the process's high-water mark (VmHWM) after answering.
The figures are medians over RUNS runs; ratios compare to the bare function measured in
the same run, as absolute times on a shared machine are noisy.

    python3 scripts/bench.py TARGET_DIR RUNS YARDSTICK=EVENT_FILE FUNCTION=EVENT_FILE ...
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

PREFIX = "/2018-06-01/runtime"


class Invocation:
    def __init__(self, event: bytes):
        self.event = event
        self.started = time.perf_counter()
        self.asked = None
        self.answered = None
        self.response = None
        self.done = threading.Event()


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    current: Invocation | None = None  # set per server, in measure()

    def log_message(self, *args):
        pass

    def do_GET(self):
        invocation = self.current
        if self.path != f"{PREFIX}/invocation/next" or invocation is None:
            self.send_error(404)
            return
        if invocation.asked is not None:
            # The next event never comes: the benchmark ends the process instead.
            invocation.done.wait(30)
            time.sleep(30)
            return
        invocation.asked = time.perf_counter()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Content-Length", str(len(invocation.event)))
        self.end_headers()
        self.wfile.write(invocation.event)

    def do_POST(self):
        invocation = self.current
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if invocation is not None and ("/response" in self.path or "/error" in self.path):
            invocation.answered = time.perf_counter()
            invocation.response = body
            invocation.done.set()


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def outcome(response: bytes | None) -> str:
    try:
        answer = json.loads(response or b"")
        body = answer.get("body")
        if isinstance(body, str) and body.startswith("{"):
            return json.loads(body).get("status", "?")
        return str(answer.get("statusCode", answer.get("deleted", "ok")))
    except (ValueError, AttributeError):
        return "unreadable"


def measure(binary: str, event: bytes) -> tuple[float, float, int, str]:
    """One cold start, on a Runtime API of its own: a request still queued from a
    process ended before must not take this run's event."""
    invocation = Invocation(event)
    handler = type("Handler", (RuntimeApi,), {"current": invocation})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_LAMBDA_FUNCTION_NAME="bench",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_FUNCTION_VERSION="$LATEST", RUST_LOG="error")
    invocation.started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not invocation.done.wait(30):
            raise RuntimeError(f"{binary} did not answer")
        rss = peak_rss_kib(process.pid)
    finally:
        process.kill()
        process.wait()
        server.shutdown()
        server.server_close()
    init_ms = (invocation.asked - invocation.started) * 1000
    first_ms = (invocation.answered - invocation.asked) * 1000
    return init_ms, first_ms, rss, outcome(invocation.response)


def main() -> None:
    target, runs = sys.argv[1], int(sys.argv[2])
    # The first case is the yardstick the others are compared to.
    cases = [tuple(arg.split("=", 1)) for arg in sys.argv[3:]]
    results = []
    for function, event_file in cases:
        with open(event_file, "rb") as file:
            event = file.read()
        samples = [measure(os.path.join(target, function), event) for _ in range(runs)]
        results.append((function, samples))

    bare_init = statistics.median(s[0] for s in results[0][1])
    print(f"{'function':<24} {'cold init':>10} {'vs bare':>8} {'1st call':>9} {'peak RSS':>9}  answer")
    for function, samples in results:
        init = statistics.median(s[0] for s in samples)
        first = statistics.median(s[1] for s in samples)
        rss = statistics.median(s[2] for s in samples) / 1024
        answers = ",".join(sorted({s[3] for s in samples}))
        print(f"{function:<24} {init:8.2f}ms {init / bare_init:7.2f}x {first:7.2f}ms {rss:7.1f}MB  {answers}")


if __name__ == "__main__":
    main()
