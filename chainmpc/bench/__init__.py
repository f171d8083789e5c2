"""``chainmpc bench``: measurements of the package itself, on real data (``bench mining``:
:mod:`chainmpc.bench.mining`; its datasets as job files: :mod:`chainmpc.bench.datasets`)."""
