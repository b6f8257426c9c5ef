"""Webhook delivery log and a claim that is safe with several worker processes."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ekyc.store.errors import NotFound
from ekyc.store.models import DeliveryStatus, WebhookDelivery, new_id

#: how long a claimed delivery is reserved for its worker before others may retry it
DEFAULT_LEASE = dt.timedelta(seconds=60)


class Webhooks:
    """Enqueue, claim and settle webhook deliveries."""

    def __init__(self, s: Session, rng: Callable[[int], bytes] = os.urandom) -> None:
        self.s = s
        self.rng = rng

    def enqueue(
        self, session_id: str, url: str, event: str, body: str, now: dt.datetime
    ) -> WebhookDelivery:
        """A pending delivery, due now."""
        row = WebhookDelivery(
            id=new_id(self.rng),
            session_id=session_id,
            url=url,
            event=event,
            body=body,
            attempts=0,
            next_attempt_at=now,
            status=DeliveryStatus.PENDING.value,
            last_status=None,
            last_error=None,
            created_at=now,
            updated_at=now,
        )
        self.s.add(row)
        self.s.flush()
        return row

    def claim_due(
        self, now: dt.datetime, limit: int = 20, lease: dt.timedelta = DEFAULT_LEASE
    ) -> list[WebhookDelivery]:
        """Reserve up to ``limit`` due deliveries for this worker and count the attempt.

        Commit right after: the reservation is the moved ``next_attempt_at`` (a lease), so a
        worker that dies mid-delivery only delays the retry. PostgreSQL skips rows another
        worker is claiming (FOR UPDATE SKIP LOCKED); SQLite runs the claim as the single writer.
        """
        q = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list(self.s.scalars(q.execution_options(populate_existing=True)))
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + lease
            row.updated_at = now
        self.s.flush()
        return rows

    def mark_delivered(self, delivery_id: str, status: int, now: dt.datetime) -> WebhookDelivery:
        """Record a successful delivery."""
        row = self._get(delivery_id)
        row.status = DeliveryStatus.DELIVERED.value
        row.last_status, row.last_error, row.updated_at = status, None, now
        self.s.flush()
        return row

    def mark_attempt_failed(
        self,
        delivery_id: str,
        now: dt.datetime,
        retry_at: dt.datetime | None,
        status: int | None = None,
        error: str | None = None,
    ) -> WebhookDelivery:
        """Record a failed attempt; retried at ``retry_at``, or given up when it is None."""
        row = self._get(delivery_id)
        row.last_status, row.last_error, row.updated_at = status, error, now
        if retry_at is None:
            row.status = DeliveryStatus.FAILED.value
        else:
            row.next_attempt_at = retry_at
        self.s.flush()
        return row

    def for_session(self, session_id: str) -> list[WebhookDelivery]:
        """The delivery log of a session, oldest first."""
        q = select(WebhookDelivery).where(WebhookDelivery.session_id == session_id)
        return list(self.s.scalars(q.order_by(WebhookDelivery.created_at, WebhookDelivery.id)))

    def _get(self, delivery_id: str) -> WebhookDelivery:
        row = self.s.get(WebhookDelivery, delivery_id)
        if row is None:
            raise NotFound("webhook_deliveries", delivery_id)
        return row
