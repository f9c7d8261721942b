"""Ingest supervisor: claims streams and runs one RTMS connection per stream (implemented next)."""

from __future__ import annotations

import asyncio
import os
import socket


def default_worker_id(prefix: str) -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}"


async def supervise(*, worker_id: str) -> None:
    await asyncio.Event().wait()
