"""URLs for every input and output, against a real S3-compatible server (SPEC §10).

The server is moto's server mode on 127.0.0.1 (`s3_server` in tests/conftest.py), one per
session, which checks credentials. Each test puts its objects under its own prefix. The
numbers read through S3 are compared with scikit-learn on the same arrays and with the same
files read locally; a folder, a glob and a file of CSV and Parquet are one table each.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import log_loss

from tests.cli.conftest import assert_usage_error, invoke

BUCKET = "losscli-tests"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(12)
    n = 3000
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.uniform(size=n) < p).astype(np.int64)
    region = rng.choice(["eu", "us", "apac"], n)
    return p, y, region


@pytest.fixture(scope="module")
def bucket(s3_server, data):
    """Objects on the server: one Parquet file, a Hive-partitioned Parquet folder (with a
    _SUCCESS marker), and three CSV files for a glob, all of the same rows."""
    p, y, region = data
    fs = s3_server.fs()
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    table = pa.table({"prob": p, "label": y, "region": region})
    fs.pipe_file(f"{BUCKET}/one/preds.parquet", _parquet(table))
    order = np.argsort(region, kind="stable")  # the folder lists apac, eu, us in name order
    for name in ("apac", "eu", "us"):
        rows = table.filter(pa.array(region == name)).drop_columns(["region"])
        fs.pipe_file(f"{BUCKET}/hive/region={name}/part-0.parquet", _parquet(rows))
    fs.pipe_file(f"{BUCKET}/hive/_SUCCESS", b"")
    for i, start in enumerate(range(0, len(p), 1000)):
        part = table.slice(start, 1000).to_pandas()
        fs.pipe_file(f"{BUCKET}/csv/part-{i}.csv", part.to_csv(index=False).encode())
    return fs, order


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=700)  # several row groups per file
    return sink.getvalue()


def _bce(ran) -> float:
    return json.loads(ran.out)["losses"]["bce"]


def _eval(s3_server, *argv, expect=0, env=None):
    return invoke(
        ["eval", *argv, "-l", "bce", "-q"], env=s3_server.env(**(env or {})), expect=expect
    )


def test_one_parquet_object_is_sklearns_number(s3_server, bucket, data):
    p, y, _ = data
    ran = _eval(s3_server, f"s3://{BUCKET}/one/preds.parquet", "--pred-col", "prob",
                "--label-col", "label", "-f", "json")  # fmt: skip
    assert _bce(ran) == pytest.approx(log_loss(y, p), rel=1e-12)
    assert json.loads(ran.out)["inputs"]["preds"]["path"] == f"s3://{BUCKET}/one/preds.parquet"


def test_a_partitioned_folder_is_one_table_and_its_key_a_column(s3_server, bucket, data):
    p, y, region = data
    ran = _eval(s3_server, f"s3://{BUCKET}/hive", "--pred-col", "prob", "--label-col", "label",
                "--by", "region", "-f", "json")  # fmt: skip
    report = json.loads(ran.out)
    assert report["n_samples"] == len(p)
    assert _bce(ran) == pytest.approx(log_loss(y, p), rel=1e-12)
    groups = {g["key"]["region"]: g for g in report["slices"][0]["groups"]}
    assert sorted(groups) == ["apac", "eu", "us"]
    for name, group in groups.items():
        mask = region == name
        assert group["n_samples"] == mask.sum()
        assert group["losses"]["bce"] == pytest.approx(log_loss(y[mask], p[mask]), rel=1e-12)


def test_a_glob_of_csv_objects_is_one_table_in_name_order(s3_server, bucket, data, tmp_path):
    p, y, _ = data
    ran = _eval(s3_server, f"s3://{BUCKET}/csv/part-*.csv", "--pred-col", "prob",
                "--label-col", "label", "--worst", "2", "-f", "json")  # fmt: skip
    assert _bce(ran) == pytest.approx(log_loss(y, p), rel=1e-12)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    rows = [entry["row"] for entry in json.loads(ran.out)["worst"]]
    assert rows == [int(i) + 1 for i in np.argsort(-losses, kind="stable")[:2]]  # rows across files


def test_storage_option_names_the_endpoint(s3_server, bucket, data):
    _, y, _ = data
    env = {"AWS_ENDPOINT_URL": ""}  # no endpoint in the environment: the flag gives it
    ran = _eval(s3_server, f"s3://{BUCKET}/one/preds.parquet", "--pred-col", "prob",
                "--storage-option", f"endpoint_url={s3_server.endpoint}", "-f", "json", env=env)  # fmt: skip
    assert json.loads(ran.out)["n_samples"] == len(y)


def test_baseline_report_junit_and_settings_on_s3(s3_server, bucket, data):
    fs, _ = bucket
    url = f"s3://{BUCKET}/one/preds.parquet"
    cols = ["--pred-col", "prob", "--label-col", "label"]
    _eval(s3_server, url, *cols, "--save", f"s3://{BUCKET}/reports/base.json")
    base = json.loads(fs.cat_file(f"{BUCKET}/reports/base.json"))
    fs.pipe_file(f"{BUCKET}/reports/losscli.toml", b'loss = ["bce"]\ntolerance = "1%"\n')
    ran = invoke(
        ["check", url, *cols, "--baseline", f"s3://{BUCKET}/reports/base.json",
         "--config", f"s3://{BUCKET}/reports/losscli.toml", "-q",
         "--report", f"s3://{BUCKET}/reports/check.json",
         "--junit", f"s3://{BUCKET}/reports/junit.xml"],
        env=s3_server.env(), expect=0,
    )  # fmt: skip
    report = json.loads(fs.cat_file(f"{BUCKET}/reports/check.json"))
    assert report["passed"] is True
    assert report["baseline"] == f"s3://{BUCKET}/reports/base.json"
    gate = next(g for g in report["gates"] if g["kind"] == "baseline")
    assert gate["value"] == base["losses"]["bce"] and gate["loss"] == "bce"
    assert b"<testsuite" in fs.cat_file(f"{BUCKET}/reports/junit.xml")
    assert "PASSED" in ran.out


def test_an_output_that_is_an_input_url_is_refused(s3_server, bucket):
    url = f"s3://{BUCKET}/one/preds.parquet"
    ran = invoke(["eval", url, "--pred-col", "prob", "--save", url], env=s3_server.env())
    assert_usage_error(*ran, "writing it would destroy the input")


def test_wrong_credentials_are_one_error_line(s3_server, bucket):
    env = s3_server.env(AWS_SECRET_ACCESS_KEY="not-the-secret")
    ran = invoke(["eval", f"s3://{BUCKET}/one/preds.parquet", "-q"], env=env)
    assert_usage_error(*ran, f"error: s3://{BUCKET}/one/preds.parquet: access denied",
                       "AWS_ACCESS_KEY_ID")  # fmt: skip
    assert len(ran.err.strip().splitlines()) == 1


def test_a_missing_bucket_and_a_missing_key_are_one_error_line(s3_server, bucket):
    for url in ("s3://no-such-bucket-here/preds.parquet", f"s3://{BUCKET}/one/missing.parquet",
                f"s3://{BUCKET}/csv/nothing-*.csv"):  # fmt: skip
        ran = invoke(["eval", url, "-q"], env=s3_server.env())
        assert_usage_error(*ran, f"error: {url}: ")
        assert len(ran.err.strip().splitlines()) == 1, ran.err
    ran = invoke(["eval", f"s3://{BUCKET}/one/preds.parquet", "--pred-col", "prob",
                  "--save", "s3://no-such-bucket-here/r.json", "-q"], env=s3_server.env())  # fmt: skip
    assert_usage_error(*ran, "error: --save s3://no-such-bucket-here/r.json: no such bucket")


def test_urls_that_cannot_be_used(s3_server):
    ran = invoke(["eval", "ftp://example.com/p.csv"])
    assert_usage_error(*ran, "remote paths (ftp://) are not supported", "s3://")
    ran = invoke(["eval", "sample_data/binary.csv", "--save", "https://example.com/r.json"])
    assert_usage_error(*ran, "https:// is read only")
    ran = invoke(["eval", "s3://b/p.csv", "--storage-option", "anon"])
    assert_usage_error(*ran, "--storage-option takes KEY=VALUE")


def test_a_missing_extra_names_the_pip_install():
    """As on a machine without s3fs: the import fails, and the error says what to install."""
    code = (
        "import sys; sys.modules['s3fs'] = None\n"
        "from losscli.cli import run\n"
        "sys.exit(run(['eval', 's3://bucket/preds.parquet']))"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr == (
        "error: s3://bucket/preds.parquet: reading s3:// needs the package s3fs, which is not "
        "installed. Install the cloud extra: pip install 'losscli[cloud]'.\n"
    )


def test_many_units_fetched_ahead_equal_the_local_file(s3_server, bucket, tmp_path, monkeypatch):
    """A Parquet object is read by byte ranges fetched ahead (`readers.ranges`): with units
    of a few row groups and a window of two units, the numbers, slices and worst rows are
    those of the same file read locally, to the last digit."""
    from losscli.readers import ranges

    fs, _ = bucket
    rng = np.random.default_rng(5)
    n = 40_000
    p = rng.uniform(0.01, 0.99, n)
    table = pa.table({"prob": p, "noise": rng.normal(size=n),
                      "label": (rng.uniform(size=n) < p).astype(np.int64),
                      "g": pa.array([f"g{i % 7}" for i in range(n)])})  # fmt: skip
    local = tmp_path / "many.parquet"
    pq.write_table(table, local, row_group_size=2_500)
    fs.put_file(str(local), f"{BUCKET}/many/a.parquet")
    fs.put_file(str(local), f"{BUCKET}/many/b.parquet")
    monkeypatch.setattr(ranges, "UNIT", 40_000)
    monkeypatch.setattr(ranges, "AHEAD", 80_000)
    argv = ["--pred-col", "prob", "--label-col", "label", "--by", "g", "--worst", "3",
            "-l", "bce,mse", "-f", "json", "-q"]  # fmt: skip
    here = tmp_path / "here"
    here.mkdir()
    local.rename(here / "a.parquet")
    pq.write_table(table, here / "b.parquet", row_group_size=2_500)
    remote = invoke(["eval", f"s3://{BUCKET}/many/", *argv], env=s3_server.env(), expect=0)
    mine = invoke(["eval", str(here), *argv], expect=0)
    a, b = json.loads(remote.out), json.loads(mine.out)
    assert a["n_samples"] == 2 * n
    assert a["losses"] == b["losses"] and a["slices"] == b["slices"] and a["worst"] == b["worst"]


def test_a_truncated_object_is_one_error_line_naming_it(s3_server, bucket):
    fs, _ = bucket
    whole = fs.cat_file(f"{BUCKET}/one/preds.parquet")
    fs.pipe_file(f"{BUCKET}/cut/a.parquet", whole)
    fs.pipe_file(f"{BUCKET}/cut/b.parquet", whole[: len(whole) // 2])
    ran = invoke(["eval", f"s3://{BUCKET}/cut/", "--pred-col", "prob", "-q"], env=s3_server.env())
    assert_usage_error(*ran, f"error: s3://{BUCKET}/cut/b.parquet: not a valid Parquet file")
    assert len(ran.err.strip().splitlines()) == 1


def test_an_object_deleted_while_it_is_read_is_one_error_naming_it(s3_server, bucket, monkeypatch):
    """The footers are read when the dataset is opened, the row groups later, ahead of the
    engine: an object gone by then is the store's error, naming that object."""
    from losscli.errors import InputError
    from losscli.readers import open_table, ranges

    fs, _ = bucket
    whole = fs.cat_file(f"{BUCKET}/one/preds.parquet")
    for name in ("a", "b", "c"):
        fs.pipe_file(f"{BUCKET}/gone/{name}.parquet", whole)
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(ranges, "AHEAD", 1)  # one unit at a time: b is fetched after a is read
    table = open_table(f"s3://{BUCKET}/gone/")
    frames = table.iterate(["prob"], 1000)
    next(frames)
    fs.rm(f"{BUCKET}/gone/c.parquet")
    with pytest.raises(InputError) as failed:
        for _ in frames:
            pass
    assert failed.value.source == f"s3://{BUCKET}/gone/c.parquet"
    assert "no such object" in failed.value.problem


