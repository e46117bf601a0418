"""Speed benchmarks: ``python -m benchmarks [name ...]`` (``make bench``).

Each module ``benchmarks/<name>.py`` defines ``run() -> list[Measurement]``; every
measurement is printed with its rows/s and its ratio to a baseline measured in the same run.
"""
