"""Publishing audiences back to the tools: configuration, the diff plan, and one delivery per tool.

Everything here is plain functions over frames, files and HTTP, without the hub's database: the hub
(``hub.publish``) reads what it wants and what it last delivered, asks ``plan`` for the difference,
writes that plan down before anything is sent, and marks each item as the tool confirms it.
"""