def test_a_web_server_without_byte_ranges_reads_the_same_numbers(tmp_path):
    """A server that ignores Range headers (Python's http.server) sends the whole object
    for the footer's range: it is read from that answer (290 kB, several row groups, more
    than the 64 KiB asked for the footer), not requested again for each row group."""
    import functools
    import http.server
    import threading

    rng = np.random.default_rng(8)
    p = rng.uniform(0.01, 0.99, 30_000)
    y = (rng.uniform(size=30_000) < p).astype(np.int64)
    pq.write_table(pa.table({"prob": p, "label": y}), tmp_path / "s.parquet",
                   row_group_size=4000)  # fmt: skip
    assert (tmp_path / "s.parquet").stat().st_size > 250_000
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/s.parquet"
        ran = invoke(["eval", url, "--pred-col", "prob", "-l", "bce", "-f", "json", "-q"],
                     expect=0)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert _bce(ran) == pytest.approx(log_loss(y, p), rel=1e-12)


def test_an_object_outside_the_partition_folders_is_an_error(s3_server, bucket):
    fs, _ = bucket
    whole = fs.cat_file(f"{BUCKET}/one/preds.parquet")
    for key in ("k=1/a.parquet", "x/a.parquet", "_tmp/a.parquet"):
        fs.pipe_file(f"{BUCKET}/plain/{key}", whole)
    ran = invoke(["eval", f"s3://{BUCKET}/plain/", "--pred-col", "prob", "-q"],
                 env=s3_server.env())  # fmt: skip
    assert_usage_error(*ran, f"error: s3://{BUCKET}/plain/x: this folder inside the dataset")
    assert len(ran.err.strip().splitlines()) == 1


