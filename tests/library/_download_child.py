"""Runs one download against a (throttled) local Hub until the parent kills it with SIGKILL.

argv: endpoint models_dir repo_id filename. Prints "progress <bytes>" lines as it goes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.library.download import Downloader, DownloadRequest


def main() -> None:
    endpoint, models_dir, repo_id, filename = sys.argv[1:5]
    downloader = Downloader(Path(models_dir), endpoint, progress_interval=0.05)

    def report(p) -> None:  # type: ignore[no-untyped-def]
        print(f"{p.state} {p.bytes_done}", flush=True)

    downloader.download(DownloadRequest(repo_id, [filename]), report)
    print("finished", flush=True)


if __name__ == "__main__":
    main()
