"""`python -m xnet.predict run=<run dir or .ckpt> input=<catalog> output=<file>`."""

from xnet.predict.job import main

if __name__ == "__main__":
    main()
