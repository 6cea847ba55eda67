"""Data-subject requests (GDPR Articles 15-21) across every copy the hub holds and every tool it fed."""
