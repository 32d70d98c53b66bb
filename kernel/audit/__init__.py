"""The tamper-evident audit trail: hash-chained, append-only rows of who changed what.

Services call ``record_change(session, entity_type=..., entity_id=..., action=..., old=..., new=...)``
inside their transaction; the kernel records requests, logins, logouts, failed logins and denials.
``erp audit verify`` walks every chain and names the first broken link.
"""

from kernel.audit.recording import record_change

__all__ = ["record_change"]
