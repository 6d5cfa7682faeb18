"""`python -m reference.adapter`: the reference, judged like any implementation (DESIGN 2)."""

from reference.driver import main

if __name__ == "__main__":
    main()
