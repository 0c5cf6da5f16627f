"""The outbox dispatcher as its own process: `python -m services.common.events --service NAME`
(then set `<SVC>_EVENTS_DISPATCHER_ENABLED=false` for the app)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
from collections.abc import Sequence

from services.common.events.dispatcher import Dispatcher

log = logging.getLogger("events.dispatcher")


async def run_process(service: str) -> None:
    """The dispatcher as its own process, for one service's database."""
    from services.common.db import create_engine, create_sessionmaker
    from services.common.http import create_http_client
    from services.common.logs import configure_logging

    settings = importlib.import_module(f"services.{service}.settings").Settings()
    configure_logging(f"{service}-dispatcher", settings.log_level)
    engine = create_engine(settings.database_url)
    http = create_http_client(settings.event_delivery_timeout_seconds)
    dispatcher = Dispatcher.from_settings(settings, create_sessionmaker(engine), http)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    dispatcher.start()
    log.info("dispatcher started", extra={"subscribers": list(dispatcher.subscriptions)})
    try:
        await done.wait()
    finally:
        await dispatcher.stop()
        await http.aclose()
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a service's outbox dispatcher.")
    parser.add_argument("--service", required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio otherwise
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(run_process(args.service))


if __name__ == "__main__":
    main()
