"""An S3 server for the tests: moto's server mode on a free port, spoken to over HTTP.

No real S3 (or MinIO) can run here; moto implements the S3 HTTP API well enough that
boto3 talks to it exactly as to the real thing.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import boto3

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "memberflow-test",
    "AWS_SECRET_ACCESS_KEY": "memberflow-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class ObjectStore:
    endpoint_url: str
    bucket: str

    def client(self):
        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=self.endpoint_url)

    def keys(self) -> list[str]:
        reply = self.client().list_objects_v2(Bucket=self.bucket)
        return sorted(o["Key"] for o in reply.get("Contents", []))


@contextmanager
def object_store(monkeypatch, bucket: str = "memberflow-files"):
    """moto's S3 server in a thread, a fresh bucket, and the credentials in the environment."""
    from moto.server import ThreadedMotoServer

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    store = ObjectStore(f"http://{host}:{port}", bucket)
    store.client().create_bucket(Bucket=bucket)
    try:
        yield store
    finally:
        server.stop()
