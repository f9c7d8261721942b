"""Writes of the meeting domain, one module per entity: ``meetings``, ``participants``,
``transcript``, ``chat``, ``bookmarks``, ``action_items``, ``sharing``, ``summaries``,
``recordings``, ``lifecycle``. Callers import the entity module (``from meetings.services
import transcript``) or its functions; nothing is re-exported here."""
