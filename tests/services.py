"""Which real servers the test run can use: prints shell exports for `make test`.

DATABASE_URL / REDIS_URL from the environment win; otherwise the local PostgreSQL and Redis on
127.0.0.1 are used when they answer; otherwise the suite runs embedded and the tests that need
a real server are skipped with the reason printed.
"""

from __future__ import annotations

import os
import socket
import sys


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> None:
    exports = []
    if not os.environ.get("DATABASE_URL") and answers("127.0.0.1", 5432):
        exports.append("DATABASE_URL=postgres://postgres@127.0.0.1:5432/gateway")
    if not os.environ.get("REDIS_URL") and answers("127.0.0.1", 6379):
        exports.append("REDIS_URL=redis://127.0.0.1:6379/1")
    for line in exports:
        print(f"export {line}")
    if not exports and not (os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")):
        print("echo 'no PostgreSQL/Redis on 127.0.0.1: running embedded'", file=sys.stdout)


if __name__ == "__main__":
    main()
