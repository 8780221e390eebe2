"""A throwaway certificate authority for the local server's HTTPS origins (tests and demos only).

Made with ``trustme`` when a server starts with ``tls=True``: one CA, one server certificate for
the loopback host (plus ``localhost``/``127.0.0.1``), and the CA's PEM written to a private temp
file that clients trust (``FLOYO_CA_BUNDLE``). Never touches the system trust store.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any


@dataclass
class TestCA:
    """The CA (``ca_file``: its PEM path) and the server certificate it issued."""

    __test__ = False  # not a pytest test class despite the name

    ca: Any
    cert: Any
    folder: str

    @classmethod
    def create(cls, host: str) -> TestCA:
        """A fresh CA and a certificate for ``host``. Raises RuntimeError without ``trustme``."""
        try:
            import trustme
        except ImportError as exc:
            raise RuntimeError("HTTPS for the local Floyo server needs the trustme package: "
                               "pip install trustme") from exc
        ca = trustme.CA(organization_name="Floyo local test CA")
        names = list(dict.fromkeys([host, "127.0.0.1", "localhost"]))
        folder = tempfile.mkdtemp(prefix="floyo-ca-")
        os.chmod(folder, 0o700)
        made = cls(ca=ca, cert=ca.issue_cert(*names), folder=folder)
        ca.cert_pem.write_to_path(made.ca_file)
        return made

    @property
    def ca_file(self) -> str:
        return os.path.join(self.folder, "floyo-test-ca.pem")

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting the issued certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only (for tests)."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
