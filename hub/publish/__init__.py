"""Publishing audiences back to the tools, from the hub's own record of what each tool was last sent.

``service.publish`` is the entry point: it plans every destination of the publishing configuration
(``config``), writes the plan to the database before anything is sent (``store``), delivers it with
``exports.publishing``, and marks each item as its tool confirms it. A run stopped half-way is
finished by the next one: whatever no tool confirmed is still a difference from the recorded state.
"""
