"""Cold start, warm latency, memory and cost of PlanoAuth's functions, against a bare
lambda_http function and a naive one (a DynamoDB client built the ordinary way).

Each binary is started as Lambda starts it, against an emulation of the Lambda Runtime
API on loopback, and serves its sample event on the local stack.

Cold runs (RUNS processes per function, one invocation each; medians). The starts are
taken in rounds, one of each function a round, so that a spell of load on the machine
falls on every function alike rather than on whichever was being measured:
  - cold init: from process start to its first connection to the Runtime API, made to
    ask for an event (init done);
  - first call: from handing it the event to its response (DynamoDB included);
  - peak RSS: the process's high-water mark (VmHWM) after answering.
Warm run (one process per function serving the same event WARM times, as a warm Lambda
sandbox does):
  - p50 and p99 of an invocation (from the Runtime API's side: the event handed out to
    the answer received);
  - p50 and p99 of the handler's own time, and p50 of its time waiting on DynamoDB, as
    the function itself reports them in each request's metrics record (`OwnMs`,
    `DynamoDbMs`: the SDK client times each request on the wire); scheduled functions
    write no request records;
  - peak RSS after 1, 100 and WARM invocations;
  - DynamoDB request units per invocation (median), from the local DynamoDB's meter, and
    what a million such requests cost on demand;
  - the arm64 artefact zipped, when `make build` has left it in target/lambda.
Ratios compare to the bare and naive functions measured in the same run, as absolute
times on a shared machine are noisy.

    python3 scripts/bench.py TARGET_DIR RUNS WARM BARE=EVENT NAIVE=EVENT FUNCTION=EVENT ...
    python3 scripts/bench.py --invoke BINARY EVENT     (prints one answer)

A FUNCTION is a path under TARGET_DIR, or an absolute path; a FUNCTION written
NAME:LABEL is reported as LABEL.
"""

import http.server
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import artefacts

PREFIX = "/2018-06-01/runtime"
# What template.yaml gives PlanoAuth's functions beyond the local stack's settings: the
# endpoint partitions of a stack in the aws partition (its layer's file). The bare and
# naive functions go without, as an ordinary function would.
FUNCTION_ENV = {"SMITHY_CLIENT_SDK_CUSTOM_PARTITION": os.path.abspath("layers/endpoint-partitions/partitions/aws.json")}
# DynamoDB on-demand prices in us-east-1, dollars per million request units.
READ_PRICE, WRITE_PRICE = 0.125, 0.625
RSS_CHECKPOINTS = (1, 100)
# What a function's cold init may take, as a multiple of the bare function's.
INIT_TARGET = 1.3


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Hands out the events queued in `events` one by one and puts each answer (with the
    time it was asked for and answered) in `answers`."""

    events: queue.Queue
    answers: queue.Queue

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != f"{PREFIX}/invocation/next":
            self.send_error(404)
            return
        event = self.events.get()
        if event is None:
            # No more events: the benchmark ends the process instead.
            time.sleep(60)
            return
        self.answers.put(("asked", time.perf_counter(), None))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Content-Length", str(len(event)))
        self.end_headers()
        self.wfile.write(event)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if "/response" in self.path or "/error" in self.path:
            self.answers.put(("answered", time.perf_counter(), body))


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


def meter() -> dict:
    """What the local DynamoDB has answered so far (calls, seconds, request units). The
    emulator can stall for seconds as its tables fill; that shows in the figures rather
    than ending the run."""
    url = os.environ["AWS_ENDPOINT_URL"].rstrip("/") + "/_local/meter"
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)


class RuntimeApiServer(http.server.ThreadingHTTPServer):
    """Notes when the function first connects: its request for an event follows at once,
    and that connection, not the request's arrival in a Python handler thread (a
    millisecond or more later), is where its init ends."""

    daemon_threads = True
    first_connection: float | None = None

    def get_request(self):
        connection = super().get_request()
        if self.first_connection is None:
            self.first_connection = time.perf_counter()
        return connection


class Process:
    """A function started as Lambda starts it, on a Runtime API of its own (a request
    still queued from a process ended before must not take this one's event)."""

    def __init__(self, binary: str, log_name: str | None = None, records: list | None = None,
                 extra_env: dict | None = None):
        """`records`, when given, receives the request metrics records the process writes
        on standard output; `extra_env` adds to the environment."""
        handler = type("Handler", (RuntimeApi,), {"events": queue.Queue(), "answers": queue.Queue()})
        self.events, self.answers = handler.events, handler.answers
        self.server = RuntimeApiServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.server.server_address[1]}",
                   AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
                   AWS_LAMBDA_FUNCTION_VERSION="$LATEST", RUST_LOG="warn", **(extra_env or {}))
        # BENCH_LOGS=DIR keeps the warm processes' logs (warnings and errors) there.
        log = subprocess.DEVNULL
        if log_name and os.environ.get("BENCH_LOGS"):
            log = open(os.path.join(os.environ["BENCH_LOGS"], f"{log_name}.log"), "wb")
        self.started = time.perf_counter()
        self.process = None
        if records is None and log is subprocess.DEVNULL:
            # posix_spawn runs the binary at once; Popen spends a millisecond or more of its
            # own first, which would count as the function's init.
            self.pid = os.posix_spawn(binary, [binary], env, file_actions=[
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_DUP2, 1, 2)])
        elif records is None:
            self.process = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT)
        else:
            self.process = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=log)
        if self.process:
            self.pid = self.process.pid
        self.binary = binary
        self.reader = None
        if records is not None:
            self.reader = threading.Thread(target=read_records, args=(self.process.stdout, records, log), daemon=True)
            self.reader.start()

    def invoke(self, event: bytes) -> tuple[float, float, bytes]:
        """(when the process asked for the event, when it answered, the answer)."""
        self.events.put(event)
        marks = {}
        while "answered" not in marks:
            try:
                mark, at, body = self.answers.get(timeout=30)
            except queue.Empty:
                raise RuntimeError(f"{self.binary} did not answer") from None
            marks[mark] = (at, body)
        return marks["asked"][0], marks["answered"][0], marks["answered"][1]

    def peak_rss_kib(self) -> int:
        return peak_rss_kib(self.pid)

    def end(self) -> None:
        self.events.put(None)
        if self.process:
            self.process.kill()
            self.process.wait()
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        if self.reader:
            self.reader.join()
        self.server.shutdown()
        self.server.server_close()


