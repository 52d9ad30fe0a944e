"""Certificates and keys for a throwaway control plane: one CA, the API server's
serving certificate, client certificates per user, and the service-account key pair.

Everything is generated in memory with ``cryptography`` and written as PEM files into a
directory the caller owns; nothing here is meant to outlive a test session.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ClientCredentials", "Pki", "generate_pki"]

_VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class ClientCredentials:
    """PEM files that authenticate one user (``CN`` = user, ``O`` = groups)."""

    user: str
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Pki:
    """The PEM files of a control plane, all under one directory.

    Attributes:
        ca_file: the CA that signs every certificate and that clients trust.
        serving_cert_file / serving_key_file: kube-apiserver's serving pair (127.0.0.1, localhost).
        admin: a ``system:masters`` client, the tests' own identity.
        scheduler: the ``system:kube-scheduler`` client, bound by the built-in RBAC roles.
        service_account_key_file / service_account_public_key_file: the token signing pair.
    """

    ca_file: Path
    serving_cert_file: Path
    serving_key_file: Path
    admin: ClientCredentials
    scheduler: ClientCredentials
    service_account_key_file: Path
    service_account_public_key_file: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organisations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organisations]
    return x509.Name(attributes)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey):
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def generate_pki(directory: Path) -> Pki:
    """Generate every certificate and key into ``directory`` (created if missing).

    Returns the paths as a :class:`Pki`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_name = _name("binforge-e2e-ca")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    def issue(
        stem: str, subject: x509.Name, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]
    ) -> tuple[Path, Path]:
        key = _new_key()
        builder = _builder(subject, ca_name, key).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return (
            _write(directory / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM)),
            _write(directory / f"{stem}.key", _key_pem(key)),
        )

    serving_cert, serving_key = issue(
        "apiserver",
        _name("kube-apiserver"),
        ExtendedKeyUsageOID.SERVER_AUTH,
        [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes.default.svc"),
        ],
    )
    admin_cert, admin_key = issue(
        "admin", _name("binforge-admin", ("system:masters",)), ExtendedKeyUsageOID.CLIENT_AUTH, []
    )
    scheduler_cert, scheduler_key = issue(
        "scheduler", _name("system:kube-scheduler"), ExtendedKeyUsageOID.CLIENT_AUTH, []
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Pki(
        ca_file=_write(directory / "ca.crt", ca_cert.public_bytes(serialization.Encoding.PEM)),
        serving_cert_file=serving_cert,
        serving_key_file=serving_key,
        admin=ClientCredentials("binforge-admin", admin_cert, admin_key),
        scheduler=ClientCredentials("system:kube-scheduler", scheduler_cert, scheduler_key),
        service_account_key_file=_write(directory / "sa.key", _key_pem(sa_key)),
        service_account_public_key_file=_write(directory / "sa.pub", sa_public),
    )
