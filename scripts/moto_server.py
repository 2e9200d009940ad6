"""moto's server (DynamoDB and SES over HTTP), applying one request at a time.

moto's TransactWriteItems deep-copies its tables without a lock, so under concurrent
requests it sometimes fails with "dictionary changed size during iteration" (an HTTP 500
no real DynamoDB would give). DynamoDB applies each request atomically; a lock around
moto's own application does the same here. Connections are still served in parallel.

    python scripts/moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    moto = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def application(environ, start_response):
        with one_at_a_time:
            return list(moto(environ, start_response))

    run_simple(host, port, application, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
