"""`python -m xnet.fetch lin2024`: the command; the fetcher is `xnet.data.fetch`."""

from xnet.data.fetch import fetch, main

__all__ = ["fetch", "main"]

if __name__ == "__main__":
    main()
