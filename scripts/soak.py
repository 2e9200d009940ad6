"""`make soak`: does the local stack stay fast and small as its tables fill? Against the
local API and the stack `scripts/soak.sh` starts:

1. with the tables the sign-in and update transactions touch holding 1,000 items, the p50
   of sign-ins and of `employees/update`s (sequential, through the local API);
2. the same tables grown to 100,000 items in all, the same p50s again, and their ratios;
3. load (four clients, sign-ins and updates) until MINUTES have passed since the start,
   the stack's resident memory sampled every half minute.

    python scripts/soak.py API_URL TOKEN PREFIX MOTO_PID [MINUTES]
"""

import base64
import json
import os
import statistics
import sys
import threading
import time
import urllib.request

import boto3

# The tables a sign-in's and an update's transactions touch, and each one's share of the
# 100,000 items (the audit trail grows fastest).
SHARES = {
    "AuditTable": 0.40,
    "SessionsTable": 0.20,
    "AccountSessionsTable": 0.20,
    "EmailsTable": 0.10,
    "UsersTable": 0.05,
    "EmployeesTable": 0.05,
}
PASSWORD = "steady-Beacon-64-canyon"
SAMPLES = 200


def post(api: str, route: str, params: dict, token: str, encoded: bool = False) -> dict:
    body = json.dumps(params)
    if encoded:
        body = base64.b64encode(body.encode()).decode()
    request = urllib.request.Request(
        f"{api}/api/v1/{route}",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Filler:
    def __init__(self, prefix: str):
        self.client = boto3.client("dynamodb")
        self.prefix = prefix
        self.filled = {table: 0 for table in SHARES}

    def grow_to(self, total: int) -> None:
        for table, share in SHARES.items():
            name = self.prefix + table
            keys = self.client.describe_table(TableName=name)["Table"]["KeySchema"]
            definitions = {
                d["AttributeName"]: d["AttributeType"]
                for d in self.client.describe_table(TableName=name)["Table"]["AttributeDefinitions"]
            }
            target = int(total * share)
            while self.filled[table] < target:
                batch = []
                for _ in range(min(25, target - self.filled[table])):
                    n = self.filled[table]
                    item = {"padding": {"S": "x" * 200}}
                    for key in keys:
                        attribute = key["AttributeName"]
                        # Far from every id PlanoAuth allocates, so nothing real is hit.
                        if definitions[attribute] == "N":
                            item[attribute] = {"N": str(10**12 + n)}
                        else:
                            item[attribute] = {"S": f"soak-filler-{n}"}
                    batch.append({"PutRequest": {"Item": item}})
                    self.filled[table] += 1
                self.client.batch_write_item(RequestItems={name: batch})


def timed(call) -> float:
    started = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - started) * 1000
    if answer.get("status") != "action-successful":
        raise SystemExit(f"soak: {answer}")
    return elapsed


def measure(api: str, token: str, employee: dict) -> tuple:
    sign_in = lambda: post(  # noqa: E731
        api, "sessions/create", {"email": employee["email"], "password": PASSWORD}, token, True
    )
    update = lambda n: post(  # noqa: E731
        api, "employees/update", {"id": employee["id"], "email": employee["email"], "first_name": f"Soak {n}"}, token
    )
    sign_ins = [timed(sign_in) for _ in range(SAMPLES // 4)]
    updates = [timed(lambda: update(n)) for n in range(SAMPLES)]
    return statistics.median(sign_ins), statistics.median(updates)


def main() -> None:
    api, token, prefix, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    minutes = float(sys.argv[5]) if len(sys.argv) > 5 else 30.0
    started = time.monotonic()
    photographer = {
        "email": f"soak.{os.getpid()}@planoauth.local",
        "first_name": "Imogen",
        "last_name": "Cunningham",
        "password": PASSWORD,
        "phone": "+1 555 010 4000",
    }
    created = post(api, "photographers/create", photographer, token, True)
    employee = {"id": created["data"]["id"], "email": photographer["email"]}
    filler = Filler(prefix)

    filler.grow_to(1_000)
    small = measure(api, token, employee)
    print(f"at   1,000 items: sign-in p50 {small[0]:7.1f} ms, employees/update p50 {small[1]:6.1f} ms, "
          f"stack RSS {rss_mib(pid):6.0f} MiB", flush=True)
    filler.grow_to(100_000)
    large = measure(api, token, employee)
    print(f"at 100,000 items: sign-in p50 {large[0]:7.1f} ms, employees/update p50 {large[1]:6.1f} ms, "
          f"stack RSS {rss_mib(pid):6.0f} MiB", flush=True)
    print(f"ratios (100,000 / 1,000): sign-in {large[0] / small[0]:.2f}, "
          f"employees/update {large[1] / small[1]:.2f}", flush=True)

    deadline = started + minutes * 60
    answered = {"count": 0, "failed": 0}
    lock = threading.Lock()

    def client(n: int) -> None:
        round_ = 0
        while time.monotonic() < deadline:
            round_ += 1
            if round_ % 5 == 0:
                answer = post(api, "sessions/create", {"email": employee["email"], "password": PASSWORD}, token, True)
            else:
                answer = post(api, "employees/update", {"id": employee["id"], "email": employee["email"], "last_name": f"Client {n} {round_}"}, token)
            with lock:
                answered["count"] += 1
                if answer.get("status") not in ("action-successful", "record-busy"):
                    answered["failed"] += 1

    clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in clients:
        thread.start()
    peak = 0.0
    while time.monotonic() < deadline:
        time.sleep(30)
        now = rss_mib(pid)
        peak = max(peak, now)
        elapsed = (time.monotonic() - started) / 60
        print(f"{elapsed:5.1f} min: {answered['count']} requests, {answered['failed']} failed, "
              f"stack RSS {now:6.0f} MiB", flush=True)
    for thread in clients:
        thread.join()
    print(f"after {minutes:.0f} minutes: stack RSS {rss_mib(pid):.0f} MiB (peak {peak:.0f} MiB), "
          f"{answered['count']} requests, {answered['failed']} failed", flush=True)


if __name__ == "__main__":
    main()
