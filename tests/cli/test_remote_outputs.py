"""Output URLs (--save, --report, --junit) checked before any work, against a real
S3-compatible server (moto's server mode, `s3_server` in tests/conftest.py; SPEC §10).

An output must name an object: not a folder of objects (an object `multi` beside
`multi/part-*.parquet` hides the folder from a later read), not a bucket. It must not be an
input under another spelling of the same object (s3a:// is s3://, `//` is `/`). Its bucket
must exist. Each is one `error:` line, exit 2, before an input is even read: the tests give
an input that does not exist, and the error is the output's.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from losscli.readers.remote import object_id
from tests.cli.conftest import assert_usage_error, invoke

BUCKET = "losscli-outputs"
NO_BUCKET = "losscli-no-such-bucket"
COLS = ["--pred-col", "prob", "--label-col", "label"]


@pytest.fixture(scope="module")
def store(s3_server):
    """A bucket with one Parquet object and a folder `multi/` of two Parquet objects."""
    fs = s3_server.fs()
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 200)
    table = pa.table({"prob": p, "label": (rng.uniform(size=200) < p).astype(np.int64)})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    for key in ("one.parquet", "multi/part-0.parquet", "multi/part-1.parquet"):
        fs.pipe_file(f"{BUCKET}/{key}", sink.getvalue())
    return fs


def _one_line(ran, line: str) -> None:
    assert_usage_error(*ran)
    assert ran.err.strip() == line, ran.err


def test_a_folder_or_a_bucket_is_refused_as_an_output(s3_server, store):
    before = {p: store.info(p)["ETag"] for p in store.find(BUCKET)}
    missing = f"s3://{BUCKET}/not-there.parquet"  # never read: the output is checked first
    folder = f"s3://{BUCKET}/multi"
    for url in (folder, folder + "/", folder + "//"):
        ran = invoke(["eval", missing, *COLS, "--save", url], env=s3_server.env())
        problem = "is a folder of objects; writing it would hide them" if url == folder else (
            "names a folder or a bucket, not an object")  # fmt: skip
        _one_line(ran, f"error: --save {url} {problem}. Name an object, e.g. {folder}/report.json.")
    ran = invoke(["check", missing, *COLS, "--max", "bce=1", "--junit", folder],
                 env=s3_server.env())  # fmt: skip
    _one_line(ran, f"error: --junit {folder} is a folder of objects; writing it would hide "
                   f"them. Name an object, e.g. {folder}/junit.xml.")  # fmt: skip
    ran = invoke(["eval", missing, *COLS, "--save", f"s3://{BUCKET}"], env=s3_server.env())
    assert_usage_error(*ran, f"--save s3://{BUCKET} names a folder or a bucket, not an object",
                       f"e.g. s3://{BUCKET}/report.json")  # fmt: skip
    store.invalidate_cache()
    assert {p: store.info(p)["ETag"] for p in store.find(BUCKET)} == before  # nothing written
    assert invoke(["eval", folder + "/", *COLS, "-q"], env=s3_server.env()).code == 0


def test_an_output_that_is_an_input_under_another_spelling_is_refused(s3_server, store, tmp_path):
    base = f"s3://{BUCKET}/reports/base.json"
    invoke(["eval", f"s3://{BUCKET}/one.parquet", *COLS, "-q", "--save", base],
           env=s3_server.env(), expect=0)  # fmt: skip
    saved = store.cat_file(base)
    for report in (f"s3a://{BUCKET}/reports/base.json", f"s3a://{BUCKET}//reports//base.json"):
        ran = invoke(["check", f"s3://{BUCKET}/one.parquet", *COLS, "--baseline", base,
                      "--report", report], env=s3_server.env())  # fmt: skip
        _one_line(ran, f"error: --report {report} is the input --baseline {base}; writing it "
                       "would destroy the input. Choose another path for --report.")  # fmt: skip
    ran = invoke(["check", f"s3://{BUCKET}/one.parquet", *COLS, "--baseline", base,
                  "--report", f"s3://{BUCKET}/reports/r.json",
                  "--junit", f"s3a://{BUCKET}/reports//r.json"], env=s3_server.env())  # fmt: skip
    assert_usage_error(*ran, "are the same file; one would overwrite the other")
    store.invalidate_cache()
    assert store.cat_file(base) == saved
    assert not store.exists(f"{BUCKET}/reports/r.json")


def test_object_ids_of_one_store_are_one_whatever_the_scheme():
    assert object_id("s3a://b//k/r.json/") == object_id("s3://b/k/r.json") == "s3://b/k/r.json"
    assert object_id("gcs://b/k/r.json") == object_id("gs://b/k//r.json")
    assert (object_id("abfss://c@acct.dfs.core.windows.net/k/r.json")
            == object_id("abfs://c/k/r.json") == object_id("az://c/k/r.json"))  # fmt: skip
    assert object_id("s3://b/k/r.json") != object_id("gs://b/k/r.json")
    assert object_id("s3://b/k/r.json") != object_id("s3://b/k/r2.json")


def test_a_missing_bucket_is_found_before_any_work(s3_server, store):
    missing = f"s3://{BUCKET}/not-there.parquet"  # never read: the output is checked first
    for command, flag in (("eval", "--save"), ("check", "--report"), ("check", "--junit")):
        url = f"s3://{NO_BUCKET}/reports/r.json"
        gate = ["--max", "bce=1"] if command == "check" else []
        ran = invoke([command, missing, *COLS, *gate, flag, url], env=s3_server.env())
        _one_line(ran, f"error: {flag} {url}: no such bucket '{NO_BUCKET}'. "
                       "Create it first or check the name.")  # fmt: skip
    # refused credentials are not a missing bucket: the output's checks are skipped (keys
    # that may write but not list are refused them too), and the read of the input says so
    url = f"s3://{BUCKET}/reports/r.json"
    env = s3_server.env(AWS_SECRET_ACCESS_KEY="not-the-secret")
    ran = invoke(["eval", missing, *COLS, "--save", url], env=env)
    assert_usage_error(*ran, f"error: {missing}: access denied", "AWS_ACCESS_KEY_ID")
    assert len(ran.err.strip().splitlines()) == 1, ran.err
    assert not store.exists(f"{NO_BUCKET}")


def test_an_output_inside_an_input_folder_is_refused(s3_server, store, tmp_path):
    """A report written into the dataset it reads would be one of its files next time."""
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "a.csv").write_text("prob,label\n0.2,0\n0.9,1\n")
    for out in (folder / "r.json", folder / "sub" / ".." / "r.json"):
        ran = invoke(["eval", str(folder), *COLS, "--save", str(out)])
        assert_usage_error(*ran, f"error: --save {out} is inside the input folder PREDS {folder}; ")
        assert len(ran.err.strip().splitlines()) == 1
    invoke(["eval", str(folder), *COLS, "--save", str(tmp_path / "r.json")], expect=0)
    store.pipe_file(f"{BUCKET}/inside/a.csv", b"prob,label\n0.2,0\n0.9,1\n")
    url = f"s3://{BUCKET}/inside/r.json"
    ran = invoke(["eval", f"s3://{BUCKET}/inside", *COLS, "--save", url], env=s3_server.env())
    assert_usage_error(
        *ran, f"error: --save {url} is inside the input folder PREDS s3://{BUCKET}/inside; "
    )
    assert not store.exists(f"{BUCKET}/inside/r.json")
