"""Zoom RTMS client: asyncio, framework-free. Imports nothing from Django or our apps."""
