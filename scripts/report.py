"""Puts a command's latest figures into docs/performance.md, between its markers
(`<!-- make NAME -->` and `<!-- /make NAME -->`), with the commit and the date they were
measured at: the page holds the current figures only; git holds the history.

    python scripts/report.py NAME FILE     (FILE: what the command printed)
"""

import datetime
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PAGE = os.path.join(ROOT, "docs", "performance.md")


def main() -> None:
    name, output = sys.argv[1], open(sys.argv[2]).read().rstrip()
    commit = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip() or "unknown"
    dirty = subprocess.run(
        ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True, text=True,
    ).stdout.strip()
    date = datetime.date.today().isoformat()
    at = f"{commit}{' with changes' if dirty else ''}, {date}"
    block = f"<!-- make {name} -->\n`make {name}` at {at}:\n\n```\n{output}\n```\n<!-- /make {name} -->"
    page = open(PAGE).read()
    pattern = re.compile(rf"<!-- make {re.escape(name)} -->.*?<!-- /make {re.escape(name)} -->", re.S)
    if not pattern.search(page):
        raise SystemExit(f"docs/performance.md has no markers for make {name}")
    open(PAGE, "w").write(pattern.sub(lambda _: block, page))
    print(f"docs/performance.md: the figures of make {name} updated")


if __name__ == "__main__":
    main()
