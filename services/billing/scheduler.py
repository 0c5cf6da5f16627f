"""The scheduler task run in the app's lifespan: queries WeChat Pay about orders that no
notify settled (billing was down, the notify got lost), and closes the expired ones."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.billing import payments
from services.common.periodic import periodic_hook


async def tick(app: FastAPI) -> int:
    """One pass; each order in its own unit of work, so one failure stops nothing else."""
    settings = app.state.settings
    now = app.state.clock.now()
    async with app.state.sessionmaker() as session:
        waiting = [p.id for p in await payments.waiting_orders(session, now - timedelta(seconds=settings.query_after_seconds))]
    settled = 0
    for payment_id in waiting:
        async with app.state.sessionmaker() as session:
            payment = await session.get(payments.Payment, payment_id)
            if payment is None:
                continue
            try:
                await payments.refresh(session, app.state.wechatpay, payment, now)
            except Exception:  # a refund WeChat Pay refused now is tried on the next pass
                await session.rollback()
                continue
            await session.commit()
            settled += payment.status != "created"
    return settled


start_scheduler = periodic_hook("billing-scheduler", tick, first_pass_at_start=False)
