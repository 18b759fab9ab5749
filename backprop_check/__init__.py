"""bpcheck: solve and grade backpropagation homework.

The flow is one-directional: YAML -> validated problem (`spec`) -> two engines
(`engines.symbolic`, `engines.numeric`) -> cross-checked solution (`solve`) ->
renderers (`formats`) -> exit code (`cli`).
"""

import os

__version__ = "0.1.0"

# One BLAS/OpenMP thread. bpcheck's matrices are small (at most 1024 wide): a pool of threads
# costs more to wake than it saves, and on 2 cores finite differences at width 128-256 ran 10-22
# times slower with OpenBLAS's default pool (bench/width_speed.py). The pools read these when
# numpy first loads, so they are set here, before any module of bpcheck imports numpy; a user's
# own setting wins.
POOLS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
for _pool in POOLS:
    os.environ.setdefault(_pool, "1")
