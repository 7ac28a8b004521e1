"""``zizq-schema``: print the JSON Schema of every declared job's payload,
keyed by job type, for producers in other languages (a Node or Ruby
service enqueueing Python jobs can check its payloads against it).

Positional arguments name the modules to import so their ``@job``
declarations register, as ``zizq-worker``'s do.
"""

import argparse
import importlib
import json
import os
import sys

from . import registry


def schemas() -> dict:
    """``{type name: payload schema}`` of the registered ``@job``s."""
    return {
        name: target.schema()
        for name, target in sorted(registry.registered().items())
        if hasattr(target, "schema")
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="zizq-schema", description=__doc__)
    parser.add_argument("modules", nargs="+", help="modules declaring jobs")
    options = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    for module in options.modules:
        importlib.import_module(module)
    json.dump(schemas(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