def read_records(stdout, records: list, log) -> None:
    """Keeps the request metrics records among a process's output lines; the other lines
    go to its log."""
    for line in stdout:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and "OwnMs" in record:
            records.append(record)
        elif log is not subprocess.DEVNULL:
            log.write(line)


def cold(binary: str, event: bytes, extra_env: dict) -> tuple[float, float, int, str]:
    process = Process(binary, extra_env=extra_env)
    try:
        asked, answered, body = process.invoke(event)
        rss = process.peak_rss_kib()
    finally:
        process.end()
    init = process.server.first_connection - process.started
    return init * 1000, (answered - asked) * 1000, rss, outcome(body)


def warm(binary: str, event: bytes, invocations: int, label: str, extra_env: dict) -> dict:
    records = []
    process = Process(binary, label.replace(" ", "-"), records, extra_env)
    times, reads, writes, rss, answers = [], [], [], {}, set()
    try:
        for n in range(1, invocations + 1):
            before = meter()
            asked, answered, body = process.invoke(event)
            after = meter()
            if n > 1:
                took = answered - asked
                times.append(took * 1000)
                reads.append(after["read_units"] - before["read_units"])
                writes.append(after["write_units"] - before["write_units"])
                answers.add(outcome(body))
            if n in RSS_CHECKPOINTS or n == invocations:
                rss[n] = process.peak_rss_kib() / 1024
    finally:
        process.end()
    # The first invocation's record is the cold one's.
    warm_records = records[1:]
    own = [record["OwnMs"] for record in warm_records]
    waited = [record["DynamoDbMs"] for record in warm_records]
    return {"times": times, "own": own, "waited": waited, "reads": reads, "writes": writes, "rss": rss,
            "answers": answers}


