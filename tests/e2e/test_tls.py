"""TLS with real certificates (trustme): the daemon serves --tls-cert/--tls-key, the CLI and
workers trust --tls-ca (HODEI_TLS_CA), and with --tls-client-ca worker streams must present
a client certificate while the CLI needs none."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.metrics import scrape
from tests.support.processes import Cluster, free_port
from tests.support.proxy import Proxy

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS = 0x1


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


def frame_types(sent: bytes) -> list[int]:
    """The types of the HTTP/2 frames after the client preface in ``sent``."""
    assert sent.startswith(H2_PREFACE), sent[:40]
    types, at = [], len(H2_PREFACE)
    while at + 9 <= len(sent):
        types.append(sent[at + 3])
        at += 9 + int.from_bytes(sent[at : at + 3], "big")
    return types


def wait_for(path: Path, text: str, c: Cluster) -> None:
    deadline = time.monotonic() + 30
    while text not in path.read_text():
        assert time.monotonic() < deadline, c.logs()
        time.sleep(0.2)


def test_a_plaintext_client_sends_no_token_to_a_tls_daemon_and_is_told_why(
    tls_cluster: Cluster, pems: dict[str, Path]
) -> None:
    metrics = free_port()
    tls_cluster.start_daemon(
        "--tls-cert",
        str(pems["cert"]),
        "--tls-key",
        str(pems["key"]),
        "--metrics-listen",
        f"127.0.0.1:{metrics}",
    )
    tls_cluster.extra_env.clear()
    proxy = Proxy(tls_cluster.port, record=True)
    try:
        result = tls_cluster.hodei("--addr", proxy.addr, "job", "list")
    finally:
        proxy.close()
    assert result.returncode == 125
    assert b"closed the connection without answering in plaintext HTTP/2: it serves TLS" in result.stderr
    assert b"pass --tls-ca/HODEI_TLS_CA" in result.stderr
    # What went on the wire: the preface and settings, never a HEADERS frame (which carries
    # the authorization metadata), and not the token in any form.
    assert HEADERS not in frame_types(bytes(proxy.sent)), bytes(proxy.sent)
    assert tls_cluster.admin_token().partition(".")[2].encode() not in proxy.sent
    log = tls_cluster.log_dir / "hodeid.log"
    wait_for(log, "TLS handshake with 127.0.0.1:", tls_cluster)
    assert "the client spoke plaintext; start it with --tls-ca" in log.read_text()
    assert scrape(metrics)[("hodei_tls_handshake_failures_total", ())] >= 1


def test_an_untrusted_certificate_is_refused(tls_cluster: Cluster, pems: dict[str, Path]) -> None:
    tls_cluster.start_daemon("--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"]))
    other = tls_cluster.log_dir / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    result = tls_cluster.hodei("--tls-ca", str(other), "job", "list")
    assert result.returncode == 125
    assert b"presented a certificate this client does not trust" in result.stderr, result.stderr
    assert b"pass --tls-ca/HODEI_TLS_CA the CA that signed it" in result.stderr
    log = tls_cluster.log_dir / "hodeid.log"
    wait_for(log, "TLS handshake with 127.0.0.1:", tls_cluster)
    assert "the client refused this daemon's certificate" in log.read_text()


def test_a_tls_client_of_a_plaintext_daemon_is_told_to_drop_tls(
    tls_cluster: Cluster, pems: dict[str, Path]
) -> None:
    tls_cluster.start_daemon()
    result = tls_cluster.hodei("job", "list")
    assert result.returncode == 125
    assert b"drop --tls-ca/HODEI_TLS_CA" in result.stderr, result.stderr


@pytest.mark.parametrize("trust", ["none", "other"])
def test_a_worker_that_cannot_shake_hands_says_why(
    tls_cluster: Cluster, pems: dict[str, Path], trust: str
) -> None:
    tls_cluster.start_daemon("--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"]))
    tls_cluster.extra_env.clear()
    if trust == "other":
        other = tls_cluster.log_dir / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        tls_cluster.start_worker("--tls-ca", str(other))
        said = "presented a certificate this client does not trust"
    else:
        tls_cluster.start_worker()
        said = "it serves TLS; pass --tls-ca/HODEI_TLS_CA"
    wait_for(tls_cluster.log_dir / "worker-0.log", said, tls_cluster)
    wait_for(tls_cluster.log_dir / "hodeid.log", "TLS handshake with 127.0.0.1:", tls_cluster)


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
