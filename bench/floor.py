"""The floor of W1/W2: the least a Python program does to converge the same files (a baseline, not an agent).

`python bench/floor.py SPEC.json`: SPEC holds {"directory", "mode", "files": {name: content}}. It makes the
directory, then for each file compares content and mode and, when they differ, writes a temp file and renames
it over (no fsync, no backup, no state, no report). Exit 2 when it changed something, else 0, as
`--detailed-exitcodes` does. Standard library only, no project import: its start-up is the interpreter's.
"""

import json
import os
import sys


def main(spec_path: str) -> int:
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    directory, mode, changed = spec["directory"], int(spec["mode"], 8), False
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o755)
        changed = True
    for name, content in spec["files"].items():
        path = os.path.join(directory, name)
        data = content.encode()
        try:
            with open(path, "rb") as f:
                same = f.read() == data
            current = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            same, current = False, None
        if not same:
            temp = os.path.join(directory, f".{name}.floor")
            with open(temp, "wb") as f:
                f.write(data)
            os.chmod(temp, mode)
            os.replace(temp, path)
            changed = True
        elif current != mode:
            os.chmod(path, mode)
            changed = True
    return 2 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
