"""Every client shares one trust store while its sources are unchanged: loading the system's CA
store costs a few hundred milliseconds of CPU, and each run and status read makes a client."""

from __future__ import annotations

import os
import shutil
import ssl

from floyo_pack.floyo_client.transport import tls_context

SYSTEM_CA = ssl.get_default_verify_paths().cafile


def test_clients_share_one_trust_store_until_the_ca_bundle_is_replaced(tmp_path):
    bundle = tmp_path / "ca.pem"
    shutil.copy(SYSTEM_CA, bundle)
    first = tls_context(str(bundle))
    assert tls_context(str(bundle)) is first
    assert tls_context(None) is tls_context(None) is not first

    bundle.write_text(bundle.read_text() + "\n")  # a replaced bundle (new size) is loaded again
    os.utime(bundle, ns=(1, 1))
    replaced = tls_context(str(bundle))
    assert replaced is not first and replaced.verify_mode == ssl.CERT_REQUIRED and replaced.check_hostname


def test_a_changed_ssl_cert_file_is_honoured_by_the_next_client(tmp_path, monkeypatch):
    before = tls_context(None)
    monkeypatch.setenv("SSL_CERT_FILE", str(shutil.copy(SYSTEM_CA, tmp_path / "system.pem")))
    assert tls_context(None) is not before
