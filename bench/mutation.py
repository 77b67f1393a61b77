"""Mutation testing of app/domain with mutmut (pinned in requirements.lock); prints the score.

Run: .venv/bin/python bench/mutation.py [PATH ...]   (or `make mutation`)
PATHs narrow the mutated files (default: every module of app/domain, as [tool.mutmut] in
pyproject.toml says), e.g. `bench/mutation.py app/domain/titration/oral_doses.py`. The domain
tests run against each mutant with Hypothesis at TITRATE_HYPOTHESIS_EXAMPLES examples per
property (default here 25, so a run takes minutes, not hours). Not part of `make test`.
Survivors judged equivalent are listed in app/domain/titration/CHOICES.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
# mutmut 3 exit codes of the test run per mutant (mutmut.stats): killed 1 and 3, timeouts
# count as killed like mutmut's own score; 0 survived; 5 / 33 no test reaches the mutant.
KILLED = {1, 3, 36, -24, 24, 152, 255}
SURVIVED = {0, 5, 33}


def main(argv: list[str]) -> int:
    env = {
        **os.environ,
        "TITRATE_HYPOTHESIS_EXAMPLES": os.environ.get("TITRATE_HYPOTHESIS_EXAMPLES", "25"),
    }
    children = os.environ.get("MUTATION_CHILDREN", str(os.cpu_count() or 1))
    names = [_mutant_glob(path) for path in argv]
    command = [str(MUTMUT), "run", "--max-children", children, *names]
    started = subprocess.run(command, cwd=ROOT, env=env, check=False)
    counts, survivors = _tally(argv)
    total = sum(counts.values())
    killed = counts["killed"]
    print()
    print(
        f"mutants: {total}  killed: {killed}  survived: {counts['survived']}  "
        f"other (not checked / no tests / suspicious): {counts['other']}"
    )
    if total:
        print(
            f"mutation score: {100 * killed / total:.1f} %  "
            f"(killed / all mutants of {', '.join(argv) or 'app/domain'})"
        )
    for name in survivors:
        print(f"survived: {name}")
    return started.returncode


def _mutant_glob(path: str) -> str:
    """mutmut names mutants by module: app/domain/x/y.py -> 'app.domain.x.y.*'."""
    return path.removesuffix(".py").replace("/", ".") + ".*"


def _tally(paths: list[str]) -> tuple[Counter[str], list[str]]:
    counts: Counter[str] = Counter()
    survivors = []
    prefixes = tuple(p.removesuffix(".py") for p in paths) or ("app/domain",)
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        source = str(meta.relative_to(ROOT / "mutants")).removesuffix(".py.meta")
        if not source.startswith(prefixes):
            continue
        results = json.loads(meta.read_text())["exit_code_by_key"]
        for key, code in results.items():
            if code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED:
                counts["survived"] += 1
                survivors.append(key)
            else:
                counts["other"] += 1
    return counts, survivors


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
