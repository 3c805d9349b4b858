"""One TLS context per trust setting (rdeploy_tui/tls.py): shared while the bundle is the same file, rebuilt when
the file is rewritten (a new sandbox CA at the same path), and it trusts what the bundle holds."""

from __future__ import annotations

import os

import trustme

from rdeploy_tui.tls import tls_context


def _subjects(context) -> set[str]:
    return {str(cert["subject"]) for cert in context.get_ca_certs()}


def test_the_same_bundle_shares_one_context_and_a_rewritten_bundle_gets_a_new_one(tmp_path):
    bundle = tmp_path / "ca.pem"
    first_ca, second_ca = trustme.CA(), trustme.CA()
    first_ca.cert_pem.write_to_path(str(bundle))
    first = tls_context(str(bundle))
    assert tls_context(str(bundle)) is first
    assert len(first.get_ca_certs()) == 1

    second_ca.cert_pem.write_to_path(str(bundle))
    stat = bundle.stat()
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # same size, same second: still seen
    second = tls_context(str(bundle))
    assert second is not first
    assert _subjects(second) != _subjects(first)


def test_verify_true_is_shared_and_verifies(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = tls_context(True)
    assert tls_context(True) is context
    assert context.check_hostname and context.get_ca_certs()


def test_ssl_cert_file_is_honoured_as_httpx_honours_it(monkeypatch, tmp_path):
    bundle = tmp_path / "corporate.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert len(tls_context(True).get_ca_certs()) == 1
