"""Thin Celery wrappers for sealing and retention (the work lives in audit/sealing.py etc.)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def seal_audit_task() -> dict[str, int]:
    """Idempotent: a repeated or concurrent run finds nothing left to seal."""
    from audit.sealing import seal_all

    return seal_all()


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def purge_audit_task() -> dict[str, int]:
    """Idempotent: a second run finds no sealed block older than the cutoff."""
    from audit.retention import purge_expired

    return purge_expired()
