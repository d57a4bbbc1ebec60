"""Issue 9, outputs: where reports go (D1–D4), per-row output (M1, W4), tables in pipes
(M8), help and messages (M9). The CLI runs in-process (`invoke`) unless the finding is
about the operating system (devices, FIFOs, umask, /dev/stdout): those run `losscli` as a
real process. Real pipes, full disks and exit 141 are in test_findings_pipes.py.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
import threading

import pytest

from tests.cli.conftest import TIMEOUT, invoke, spawn, write

# binary data worked by hand: bce_i = −[y log p + (1 − y) log(1 − p)]
PROBS = [0.2, 0.7, 0.9, 0.4, 0.6]
LABELS = [0, 1, 1, 0, 0]
BCE = [-math.log(1 - p) if y == 0 else -math.log(p) for p, y in zip(PROBS, LABELS, strict=True)]
BCE_MEAN = math.fsum(BCE) / len(BCE)


def _csv() -> str:
    return "prob,label\n" + "".join(f"{p},{y}\n" for p, y in zip(PROBS, LABELS, strict=True))


@pytest.fixture
def b_csv(chdir_tmp):
    write(chdir_tmp / "b.csv", _csv())
    return chdir_tmp


EVAL = ["eval", "b.csv", "--pred-col", "prob", "--label-col", "label", "-l", "bce", "-q"]


def _error_line(ran, *fragments: str) -> str:
    lines = ran.err.splitlines()
    assert ran.code == 2, (ran.code, ran.err)
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _saved_bce(path) -> float:
    return json.loads(open(path, encoding="utf-8").read())["losses"]["bce"]


# -- D1: an output that is an input is an error, before any work ---------------------------


@pytest.mark.parametrize(
    "make_output",
    [
        lambda d: "b.csv",  # PREDS itself
        lambda d: "./b.csv",  # the same file by another spelling
        lambda d: str(d / "b.csv"),  # absolute
        lambda d: (os.symlink("b.csv", d / "link.csv"), "link.csv")[1],  # a symlink to it
        lambda d: (os.link(d / "b.csv", d / "hard.csv"), "hard.csv")[1],  # a hard link
    ],
    ids=["same", "dot-slash", "absolute", "symlink", "hardlink"],
)
def test_D1_save_onto_preds_is_an_error_and_the_input_is_kept(b_csv, make_output):
    out = make_output(b_csv)
    ran = invoke([*EVAL, "--save", out])
    _error_line(ran, "--save", "input", "b.csv")
    assert ran.out == ""
    assert (b_csv / "b.csv").read_text() == _csv()
    assert os.path.islink(b_csv / "link.csv") or not os.path.lexists(b_csv / "link.csv")


def test_D1_save_onto_labels_file_is_an_error(b_csv):
    write(b_csv / "p.csv", "prob\n" + "".join(f"{p}\n" for p in PROBS))
    write(b_csv / "l.csv", "label\n" + "".join(f"{y}\n" for y in LABELS))
    before = (b_csv / "l.csv").read_bytes()
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "bce", "--save", "l.csv"])
    _error_line(ran, "--save l.csv", "LABELS")
    assert (b_csv / "l.csv").read_bytes() == before
    ran = invoke(["eval", "p.csv", "l.csv", "-l", "bce", "--save", "report.json"])  # a new file
    assert ran.code == 0, ran.err
    assert _saved_bce(b_csv / "report.json") == pytest.approx(BCE_MEAN, rel=1e-15)


def test_D1_save_onto_the_settings_file_is_an_error(b_csv):
    write(b_csv / "settings.toml", 'loss = ["bce"]\n')
    before = (b_csv / "settings.toml").read_bytes()
    ran = invoke([*EVAL, "--config", "settings.toml", "--save", "settings.toml"])
    _error_line(ran, "--save settings.toml")
    assert (b_csv / "settings.toml").read_bytes() == before


# -- D4: one output onto another or onto the baseline --------------------------------------

CHECK = ["check", "b.csv", "--pred-col", "prob", "--label-col", "label", "-l", "bce", "-q"]


def test_D4_report_and_junit_on_the_same_path_is_an_error(b_csv):
    ran = invoke([*CHECK, "--max", "bce=1", "--report", "r.out", "--junit", "r.out"])
    _error_line(ran, "r.out")
    assert not (b_csv / "r.out").exists()


def test_D4_report_onto_the_baseline_is_an_error_and_the_baseline_is_kept(b_csv):
    assert invoke([*EVAL, "--save", "base.json"]).code == 0
    before = (b_csv / "base.json").read_bytes()
    ran = invoke([*CHECK, "--baseline", "base.json", "--tolerance", "2%", "--report", "base.json"])
    _error_line(ran, "base.json")
    assert (b_csv / "base.json").read_bytes() == before


# -- D2: devices, FIFOs, symlinks and `-` ----------------------------------------------------


def test_D2_save_dash_writes_the_report_to_stdout(b_csv):
    ran = invoke([*EVAL, "--save", "-", "-f", "csv"])
    assert ran.code == 0, ran.err
    assert not (b_csv / "-").exists()
    report, _, table = ran.out.rpartition("}\n")
    assert json.loads(report + "}")["losses"]["bce"] == pytest.approx(BCE_MEAN, rel=1e-15)
    assert table == f"loss,value\nbce,{BCE_MEAN!r}\n" or table.startswith("loss,value\nbce,")


def test_D2_symlink_is_followed_the_link_kept_and_the_target_written(b_csv):
    (b_csv / "shared").mkdir()
    write(b_csv / "shared" / "real.json", "{}\n")
    os.symlink("shared/real.json", b_csv / "link.json")
    ran = invoke([*EVAL, "--save", "link.json"])
    assert ran.code == 0, ran.err
    assert os.path.islink(b_csv / "link.json")
    assert os.readlink(b_csv / "link.json") == "shared/real.json"
    assert _saved_bce(b_csv / "shared" / "real.json") == pytest.approx(BCE_MEAN, rel=1e-15)


def test_D2_fifo_is_written_into_not_replaced(b_csv):
    fifo = b_csv / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = spawn([*EVAL, "--save", "out.fifo"], cwd=b_csv)
    reader.join(TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(got[0])["losses"]["bce"] == pytest.approx(BCE_MEAN, rel=1e-15)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_D2_character_device_is_written_into_not_replaced(b_csv):
    node = b_csv / "fakenull"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null
    proc = spawn([*EVAL, "--save", "fakenull"], cwd=b_csv)
    assert proc.returncode == 0, proc.stderr
    mode = os.lstat(node).st_mode
    assert stat.S_ISCHR(mode) and os.lstat(node).st_rdev == os.makedev(1, 3)


@pytest.mark.skipif(os.geteuid() == 0, reason="as root a regression would replace /dev/null")
def test_D2_dev_null_is_accepted_and_stays_a_device(b_csv):
    proc = spawn([*EVAL, "--save", "/dev/null"], cwd=b_csv)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_D2_a_link_to_stdout_writes_into_the_redirected_file(b_csv):
    # `--save /dev/stdout > out.txt`, through a link of our own so that the test cannot
    # touch the system's /dev/stdout when run against a version that replaces it
    os.symlink("/proc/self/fd/1", b_csv / "to_stdout")
    with open(b_csv / "out.txt", "wb") as out:
        proc = spawn([*EVAL, "-f", "csv", "--save", "to_stdout"], cwd=b_csv, stdout=out)
    assert proc.returncode == 0
    assert os.path.islink(b_csv / "to_stdout")
    text = (b_csv / "out.txt").read_text()
    report, _, table = text.rpartition("}\n")
    assert json.loads(report + "}")["losses"]["bce"] == pytest.approx(BCE_MEAN, rel=1e-15)
    assert table.startswith("loss,value\nbce,")


# -- D3: modes -------------------------------------------------------------------------------


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_D3_new_report_follows_the_umask(b_csv, mask, expected):
    proc = spawn([*EVAL, "--save", "s.json"], cwd=b_csv, preexec_fn=lambda: os.umask(mask))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(os.stat(b_csv / "s.json").st_mode) == expected


def test_D3_overwritten_report_keeps_its_mode(b_csv):
    write(b_csv / "t.json", "old\n")
    os.chmod(b_csv / "t.json", 0o664)
    ran = invoke([*EVAL, "--save", "t.json"])
    assert ran.code == 0, ran.err
    assert stat.S_IMODE(os.stat(b_csv / "t.json").st_mode) == 0o664
    assert _saved_bce(b_csv / "t.json") == pytest.approx(BCE_MEAN, rel=1e-15)


# -- M1: --reduction none gives rows, never means labelled "none" ---------------------------


def test_M1_reduction_none_json_has_rows_and_no_means(b_csv):
    ran = invoke([*EVAL[:-3], "-l", "bce,mse,rmse", "--reduction", "none", "-f", "json"])
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    assert "losses" not in doc
    assert doc["options"]["reduction"] == "none"
    assert doc["options"]["losses"] == ["bce", "mse"]  # rmse has no per-row value
    rows = doc["per_sample"]
    assert [r["row"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(set(r) == {"row", "bce", "mse"} for r in rows)
    assert [r["bce"] for r in rows] == pytest.approx(BCE, rel=1e-15)
    brier = [(p - y) ** 2 for p, y in zip(PROBS, LABELS, strict=True)]
    assert [r["mse"] for r in rows] == pytest.approx(brier, rel=1e-15)
    assert "rmse" not in ran.out

    # markdown (like table, csv and tsv) is one row per sample too
    ran = invoke([*EVAL, "--reduction", "none", "-f", "markdown", "--precision", "12"])
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == "| row | bce |"
    assert len(lines) == 2 + len(PROBS)
    assert [float(line.split("|")[2]) for line in lines[2:]] == pytest.approx(BCE, abs=1e-12)


def test_M1_save_with_reduction_none_is_an_error(b_csv):
    ran = invoke([*EVAL, "--reduction", "none", "--save", "rows.json"])
    _error_line(ran, "--save", "--reduction none", "--reduction mean")
    assert not (b_csv / "rows.json").exists()


# -- W4: --nan-policy omit keeps the input's row numbers -------------------------------------

OMIT = "prob,label\n0.2,0\n,1\n0.9,1\n0.4,\n0.6,0\n"  # rows 2 and 4 have a missing value
KEPT = {1: (0.2, 0), 3: (0.9, 1), 5: (0.6, 0)}


def _bce(p: float, y: int) -> float:
    return -math.log(p) if y else -math.log(1 - p)


def test_W4_reduction_none_with_omit_keeps_the_input_row_numbers(chdir_tmp):
    write(chdir_tmp / "om.csv", OMIT)
    ran = invoke(["eval", "om.csv", "--nan-policy", "omit", "--reduction", "none", "-l", "bce",
                  "-f", "csv"])  # fmt: skip
    assert ran.code == 0, ran.err
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert [int(r["row"]) for r in rows] == [1, 3, 5]
    assert [float(r["bce"]) for r in rows] == pytest.approx(
        [_bce(*KEPT[i]) for i in (1, 3, 5)], rel=1e-15
    )


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_W4_row_numbers_hold_across_chunks(chdir_tmp, chunk_rows):
    write(chdir_tmp / "om.csv", OMIT)
    proc = spawn(
        [
            "eval",
            "om.csv",
            "--nan-policy",
            "omit",
            "--reduction",
            "none",
            "-l",
            "bce",
            "-f",
            "json",
        ],
        cwd=chdir_tmp,
        text=True,
        env={"LOSSCLI_CHUNK_ROWS": str(chunk_rows)},
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["per_sample"]
    assert [r["row"] for r in rows] == [1, 3, 5]
    assert [r["bce"] for r in rows] == pytest.approx([_bce(*KEPT[i]) for i in (1, 3, 5)])


def test_W4_ids_follow_the_rows_kept_by_omit(chdir_tmp):
    write(chdir_tmp / "p.csv", "id,prob\n11,0.2\n12,\n13,0.9\n14,0.4\n15,0.6\n")
    write(chdir_tmp / "l.csv", "id,label\n15,0\n14,\n13,1\n12,1\n11,0\n")
    ran = invoke(["eval", "p.csv", "l.csv", "--id-col", "id", "--nan-policy", "omit",
                  "--reduction", "none", "-l", "bce", "-f", "csv"])  # fmt: skip
    assert ran.code == 0, ran.err
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert [r["id"] for r in rows] == ["11", "13", "15"]
    assert [float(r["bce"]) for r in rows] == pytest.approx(
        [_bce(0.2, 0), _bce(0.9, 1), _bce(0.6, 0)], rel=1e-15
    )


# -- M8: tables in pipes are not wrapped, not padded ----------------------------------------


def _tidy(text: str) -> None:
    for line in text.splitlines():
        assert line == line.rstrip(" "), repr(line)


def test_M8_check_table_and_summary_do_not_wrap_in_a_pipe(b_csv):
    assert invoke([*EVAL, "--save", "base.json"]).code == 0
    ran = invoke([*CHECK, "--baseline", "base.json", "--tolerance", "2%"])
    assert ran.code == 0, ran.err
    bce_lines = [line for line in ran.out.splitlines() if line.lstrip().startswith("bce ")]
    assert len(bce_lines) == 1 and bce_lines[0].endswith("pass"), ran.out
    assert "(baseline 0." in bce_lines[0] and "+ 2%)" in bce_lines[0]
    _tidy(ran.out)

    gates = [f"--max={name}=0.001" for name in ("bce", "mse", "mae", "hinge", "huber", "log_cosh")]
    ran = invoke([*CHECK[:-3], "-q", *gates])
    assert ran.code == 1
    summary = [line for line in ran.out.splitlines() if line.startswith("FAILED:")]
    assert len(summary) == 1 and len(summary[0]) > 120, ran.out
    assert summary[0].count("> max 0.001") == len(gates)
    _tidy(ran.out)


def test_M8_eval_table_has_no_trailing_padding_or_blank_lines_of_spaces(b_csv):
    ran = invoke(["eval", "b.csv", "--pred-col", "prob", "--label-col", "label"])
    assert ran.code == 0, ran.err
    _tidy(ran.out)
    assert not ran.out.endswith("\n\n")
    assert ran.out.splitlines()[1] == ""  # the blank line under the title stays, empty


def test_M8_a_wide_table_stays_one_line_per_row(chdir_tmp):
    # class-named columns make long "shaped by" and title texts; nothing may wrap
    write(chdir_tmp / "a_rather_long_file_name_for_the_predictions_of_this_model.csv", _csv())
    ran = invoke(["eval", "a_rather_long_file_name_for_the_predictions_of_this_model.csv",
                  "--pred-col", "prob", "--label-col", "label", "--label-smoothing", "0.1",
                  "--focal-alpha", "0.25"])  # fmt: skip
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0].endswith("a_rather_long_file_name_for_the_predictions_of_this_model.csv")
    focal = [line for line in lines if line.lstrip().startswith("focal ")]
    assert len(focal) == 1 and focal[0].endswith("γ=2, α=0.25"), ran.out
    _tidy(ran.out)


# -- M9: help without arguments, punctuation, GitHub annotations -----------------------------


def test_M9_losscli_without_arguments_prints_help_and_succeeds():
    ran = invoke([])
    assert ran.code == 0, ran.err
    assert ran.out.startswith("Usage: losscli") and "Commands:" in ran.out
    assert ran.err == ""


def test_M9_did_you_mean_has_no_double_punctuation():
    ran = invoke(["evl"])
    line = _error_line(ran, "Did you mean 'eval'?")
    assert "?." not in line and "!." not in line


def test_M9_input_error_on_github_actions_is_also_an_annotation(chdir_tmp):
    ran = invoke(["eval", "no%such.csv"], env={"GITHUB_ACTIONS": "true"})
    assert ran.code == 2
    lines = ran.err.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    annotations = [line for line in lines if line.startswith("::error")]
    assert len(errors) == 1 and len(annotations) == 1, ran.err
    message = errors[0][len("error: ") :]
    assert annotations[0].endswith("::" + message.replace("%", "%25"))
    assert "no%25such.csv" in annotations[0]
    ran = invoke(["eval", "no%such.csv"], env={"GITHUB_ACTIONS": None})  # not on GitHub
    assert ran.code == 2 and "::error" not in ran.err
