"""Writes the endpoint-partitions layer (layers/endpoint-partitions/partitions/<id>.json)
from the partition table the locked AWS SDK for Rust embeds, or checks that it is current.

Building a client forces the SDK to parse its whole partition table (every AWS partition,
every region with its description, a regular expression each), the largest single part of
a function's cold start. The SDK reads a table from the file named by
SMITHY_CLIENT_SDK_CUSTOM_PARTITION instead when that is set; template.yaml names the file
of the partition the function runs in. Each file is the SDK's own entry for one partition,
less what cannot change an answer: the regions' descriptions, which the SDK's parser
skips, and the regions that the partition's expression matches and that override none of
its outputs. The result resolves every region of that partition as the SDK's table does
(tests/tests/partitions.rs checks it) from about 300 bytes of JSON instead of 4.9 KB.

    python3 scripts/partitions.py          (writes the files)
    python3 scripts/partitions.py --check  (exits 1 when they differ from the SDK's)
    python3 scripts/partitions.py --regions  (prints each partition's regions in the SDK's
                                              table, as JSON, for that test)
"""

import ast
import glob
import json
import os
import re
import sys

LAYER = os.path.join("layers", "endpoint-partitions", "partitions")
SDK_CRATE = "aws-sdk-dynamodb"


def sdk_table() -> dict:
    """The partition table compiled into the SDK crate of Cargo.lock's version (its
    source as cargo downloaded it)."""
    lock = open("Cargo.lock").read()
    version = re.search(rf'name = "{SDK_CRATE}"\nversion = "([^"]+)"', lock).group(1)
    cargo_home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    sources = glob.glob(os.path.join(cargo_home, "registry", "src", "*", f"{SDK_CRATE}-{version}"))
    if not sources:
        sys.exit(f"{SDK_CRATE} {version} is not downloaded: build the workspace first")
    source = open(os.path.join(sources[0], "src", "endpoint_lib.rs")).read()
    default = source[source.index("loading default partitions"):]
    literal = re.search(r'new_from_json\(b"((?:[^"\\]|\\.)*)"\)', default).group(1)
    return json.loads(ast.literal_eval(f'b"{literal}"'))


def layer_files(table: dict) -> dict:
    """File name -> content, one file per partition."""
    files = {}
    for partition in table["partitions"]:
        entry = dict(partition)
        pattern = re.compile(partition["regionRegex"], re.ASCII)
        entry["regions"] = {}
        for region, outputs in partition["regions"].items():
            overrides = {key: value for key, value in outputs.items() if key != "description"}
            # A region the expression matches and that overrides nothing resolves the
            # same without its entry.
            if overrides or not pattern.match(region):
                entry["regions"][region] = overrides
        document = {"partitions": [entry], "version": table["version"]}
        files[f"{partition['id']}.json"] = json.dumps(document, separators=(",", ":")) + "\n"
    return files


def main() -> None:
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    table = sdk_table()
    if sys.argv[1:] == ["--regions"]:
        print(json.dumps({p["id"]: sorted(p["regions"]) for p in table["partitions"]}))
        return
    files = layer_files(table)
    if sys.argv[1:] == ["--check"]:
        present = set(os.listdir(LAYER)) if os.path.isdir(LAYER) else set()
        stale = sorted(
            name for name in present | set(files)
            if name not in files or name not in present
            or open(os.path.join(LAYER, name)).read() != files[name])
        if stale:
            sys.exit(f"{LAYER} differs from {SDK_CRATE}'s partitions ({', '.join(stale)}): "
                     "run python3 scripts/partitions.py")
        return
    os.makedirs(LAYER, exist_ok=True)
    for name in os.listdir(LAYER):
        if name not in files:
            os.remove(os.path.join(LAYER, name))
    for name, content in files.items():
        with open(os.path.join(LAYER, name), "w") as file:
            file.write(content)
    print(f"{LAYER}: {', '.join(sorted(files))}")


if __name__ == "__main__":
    main()
