"""Prove that a refactor changed nothing a user sees: run the same eval, check and compare
commands on sample_data at two commits and compare stdout, stderr and exit codes byte for
byte.

    python tools/same_output.py BASE [HEAD]

BASE and HEAD are commits (HEAD defaults to the working tree). Each commit is checked out
with `git worktree` into a temporary folder and run with this interpreter, with that folder
first on PYTHONPATH, so both run on the same installed dependencies. Prints one line per
command that differs and exits 1 if any does; 0 and a count otherwise.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

B = "sample_data/binary.csv --pred-col prob --label-col label"
BL = "sample_data/binary.csv --pred-col logit --label-col label --from-logits"
M = "sample_data/multiclass.csv --pred-col 'p_*' --label-col species"
ML = "sample_data/multiclass_logits.csv --pred-col 'z_*' --label-col label --from-logits"
R = "sample_data/regression.csv --pred-col y_pred --label-col y_true"
JOIN = "sample_data/binary_preds.csv sample_data/binary_labels.csv --id-col id"
NPY = "sample_data/multiclass_preds.npy sample_data/multiclass_labels.npy"

# Every loss, task and option the tests use, in every output format, on the sample data.
EVAL = [
    B,
    BL,
    M,
    ML,
    R,
    JOIN,
    NPY,
    "sample_data/binary.parquet --pred-col logit --label-col label --from-logits",
    "sample_data/regression.parquet --pred-col y_pred --label-col y_true",
    "sample_data/binary_preds.npy sample_data/binary_labels.npy",
    f"{B} --weight-col id",
    f"{B} --class-weight balanced",
    f"{B} --class-weight 0=1,1=4",
    f"{B} --label-smoothing 0.1",
    f"{B} --eps 1e-7",
    f"{B} --reduction sum",
    f"{B} --focal-gamma 0.5 --focal-alpha 0.25 -l focal",
    f"{B} --dice-smooth 0 -l dice",
    f"{B} --huber-delta 0.3 -l huber,pseudo_huber",
    f"{BL} -l hinge,squared_hinge",
    f"{M} --class-weight balanced",
    f"{M} --label-smoothing 0.2",
    f"{M} --renormalize",
    f"{ML} --hinge-mode weston-watkins -l hinge",
    f"{ML} --class-weight 0=2,2=0.5",
    f"{M} --classes setosa,versicolor,virginica",
    f"{R} --huber-delta 5 --reduction sum",
    f"{R} --weight-col id",
    f"{B} --task binary -l bce,ce,kl,focal,mse",
    f"{B} --reduction none",
    f"{R} --reduction none",
    f"{B} --precision 3",
]
FORMATS = ["json", "csv", "tsv", "markdown", "table"]
CHECK = [
    f"{B} --max bce=0.1 --max mse=0.02",
    f"{B} --min mae=0.001 --max dice=0.5",
    f"{M} --max ce=0.2",
    f"{R} --max mse=1000",
    f"{B} --max bce=0.01 -l bce,mse",
]
COMPARE = [
    "--labels sample_data/binary_labels.csv sample_data/binary_preds.csv sample_data/binary.csv --pred-col prob --id-col id",
    "sample_data/binary.csv --label-col label --model-col a=prob --model-col b=logit -l hinge",
    "sample_data/binary.csv --label-col label --model-col a=prob --model-col b=logit --task regression --method normal -l mse,mae",
    "sample_data/binary.csv --label-col label --model-col a=prob --model-col b=logit -l hinge,squared_hinge --method bootstrap --seed 7 --holm",
]


def commands() -> list[str]:
    cmds = [f"eval {args} -f {fmt}" for args in EVAL for fmt in FORMATS]
    cmds += [f"check {args} -f {fmt}" for args in CHECK for fmt in ("json", "table", "markdown")]
    cmds += [f"compare {args} -f {fmt}" for args in COMPARE for fmt in ("json", "csv", "table")]
    cmds += ["losses", "losses --format json", "losses --format markdown", "--help",
             "eval --help", "check --help", "compare --help"]  # fmt: skip
    return cmds


def run_all(tree: Path, cmds: list[str]) -> list[tuple[int, bytes, bytes]]:
    env = dict(os.environ, PYTHONPATH=str(tree), COLUMNS="100", LOSSCLI_DEBUG="")
    env.pop("GITHUB_ACTIONS", None)
    env.pop("GITHUB_OUTPUT", None)
    env.pop("GITHUB_STEP_SUMMARY", None)

    def one(cmd: str) -> tuple[int, bytes, bytes]:
        # -P: the current folder is not put first on sys.path, so the tree on PYTHONPATH
        # is the one imported (with -m and cwd=ROOT both sides would run the working tree)
        argv = [sys.executable, "-P", "-m", "losscli", *shlex.split(cmd)]
        done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, timeout=300)
        return done.returncode, done.stdout, done.stderr

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return list(pool.map(one, cmds))


def checkout(commit: str, where: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", str(where), commit], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    return where


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmds = commands()
    with tempfile.TemporaryDirectory() as tmp:
        trees = [checkout(argv[0], Path(tmp) / "base")]
        trees.append(checkout(argv[1], Path(tmp) / "head") if len(argv) == 2 else ROOT)
        try:
            base, head = (run_all(tree, cmds) for tree in trees)
        finally:
            for tree in trees:
                if tree != ROOT:
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)],
                                   cwd=ROOT, capture_output=True)  # fmt: skip
    differ = 0
    for cmd, a, b in zip(cmds, base, head, strict=True):
        parts = [name for name, x, y in zip(("exit", "stdout", "stderr"), a, b, strict=True)
                 if x != y]  # fmt: skip
        if parts:
            differ += 1
            print(f"DIFFERS ({', '.join(parts)}): losscli {cmd}")
    print(f"{len(cmds) - differ} of {len(cmds)} commands byte-identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
