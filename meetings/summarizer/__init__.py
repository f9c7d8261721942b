"""Meeting summaries with decisions and action items.

Pure cores (no Django): :mod:`.offline` (extractive, the default), :mod:`.llm` (any
OpenAI-compatible server), :mod:`.text`, :mod:`.dates`, :mod:`.types`, :mod:`.errors`.
The Django side is :mod:`.service` (``summary_generate``, ``summary_regenerate``,
``summary_running_request_if_due``). Docs: docs/summaries.md.
"""
