"""`python -m tools.controls NAME`: serve the driver protocol from a broken reference."""

import sys

from tools.controls import apply


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m tools.controls NAME|drop:REQ-ID")
    apply(sys.argv[1])
    from reference.driver import main as serve

    serve()


if __name__ == "__main__":
    main()
