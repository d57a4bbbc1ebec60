"""Paths that are URLs: object storage and the web, through fsspec (SPEC §10).

`s3://` (s3fs), `gs://` (gcsfs), `az://`, `abfs://`, `abfss://` (adlfs), `hf://`
(huggingface_hub) and `http(s)://` (read only, aiohttp) are opened by fsspec's own
implementations; credentials come from each platform's standard environment (for S3 the
AWS variables, `~/.aws` profiles and `AWS_ENDPOINT_URL`; for GCS application default
credentials; for Azure `AZURE_STORAGE_*`; for the Hub `HF_TOKEN`). `--storage-option
KEY=VALUE` passes keywords to the file system (`endpoint_url=http://...`, `anon=true`);
values are read as JSON where they parse (`true`, `3`), as text otherwise.

What this module gives the readers: `resolve_url` (a `Source` whose `fs` is the file
system and, for a folder or a glob, whose `files` are the objects in name order),
`open_binary` (a seekable file object, which pyarrow reads Parquet from by ranges), and
`translated`, the one place where a store's exceptions become one `error:` line.
A package that is missing is an error naming ``pip install 'losscli[cloud]'``.

Writing (`write_bytes`, for --save, --report, --junit) puts the whole object in one request:
S3's PUT, a GCS upload and an Azure block-list commit each replace an object whole, so a
reader never sees half a report; http(s) cannot be written.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

from losscli.errors import InputError

CLOUD_INSTALL = "pip install 'losscli[cloud]'"
# scheme -> the module that implements it (and the package that ships it)
SCHEMES = {
    "s3": ("s3fs", "s3fs"),
    "s3a": ("s3fs", "s3fs"),
    "gs": ("gcsfs", "gcsfs"),
    "gcs": ("gcsfs", "gcsfs"),
    "az": ("adlfs", "adlfs"),
    "abfs": ("adlfs", "adlfs"),
    "abfss": ("adlfs", "adlfs"),
    "hf": ("huggingface_hub", "huggingface_hub"),
    "http": ("aiohttp", "aiohttp"),
    "https": ("aiohttp", "aiohttp"),
}
READ_ONLY = ("http", "https")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB = re.compile(r"[*?\[]")

_options: dict[str, Any] = {}  # --storage-option, set once per command (`set_storage_options`)
_instances: dict[Any, Any] = {}  # the file system in use (`filesystem`)
_ENV_PREFIXES = ("AWS_", "GOOGLE_", "GCS", "AZURE_", "HF_", "FSSPEC_")


def scheme_of(path: str | None) -> str | None:
    """The lower-case scheme of a URL (`s3`), or None for a local path."""
    match = _URL.match(path or "")
    return match.group(1).lower() if match else None


def is_url(path: str | None) -> bool:
    """Whether `path` is a URL of a scheme losscli reads (see SCHEMES)."""
    return scheme_of(path) in SCHEMES


def is_glob(path: str) -> bool:
    return _GLOB.search(path) is not None


def parse_storage_options(items: Any) -> dict[str, Any]:
    """`("endpoint_url=http://x", "anon=true")` -> {"endpoint_url": "http://x", "anon": True}."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = str(item).partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"--storage-option takes KEY=VALUE, got {item!r}",
                fix="Pass e.g. --storage-option endpoint_url=http://127.0.0.1:9000",
            )
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if isinstance(value, (dict, list)) or value is None:
            value = text if value is None else value
        out[key.strip()] = value
    return out


def set_storage_options(options: dict[str, Any]) -> None:
    """The file-system keywords of this command (the CLI sets them before opening files)."""
    _options.clear()
    _options.update(options)


def storage_options() -> dict[str, Any]:
    return dict(_options)


