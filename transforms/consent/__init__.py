"""Consent: the ledger of consent events read from the systems, and the state derived from it.

The vocabulary is fixed here so that the ledger, the state, the command line and the exports
agree on it: five purposes and four actions.
"""

PURPOSES = ("email_marketing", "sms_marketing", "direct_mail", "profiling", "ad_targeting")

GRANT = "grant"
WITHDRAW = "withdraw"
BAN = "ban"  # the customer forbade direct marketing (the ERP's marketing ban)
OBJECTION = "objection"  # Art. 21 objection to direct marketing, made through a data-subject request
ACTIONS = (GRANT, WITHDRAW, BAN, OBJECTION)

# Everything the hub's purposes cover is direct marketing or profiling for it (Art. 21(2)-(3)).
DIRECT_MARKETING = PURPOSES
