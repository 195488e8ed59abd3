"""The performance suite: reference-system throughput and the cost of recording.

Run it with ``python -m benchmarks`` (``make bench``); see ``benchmarks/README.md``.
Nothing here asserts a speed: the figures are reported, never judged, so a slow
machine cannot make anything fail.
"""
