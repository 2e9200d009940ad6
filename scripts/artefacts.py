"""The functions' Lambda artefacts (target/lambda/<function>/bootstrap, from `make build`):
their size raw and zipped as Lambda receives them, against the 2.5 MB budget.

    python3 scripts/artefacts.py FUNCTION ...
"""

import io
import os
import sys
import zipfile

BUDGET_MB = 2.5


def bootstrap(function: str) -> str:
    return os.path.join("target", "lambda", function, "bootstrap")


def zipped_bytes(path: str) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.write(path, "bootstrap")
    return len(buffer.getvalue())


def main() -> None:
    over = []
    print(f"artefacts (arm64, stripped; zipped at most {BUDGET_MB} MB):")
    for function in sys.argv[1:]:
        path = bootstrap(function)
        raw, zipped = os.path.getsize(path) / 1e6, zipped_bytes(path) / 1e6
        if zipped > BUDGET_MB:
            over.append(function)
        print(f"  {function:<24} {raw:6.2f} MB  {zipped:5.2f} MB zipped")
    if over:
        print(f"over {BUDGET_MB} MB zipped: {', '.join(over)}")


if __name__ == "__main__":
    main()