def test_an_object_replaced_while_it_is_read_is_an_error_not_mixed_rows(s3_server, bucket,
                                                                        monkeypatch):  # fmt: skip
    """Its footer is read when the dataset is opened and its row groups later: a new
    version in between (same size, other values) would mix two versions' bytes."""
    from losscli.errors import InputError
    from losscli.readers import open_table, ranges

    fs, _ = bucket

    def version(flip: bool) -> bytes:
        p = np.linspace(0.05, 0.95, 4000)
        sink = io.BytesIO()
        pq.write_table(pa.table({"prob": 1 - p if flip else p, "label": np.ones(4000)}), sink,
                       compression="none", use_dictionary=False, write_statistics=False,
                       row_group_size=1000)  # fmt: skip
        return sink.getvalue()

    old, new = version(False), version(True)
    assert len(old) == len(new) and old != new
    for name in ("a", "b"):
        fs.pipe_file(f"{BUCKET}/swap/{name}.parquet", old)
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(ranges, "AHEAD", 1)  # one unit at a time: b is fetched after a is read
    for url in (f"s3://{BUCKET}/swap/", f"s3://{BUCKET}/swap/*.parquet"):  # listed again
        fs.pipe_file(f"{BUCKET}/swap/b.parquet", old)
        frames = open_table(url).iterate(["prob"], 500)
        next(frames)
        fs.pipe_file(f"{BUCKET}/swap/b.parquet", new)
        with pytest.raises(InputError) as failed:
            for _ in frames:
                pass
        assert failed.value.source == f"s3://{BUCKET}/swap/b.parquet"
        assert "changed while it was read" in failed.value.problem


