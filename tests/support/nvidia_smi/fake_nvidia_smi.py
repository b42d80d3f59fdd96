"""Stands in for nvidia-smi: replays the recorded output of the machine in $FAKE_NVIDIA_SMI."""

import os
import sys
from pathlib import Path

machine = Path(os.environ["FAKE_NVIDIA_SMI"])
wanted = "query.csv" if any(a.startswith("--query-gpu") for a in sys.argv[1:]) else "table.txt"
sys.stdout.write((machine / wanted).read_text())