def filesystem(url: str, options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """(fsspec file system, path inside it) for `url`; a missing package is an error that
    names the extra to install."""
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        raise unsupported(url)
    module, package = SCHEMES[scheme]
    import importlib

    try:
        importlib.import_module(module)
        import fsspec
    except ImportError:
        raise InputError(
            f"reading {scheme}:// needs the package {package}, which is not installed",
            fix=f"Install the cloud extra: {CLOUD_INSTALL}",
            source=url,
        ) from None
    keywords = storage_options() if options is None else options
    import os

    # one instance per scheme, options and credentials in the environment: a new S3 client
    # costs ~0.5 s (botocore loads its service model), and a changed AWS_* must be seen
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)))
    token = (scheme, json.dumps(keywords, sort_keys=True, default=str), env)
    with translated(url):
        if token not in _instances:
            _instances.clear()
            _instances[token] = fsspec.core.url_to_fs(url, skip_instance_cache=True, **keywords)[0]
        fs = _instances[token]
        fs.invalidate_cache()  # listings made earlier in this process may be stale
        return fs, fs._strip_protocol(url)


def unsupported(path: str) -> InputError:
    scheme = scheme_of(path)
    return InputError(
        f"remote paths ({scheme}://) are not supported; losscli reads s3://, gs://, az://, "
        "abfs://, hf:// and http(s):// URLs",
        fix="Download it first and pass the local path, or stream it to standard input (-)",
        source=path,
    )


@contextlib.contextmanager
def translated(url: str, doing: str = "read") -> Iterator[None]:
    """A store's exceptions (missing bucket or key, refused credentials, no connection)
    as one InputError naming `url`. Not a catch-all: errors of losscli's own pass through."""
    try:
        yield
    except InputError:
        raise
    except FileNotFoundError as exc:
        raise InputError(
            f"no such object, folder or bucket ({_detail(exc)})",
            fix="Check the bucket and the path",
            source=url,
        ) from None
    except PermissionError as exc:
        raise InputError(
            f"access denied ({_detail(exc)})",
            fix=_credentials_fix(url, doing),
            source=url,
        ) from None
    except ImportError as exc:
        raise InputError(
            f"a package this store needs is missing ({exc})",
            fix=f"Install the cloud extra: {CLOUD_INSTALL}",
            source=url,
        ) from None
    except Exception as exc:
        if not _from_store(exc):
            raise
        raise InputError(
            f"cannot {doing} it ({type(exc).__name__}: {_detail(exc)})",
            fix=_credentials_fix(url, doing)
            if _about_credentials(exc)
            else "Check the URL, the network and --storage-option (e.g. endpoint_url)",
            source=url,
        ) from None