def test_a_key_with_glob_characters_is_read_when_it_exists(s3_server, bucket, data):
    fs, _ = bucket
    p, y, _ = data
    fs.pipe_file(f"{BUCKET}/br/[1].parquet", fs.cat_file(f"{BUCKET}/one/preds.parquet"))
    ran = _eval(s3_server, f"s3://{BUCKET}/br/[1].parquet", "--pred-col", "prob", "-f", "json")
    assert _bce(ran) == pytest.approx(log_loss(y, p), rel=1e-12)
    ran = _eval(s3_server, f"s3://{BUCKET}/br/[12].parquet", "--pred-col", "prob", expect=2)
    assert "the pattern matches no object" in ran.err


def test_a_folder_with_glob_characters_is_a_dataset(s3_server, bucket, data):
    fs, _ = bucket
    p, y, _ = data
    whole = fs.cat_file(f"{BUCKET}/one/preds.parquet")
    fs.pipe_file(f"{BUCKET}/run[7]/a.parquet", whole)
    fs.pipe_file(f"{BUCKET}/run[7]/b.parquet", whole)
    ran = _eval(s3_server, f"s3://{BUCKET}/run[7]/", "--pred-col", "prob", "-f", "json")
    assert json.loads(ran.out)["n_samples"] == 2 * len(y)
    assert _bce(ran) == pytest.approx(log_loss(y, p), rel=1e-12)


def test_an_object_of_no_rows_read_whole_is_an_error(s3_server, bucket, monkeypatch):
    from losscli.errors import InputError
    from losscli.readers import open_table

    fs, _ = bucket
    sink = io.BytesIO()
    pq.write_table(pa.table({"prob": pa.array([], pa.float64())}), sink)
    fs.pipe_file(f"{BUCKET}/empty/e.parquet", sink.getvalue())
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InputError, match="no rows"):
        open_table(f"s3://{BUCKET}/empty/e.parquet").read(["prob"])