def percentile(values: list, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def milliseconds(values: list, share: float) -> str:
    """A percentile for the table, to the microsecond, or - when there are no values."""
    return f"{percentile(values, share):6.3f}ms" if values else f"{'-':>8}"


def zipped_mb(function: str) -> str:
    path = artefacts.bootstrap(function)
    return f"{artefacts.zipped_bytes(path) / 1e6:.2f}" if os.path.exists(path) else "-"


def invoke_once(binary: str, event_file: str) -> None:
    """Prints the function's answer to one event (to set up what the benchmark needs)."""
    with open(event_file, "rb") as file:
        event = file.read()
    process = Process(binary, extra_env=FUNCTION_ENV)
    try:
        print(process.invoke(event)[2].decode())
    finally:
        process.end()


def main() -> None:
    if sys.argv[1] == "--invoke":
        invoke_once(sys.argv[2], sys.argv[3])
        return
    target, runs, invocations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if runs < 1 or invocations < 2:
        sys.exit("RUNS must be at least 1 and WARM at least 2 (the first invocation is cold)")
    # The first case is the bare yardstick, the second the naive reference.
    cases = []
    for arg in sys.argv[4:]:
        function, event_file = arg.split("=", 1)
        function, _, label = function.partition(":")
        cases.append((function, label or os.path.basename(function), event_file))
    binaries = [os.path.join(target, function) for function, _, _ in cases]
    events = []
    for _, _, event_file in cases:
        with open(event_file, "rb") as file:
            events.append(file.read())
    environments = [{}, {}] + [FUNCTION_ENV] * (len(cases) - 2)
    cold_results = [[] for _ in cases]
    for round_number in range(1, runs + 1):
        for samples, binary, event, extra_env in zip(cold_results, binaries, events, environments):
            samples.append(cold(binary, event, extra_env))
        print(f"cold round {round_number} of {runs}", file=sys.stderr, flush=True)
    warm_results = []
    for (_, label, _), binary, event, extra_env in zip(cases, binaries, events, environments):
        warm_results.append(warm(binary, event, invocations, label, extra_env))
        print(f"measured {label}", file=sys.stderr, flush=True)

    inits = [statistics.median(s[0] for s in samples) for samples in cold_results]
    bare, naive = inits[0], inits[1]
    print(f"cold: medians of {runs} starts; warm: one process, {invocations} invocations of the same event")
    print()
    print(f"{'function':<24} {'cold init':>9} {'vs bare':>7} {'vs naive':>8} {'1st call':>9} {'RSS':>8}  answer")
    for (_, name, _), samples, init in zip(cases, cold_results, inits):
        first = statistics.median(s[1] for s in samples)
        rss = statistics.median(s[2] for s in samples) / 1024
        answers = ",".join(sorted({s[3] for s in samples}))
        print(f"{name:<24} {init:7.2f}ms {init / bare:6.2f}x {init / naive:7.2f}x {first:7.2f}ms {rss:5.1f}MiB  {answers}")
    functions = [(name, init / bare) for (_, name, _), init in list(zip(cases, inits))[2:]]
    over = [f"{name} {ratio:.2f}x" for name, ratio in functions if ratio > INIT_TARGET]
    print(f"cases within {INIT_TARGET}x the bare function's cold init: {len(functions) - len(over)} of {len(functions)}"
          + (f" (over: {', '.join(over)})" if over else ""))
    print()
    last = f"@{invocations}"
    print(f"{'function':<24} {'p50':>7} {'p99':>7} {'own p50':>8} {'own p99':>8} {'db p50':>8}"
          f" {'RSS@1':>7} {'@100':>7} {last:>7}"
          f" {'RRU':>5} {'WRU':>5} {'$/M req':>8} {'arm64 zip':>9}")
    for (function, name, _), result in zip(cases, warm_results):
        reads, writes = percentile(result["reads"], 0.5), percentile(result["writes"], 0.5)
        price = reads * READ_PRICE + writes * WRITE_PRICE
        rss = result["rss"]
        print(f"{name:<24} {percentile(result['times'], 0.5):5.2f}ms {percentile(result['times'], 0.99):5.2f}ms"
              f" {milliseconds(result['own'], 0.5)} {milliseconds(result['own'], 0.99)}"
              f" {milliseconds(result['waited'], 0.5)}"
              f" {rss.get(1, 0):4.1f}MiB {rss.get(100, 0):4.1f}MiB {rss.get(invocations, 0):4.1f}MiB"
              f" {reads:5.1f} {writes:5.1f} {price:8.3f} {zipped_mb(os.path.basename(function)):>7}MB  {','.join(sorted(result['answers']))}")


if __name__ == "__main__":
    main()
