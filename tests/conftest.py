"""Fixtures shared by every test folder: a real S3-compatible server (SPEC §10).

`s3_server` starts moto's server mode on 127.0.0.1 at a free port, once per test session
(each pytest-xdist worker has its own), and stops it when the session ends. Requests must
be signed with the access key the fixture creates: moto checks credentials once
`/moto-api/reset-auth` is set to 0, so wrong credentials are refused as AWS refuses them.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

import pytest


@dataclass
class S3Server:
    endpoint: str
    key: str
    secret: str

    def env(self, **changes: str) -> dict[str, str]:
        """The AWS environment a user of this server would have (credentials, endpoint)."""
        return {
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            **changes,
        }

    def fs(self):  # type: ignore[no-untyped-def]
        """An s3fs file system on the server, for putting test objects and reading reports."""
        import s3fs

        return s3fs.S3FileSystem(
            endpoint_url=self.endpoint, key=self.key, secret=self.secret, skip_instance_cache=True
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server():
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup",
        )  # fmt: skip
        iam.create_user(UserName="losscli")
        iam.put_user_policy(
            UserName="losscli",
            PolicyName="s3",
            PolicyDocument='{"Version": "2012-10-17", "Statement": '
            '[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}',
        )
        made = iam.create_access_key(UserName="losscli")["AccessKey"]
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield S3Server(endpoint, made["AccessKeyId"], made["SecretAccessKey"])
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dask_client():
    """A client of a real LocalCluster of two worker processes (every state crosses a
    pickle boundary), shared by the Dask tests (one xdist group, "dask") and closed when the
    session ends. A task whose worker dies fails at once (allowed-failures 0), as the tests
    of a dying worker need; the nanny starts a new worker process in its place."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"
        )
    with Client(cluster) as c:
        yield c
    cluster.close()
