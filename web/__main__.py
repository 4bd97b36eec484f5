"""`python -m web --get PATH`: run one request through the app without a server.

A smoke test for deployments and CI (like `datasette --get`): prints the body, exits 1 unless
the answer is 200.
"""

from __future__ import annotations

import argparse
import sys

from web import create_app


def main(argv: list[str] | None = None) -> int:
    """Run the request; the exit status is 0 for a 200 answer, else 1."""
    parser = argparse.ArgumentParser(prog="python -m web", description=__doc__)
    parser.add_argument("--get", metavar="PATH", required=True, help='e.g. "/api/search?q=hà nội"')
    parser.add_argument("--index-dir", help="Index directory (default: the index_dir setting).")
    args = parser.parse_args(argv)
    app = create_app({"INDEX_DIR": args.index_dir} if args.index_dir else None)
    try:
        response = app.test_client().get(args.get)
        sys.stdout.write(response.get_data(as_text=True).rstrip("\n") + "\n")
    finally:
        app.extensions["vnsearch_index"].close()
    if response.status_code != 200:
        sys.stderr.write(f"{response.status} for {args.get}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