def _detail(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _from_store(exc: BaseException) -> bool:
    """Errors raised by a store's client (botocore, aiohttp, google, azure, huggingface_hub)
    or the operating system: the environment's problem, not a losscli bug."""
    if isinstance(exc, (OSError, TimeoutError, ValueError)):
        return True
    module = type(exc).__module__.split(".")[0]
    return module in (
        "botocore", "aiobotocore", "s3fs", "aiohttp", "google", "gcsfs", "azure", "adlfs",
        "huggingface_hub", "requests", "urllib3", "fsspec",
    )  # fmt: skip


def _about_credentials(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("credential", "signature", "accessdenied", "forbidden", "token"))


def _credentials_fix(url: str, doing: str) -> str:
    scheme = scheme_of(url)
    if scheme in ("s3", "s3a"):
        where = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        public = "; for a public bucket pass --storage-option anon=true" if doing == "read" else ""
    elif scheme in ("gs", "gcs"):
        where, public = (
            "GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login",
            "",
        )
    elif scheme in ("az", "abfs", "abfss"):
        where, public = (
            "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or a SAS token",
            "",
        )
    elif scheme == "hf":
        where, public = "HF_TOKEN (huggingface-cli login)", ""
    else:
        where, public = "the server's credentials (--storage-option headers=...)", ""
    return f"Check the credentials: {where}{public}"


def _url(fs: Any, path: str) -> str:
    """A path inside `fs` as the URL a user would type."""
    return str(fs.unstrip_protocol(path))


def resolve_url(url: str, fmt: str | None, from_extension: Any, choose: Any, sniff: Any) -> Any:
    """The `Source` of a URL: one object, or a folder or glob of Parquet or CSV objects
    (one table in name order, Hive partition folders `key=value/` walked); the format rules
    are `_source`'s, passed in."""
    from losscli.readers._source import Source

    fs, path = filesystem(url)
    with translated(url):
        if is_glob(path) and not fs.exists(path):  # a key may hold [, ?, * itself
            files = sorted(p for p in fs.glob(path) if fs.isfile(p))
            if not files:
                raise InputError(
                    "the pattern matches no object", fix="Check the pattern", source=url
                )
            root = path[: _GLOB.search(path).start()].rpartition("/")[0]  # type: ignore[union-attr]
            return _dataset(url, fs, root, [_url(fs, f) for f in files], fmt, from_extension)
        info = fs.info(path)
        if info.get("type") == "directory":
            files = _dataset_files(fs, path)
            if not files:
                raise InputError("the folder holds no object", fix="Check the path", source=url)
            return _dataset(url, fs, path, [_url(fs, f) for f in files], fmt, from_extension)
        with fs.open(path, "rb") as fh:
            head = fh.read(8)
    if not head:
        raise InputError("file is empty", source=url)
    ext_fmt, ext_comp = from_extension(path)
    magic_fmt, magic_comp = sniff(head)
    chosen = choose(url, fmt, ext_fmt, magic_fmt, magic_comp)
    if chosen is None:
        raise InputError(
            "cannot tell the format from the name or the first bytes",
            fix="Pass --input-format csv, tsv, parquet, feather, npy or npz",
            source=url,
        )
    if chosen == "csv" and ext_fmt == "tsv" and fmt is None:
        chosen = "tsv"
    compression = magic_comp if magic_fmt else (ext_comp if chosen in ("csv", "tsv") else None)
    if chosen in ("csv", "tsv", "parquet"):
        return Source(name=url, format=chosen, path=url, compression=compression, fs=fs)
    with translated(url):  # Feather, NPY, NPZ: read whole into memory, as from a pipe
        data = fs.cat_file(path)
    return Source(name=url, format=chosen, data=data, fs=fs)


def _dataset_files(fs: Any, root: str) -> list[str]:
    """The objects of a dataset folder: its files and those of its Hive partition folders
    (``key=value``), in name order; hidden and `_` names (_SUCCESS, .crc) are left out,
    and an object in any other folder is an error (its rows would be left out)."""
    from losscli.readers._source import not_a_partition

    out = []
    for path in sorted(fs.find(root)):
        parts = path[len(root) :].strip("/").split("/")
        if any(p.startswith((".", "_")) for p in parts):
            continue
        plain = [i for i, p in enumerate(parts[:-1]) if "=" not in p]
        if plain:
            raise not_a_partition(_url(fs, "/".join([root.rstrip("/"), *parts[: plain[0] + 1]])))
        out.append(path)
    return out


def _dataset(url: str, fs: Any, root: str, files: list[str], fmt: str | None, from_extension: Any):  # type: ignore[no-untyped-def]
    """A dataset Source: every file must be of one format, Parquet or CSV/TSV."""
    from losscli.readers._source import Source

    return Source(
        name=url,
        format=dataset_format(url, files, fmt, from_extension),
        path=_url(fs, root),
        files=files,
        fs=fs,
    )


def dataset_format(name: str, files: list[str], fmt: str | None, from_extension: Any) -> str:
    """The one format of a dataset's files (by extension, or --input-format)."""
    found = {fmt} if fmt is not None else {from_extension(f)[0] for f in files}
    if len(found) == 1 and next(iter(found)) in ("parquet", "csv", "tsv"):
        return next(iter(found))  # type: ignore[no-any-return]
    kinds = ", ".join(sorted(str(k) for k in found))
    raise InputError(
        f"a folder or pattern is read as one table of Parquet or CSV/TSV files; it holds {kinds}",
        fix="Point at files of one format (e.g. a pattern such as 'preds/*.parquet'), "
        "or pass --input-format",
        source=name,
    )


def open_binary(fs: Any, url: str, details: dict[str, Any] | None = None) -> Any:
    """A seekable binary file object of one object (pyarrow reads Parquet by ranges);
    `details`, the object's listing entry when the caller has it (a Dask worker, from the
    client), spares the store a request for its size and ETag."""
    with translated(url):
        if details is not None and "size" in details:
            try:
                handle = fs.open(url, "rb", size=details["size"])
            except TypeError:  # a file system whose open takes no size
                return fs.open(url, "rb")
            if isinstance(getattr(type(handle), "details", None), property):
                handle.details = details  # fsspec's buffered files: what they would ask for
            return handle
        return fs.open(url, "rb")


def size(fs: Any, url: str) -> int:
    with translated(url):
        return int(fs.size(url))


def read_bytes(url: str) -> bytes:
    """A whole object (a settings file, a baseline report)."""
    fs, path = filesystem(url)
    with translated(url):
        return fs.cat_file(path)  # type: ignore[no-any-return]


def check_writable(url: str, flag: str) -> None:
    """Before any work: the scheme can be written, its package is installed, the URL names
    an object (not a folder: an object `out` beside the objects `out/...` would hide them
    from a later read of `out/`), and the bucket exists (a missing one would otherwise be
    found by the write, after the whole computation). The "folder" an object goes in need
    not exist: object stores have none. Credentials that may write but not look skip the
    checks: the write then says whether it is refused."""
    scheme = scheme_of(url)
    if scheme in READ_ONLY:
        raise InputError(
            f"{flag} {url}: {scheme}:// is read only",
            fix="Write to a file, s3://, gs://, az:// or hf://",
        )
    fs, path = filesystem(url)
    name = url.split("://", 1)[1].rstrip("/")
    example = f"{scheme}://{name}/{'junit.xml' if flag == '--junit' else 'report.json'}"
    if url.endswith("/") or "/" not in path.strip("/"):
        raise InputError(
            f"{flag} {url} names a folder or a bucket, not an object",
            fix=f"Name an object, e.g. {example}",
        )
    with translated(url, "write"):
        try:
            if scheme != "hf":  # a Hub path's first part is not its repository
                _check_bucket(fs, path.split("/", 1)[0], url, flag)
            kind = fs.info(path).get("type")
        except FileNotFoundError:
            return  # a new object
        except PermissionError:
            # credentials that may write but not list (no s3:ListBucket, as CI uploaders
            # often have): nothing to check here; the write itself says if it is refused
            return
    if kind == "directory":
        raise InputError(
            f"{flag} {url} is a folder of objects; writing it would hide them",
            fix=f"Name an object, e.g. {example}",
        )


def _check_bucket(fs: Any, bucket: str, url: str, flag: str) -> None:
    """The bucket (container) of `url` exists: one request when it does. `fs.exists` says
    False for a bucket it may not see as well, so `fs.info` then tells a missing bucket
    from refused credentials (a PermissionError, for `check_writable` to let pass)."""
    if fs.exists(bucket):
        return
    try:
        fs.info(bucket)
    except FileNotFoundError:
        raise InputError(
            f"{flag} {url}: no such bucket {bucket!r}", fix="Create it first or check the name"
        ) from None


def object_id(url: str) -> str:
    """The store object a URL names, the same string for every spelling of it: one scheme
    per store (s3a is s3, gcs is gs, abfs and abfss are az), the path the store's fsspec
    file system resolves (an Azure account host dropped), no repeated or trailing `/`."""
    scheme = scheme_of(url) or ""
    family = {"s3a": "s3", "gcs": "gs", "abfs": "az", "abfss": "az", "https": "http"}
    path = url.split("://", 1)[1]
    if scheme not in READ_ONLY:
        try:
            import fsspec

            path = fsspec.get_filesystem_class(scheme)._strip_protocol(url)
        except (ImportError, ValueError):
            pass  # no package: check_writable or the read says so
    return f"{family.get(scheme, scheme)}://{re.sub('/+', '/', path).strip('/')}"


def write_bytes(url: str, data: bytes) -> None:
    """The whole object in one request (see the module docstring)."""
    fs, path = filesystem(url)
    with translated(url, "write"):
        fs.pipe_file(path, data)
