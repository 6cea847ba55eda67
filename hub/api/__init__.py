"""The hub's HTTP API: golden customers, consent, any table a role may read, data-subject requests, the audit
log, segments and audiences for the tools that pull them. ``app.create_app`` assembles one router per area
(``customers``, ``tables``, ``dsr``, ``audit``, ``audiences``) around
what they share (``context``): who the client is, why it reads, and the audited read through the role's views.
"""
