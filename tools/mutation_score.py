"""The score of the last `make mutants` run, per module, with the surviving mutants.

Reads `mutmut results --all true` (one "name: status" line per mutant) in the repository
root, where mutmut keeps its mutants/ folder. The score is killed / checked: a mutant that
the run did not reach (MUTATE narrowed the run) is not counted, and timeouts count as
killed (the planted bug made the tests hang, which a test run notices). Survivors and
mutants that no test reaches are listed, to be read with `.venv/bin/mutmut show NAME`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"not checked", "skipped", "check was interrupted by user"}


def module_of(name: str) -> str:
    """losscli.engine.accumulate.xǁCompensatedSumǁadd__mutmut_3 → losscli.engine.accumulate"""
    return re.split(r"\.x[_ǁ]", name, maxsplit=1)[0]


def read_results(mutmut: str) -> dict[str, str]:
    out = subprocess.run(
        [mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    results = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            results[name] = status
    return results


def main() -> int:
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    results = read_results(mutmut)
    if not results:
        print("no mutation results: run `make mutants` first", file=sys.stderr)
        return 1
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in results.items():
        by_module[module_of(name)][status] += 1
    total = Counter(results.values())
    print(f"{'module':36} {'killed':>7} {'checked':>8} {'score':>6}  other")
    for module in sorted(by_module) + ["all"]:
        c = total if module == "all" else by_module[module]
        checked = sum(n for s, n in c.items() if s not in NOT_RUN)
        if not checked:
            continue
        killed = sum(n for s, n in c.items() if s in KILLED)
        other = ", ".join(f"{n} {s}" for s, n in sorted(c.items()) if s not in KILLED)
        print(f"{module:36} {killed:7d} {checked:8d} {killed / checked:6.1%}  {other}")
    lost = sorted(n for n, s in results.items() if s in ("survived", "no tests", "suspicious"))
    if lost:
        print(f"\nnot killed ({len(lost)}; `{mutmut} show NAME` prints the diff):")
        for name in lost:
            print(f"  {name}: {results[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
