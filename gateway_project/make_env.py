"""Print a .env for the local demo with fresh secrets (`make run` writes it once)."""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet


def main() -> None:
    print("# Local demo settings written by `make run`; see .env.example for every option.")
    print("DEBUG=true")
    print("SECURE_HTTPS=false")
    print(f"SECRET_KEY={secrets.token_urlsafe(48)}")
    print(f"GATEWAY_KEY_PEPPER={secrets.token_urlsafe(32)}")
    print(f"GATEWAY_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
    print(f"GATEWAY_AUDIT_KEY={secrets.token_urlsafe(32)}")


if __name__ == "__main__":
    main()
