"""Side-by-side benchmarks (not timed tests): each *_bench.py prints skiff vs a peer."""
