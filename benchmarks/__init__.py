"""Benchmarks of issue 8: throughput, delivery latency, interrupt latency, concurrency and
start-up of streamchat, each beside a floor measured in the same run. Not part of the
installed package; run with `python -m benchmarks` from the repository root."""
