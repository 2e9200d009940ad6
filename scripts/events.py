"""Rebuilds the HTTP events of events/ on the shape API Gateway gives: what the pinned SAM
CLI's `sam local generate-event apigateway http-api-proxy` produces for the event's route,
with the event's own route key, headers and body kept.

    python scripts/events.py SAM [EVENT ...]     rebuild these events (default: every one)

A test (tests/tests/events.rs) compares every event's keys with a freshly generated one,
so that a hand-made shape cannot drift from API Gateway's.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EVENTS = os.path.join(ROOT, "events")


def generated(sam: str, method: str, path: str) -> dict:
    """The event SAM generates for a request to `path`, as JSON."""
    environment = dict(os.environ, SAM_CLI_TELEMETRY="0")
    output = subprocess.run(
        [sam, "local", "generate-event", "apigateway", "http-api-proxy", "--method", method,
         "--path", path.lstrip("/")],
        check=True, capture_output=True, text=True, env=environment,
    ).stdout
    return json.loads(output)


def rebuilt(sam: str, event: dict) -> dict:
    """`event` on SAM's shape: SAM's fields, the event's route, headers and body."""
    method = event["requestContext"]["http"]["method"]
    path = event["rawPath"]
    shape = generated(sam, method, path)
    route_key = event["routeKey"]
    shape["routeKey"] = route_key
    shape["requestContext"]["routeKey"] = route_key
    shape["requestContext"]["http"]["method"] = method
    shape["requestContext"]["http"]["path"] = path
    shape["rawPath"] = path
    shape["headers"] = event["headers"]
    shape["body"] = event["body"]
    shape["isBase64Encoded"] = event["isBase64Encoded"]
    return shape


def http_events() -> list:
    names = []
    for name in sorted(os.listdir(EVENTS)):
        with open(os.path.join(EVENTS, name)) as file:
            event = json.load(file)
        if isinstance(event, dict) and "requestContext" in event:
            names.append(name)
    return names


def main() -> None:
    sam, names = sys.argv[1], sys.argv[2:] or http_events()
    for name in names:
        path = os.path.join(EVENTS, os.path.basename(name))
        with open(path) as file:
            event = json.load(file)
        with open(path, "w") as file:
            json.dump(rebuilt(sam, event), file, indent=2)
            file.write("\n")
        print(f"rebuilt {os.path.basename(path)}")


if __name__ == "__main__":
    main()
