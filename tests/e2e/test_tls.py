"""TLS with real certificates (trustme): the daemon serves --tls-cert/--tls-key, the CLI and
workers trust --tls-ca (HODEI_TLS_CA), and with --tls-client-ca worker streams must present
a client certificate while the CLI needs none."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.processes import Cluster


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def pems(ca: trustme.CA, tmp_path: Path) -> dict[str, Path]:
    """The CA, the daemon's certificate for 127.0.0.1, and a worker's client certificate."""
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key", "wcert", "wkey")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    server.private_key_pem.write_to_path(str(paths["key"]))
    worker = ca.issue_cert("worker-1.example")
    worker.cert_chain_pems[0].write_to_path(str(paths["wcert"]))
    worker.private_key_pem.write_to_path(str(paths["wkey"]))
    return paths


@pytest.fixture
def tls_cluster(database_url: str, tmp_path: Path, pems: dict[str, Path]) -> Iterator[Cluster]:
    c = Cluster(database_url, tmp_path, extra_env={"HODEI_TLS_CA": str(pems["ca"])})
    try:
        yield c
    finally:
        c.close()


def test_cli_and_worker_over_tls(tls_cluster: Cluster, pems: dict[str, Path]) -> None:
    tls_cluster.start_daemon("--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"]))
    tls_cluster.start_worker()
    result = tls_cluster.hodei("job", "run", "--", "echo", "over tls")
    assert (result.stdout, result.returncode) == (b"over tls\n", 0), result.stderr
    assert "(TLS)" in tls_cluster.logs()


def test_a_plaintext_client_cannot_talk_to_a_tls_daemon(tls_cluster: Cluster, pems: dict[str, Path]) -> None:
    tls_cluster.start_daemon("--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"]))
    tls_cluster.extra_env.clear()
    result = tls_cluster.hodei("job", "list")
    assert result.returncode == 125
    assert b"cannot reach hodeid" in result.stderr


def test_an_untrusted_certificate_is_refused(tls_cluster: Cluster, pems: dict[str, Path]) -> None:
    tls_cluster.start_daemon("--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"]))
    other = tls_cluster.log_dir / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    result = tls_cluster.hodei("--tls-ca", str(other), "job", "list")
    assert result.returncode == 125
    assert b"certificate verify failed" in result.stderr, result.stderr


def test_worker_streams_need_a_client_certificate(tls_cluster: Cluster, pems: dict[str, Path]) -> None:
    tls_cluster.start_daemon(
        "--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"]), "--tls-client-ca", str(pems["ca"])
    )
    tls_cluster.start_worker("--id", "no-cert")
    deadline = time.monotonic() + 30
    while "client certificate" not in (tls_cluster.log_dir / "worker-0.log").read_text():
        assert time.monotonic() < deadline, tls_cluster.logs()
        time.sleep(0.2)
    # The CLI needs no certificate of its own.
    assert tls_cluster.hodei("job", "list").returncode == 0
    tls_cluster.start_worker(
        "--id", "with-cert", "--tls-cert", str(pems["wcert"]), "--tls-key", str(pems["wkey"])
    )
    result = tls_cluster.hodei("job", "run", "--", "echo", "mutual")
    assert (result.stdout, result.returncode) == (b"mutual\n", 0), result.stderr


def test_the_local_provider_connects_its_workers_over_tls(
    tls_cluster: Cluster, pems: dict[str, Path]
) -> None:
    tls_cluster.local_provider = True
    tls_cluster.start_daemon(
        "--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"]), "--tls-client-ca", str(pems["ca"]),
        env={
            "HODEI_LOCAL_PROVIDER__TLS_CA": str(pems["ca"]),
            "HODEI_LOCAL_PROVIDER__TLS_CERT": str(pems["wcert"]),
            "HODEI_LOCAL_PROVIDER__TLS_KEY": str(pems["wkey"]),
        },
    )  # fmt: skip
    result = tls_cluster.hodei("job", "run", "--", "echo", "local over tls")
    assert (result.stdout, result.returncode) == (b"local over tls\n", 0), result.stderr
