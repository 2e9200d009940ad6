"""The local stack's server: moto's DynamoDB, SES and KMS over HTTP, with DynamoDB's
behaviour under contention and faults added by scripts/local_dynamodb.py (see its
documentation for the settings).

    python scripts/moto_server.py HOST PORT
"""

import os
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

from local_dynamodb import LocalDynamoDb


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    template = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "template.yaml")
    application = LocalDynamoDb(DomainDispatcherApplication(create_backend_app), template)
    # Threaded: a transaction in flight or a stalled answer holds its own thread only.
    run_simple(host, port, application, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
