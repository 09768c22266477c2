"""``make bench``: every benchmark of issue 6 in one run, each with its baseline.

    python -m bench.run

One bench stack (bench.platform) serves memory, redemption and issuance in that order, so that
memory is read at rest first, again after the counter's load and again after the issuance; it is stopped before
``bench.nearby`` (the directory's benchmark, when present) starts a stack of its own. The
figures are printed; copy a run's into bench/RESULTS.md. Always exits 0 when every benchmark
ran, whatever the figures (they depend on the machine and its load); 1 if one failed to run.
"""

import importlib.util
import signal
import sys

from bench import issuance, memory, redemption
from bench.platform import heading, running_platform


def stop_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # through the finally that stops the stack


def main():
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    verdicts = {}
    with running_platform() as stack:
        verdicts["memory at rest"] = memory.measure(stack, "at rest after start")
        memory.print_baseline()
        verdicts["redemption"] = redemption.run(stack)
        verdicts["memory after a little work"] = memory.measure(
            stack, "after the redemption benchmark")
        verdicts["issuance"] = issuance.run(stack)
        verdicts["memory after 100,000 grants"] = memory.measure(
            stack, "after the issuance benchmark too")

    if importlib.util.find_spec("bench.nearby") is not None:
        from bench import nearby
        heading("nearby, open now (bench.nearby)")
        nearby.main()

    heading("targets")
    for name, met in verdicts.items():
        print(f"   {name:<28} {'MET' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
