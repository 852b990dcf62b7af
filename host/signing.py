"""The camera's identity: an Ed25519 key made once at installation, its private half only on the camera.

Every record is signed over its whole content (header and ciphertext), so anyone holding the camera's
registered public key (an auditor, a court's expert) can check who made it, without any secret.

    python -m host.signing keygen --out /etc/facevault    # camera.key (mode 0600) + camera.pub
"""

from __future__ import annotations

import argparse
import hashlib
import stat
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from host.atomic import write_atomic
from host.errors import VaultError

KEY_FILE = "camera.key"
PUBLIC_FILE = "camera.pub"
SIGNATURE_BYTES = 64


def key_id(public_key: X25519PublicKey | Ed25519PublicKey) -> str:
    """Short fingerprint of a public key (first 16 hex digits of SHA-256 of its raw bytes)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate(folder: Path) -> tuple[Path, Path]:
    """A new camera key: `folder`/camera.key (private, 0600) and camera.pub (give it to the authority)."""
    folder = Path(folder)
    key_path, public_path = folder / KEY_FILE, folder / PUBLIC_FILE
    if key_path.exists():
        raise VaultError(f"a camera key is never overwritten (a new key is a new identity): {key_path} exists")
    folder.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    write_atomic(key_path, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    write_atomic(public_path, public_pem(private.public_key()))
    public_path.chmod(0o644)
    return key_path, public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The camera's signing key; refused if missing, readable by group or others, or not Ed25519."""
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        raise VaultError(f"camera key {path} not found (python -m host.signing keygen makes one)") from None
    if mode & 0o077:
        raise VaultError(f"the camera key must be readable by its owner only (chmod 600 {path}), "
                         f"not mode {stat.S_IMODE(mode):04o}")
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise VaultError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError(f"a camera key is Ed25519, not {type(key).__name__} ({path})")
    return key


def load_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    """A camera's public key from PEM bytes (camera.pub)."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise VaultError(f"{where} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VaultError(f"a camera key is Ed25519, not {type(key).__name__} ({where})")
    return key


def ed25519_key(raw: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its 32 raw bytes."""
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise VaultError(f"{where}: not an Ed25519 public key: {exc}") from None


def check(public_key: Ed25519PublicKey, signature: bytes, data: bytes, where: str) -> None:
    """Raise `VaultError` unless `signature` is `public_key`'s signature of `data`."""
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise VaultError(f"{where}: bad signature (altered after signing, or forged)") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host.signing", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keygen", help="make this camera's signing key (once, at installation)")
    p.add_argument("--out", type=Path, required=True, help="folder for camera.key (0600) and camera.pub")
    args = ap.parse_args(argv)
    try:
        key_path, public_path = generate(args.out)
    except VaultError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"camera key: {key_path} (stays on this camera); public key for the authority: {public_path}")
    print(f"fingerprint {key_id(load_private_key(key_path).public_key())}: register it with "
          f"python -m authority register --registry REGISTRY --camera-id NAME {public_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
