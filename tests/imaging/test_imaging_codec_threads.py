"""The HTJ2K encoder gives the same codestream when a fresh process starts encoding on many threads at once."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# Each fresh process encodes 8 frames on 8 threads released together, then again one by one, and prints how
# many codestreams differ. Unprimed, OpenJPH's first-use table set-up raced in about 1 process in 8 (5 of 40
# measured), so 40 processes all agreeing would happen by luck about 1 time in 200.
_FIRST_USE_RACE = """
import threading
import numpy as np
from healthimaging_mcp.imaging.codecs import encode_lossless
rng = np.random.default_rng(0)
frames = [rng.normal(0, 300, (128, 128)).astype(np.int16) for _ in range(8)]
barrier, together = threading.Barrier(8), {}
def encode(i):
    barrier.wait()
    together[i] = encode_lossless(frames[i]).data
threads = [threading.Thread(target=encode, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(sum(together[i] != encode_lossless(frames[i]).data for i in range(8)))
"""
PROCESSES = 40


def _differing_codestreams() -> int:
    done = subprocess.run([sys.executable, "-c", _FIRST_USE_RACE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip())


def test_concurrent_first_encodes_in_fresh_processes_match_sequential_ones() -> None:
    with ThreadPoolExecutor(2) as pool:
        differing = list(pool.map(lambda _: _differing_codestreams(), range(PROCESSES)))
    assert differing == [0] * PROCESSES
