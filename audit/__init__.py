"""The officials' audit log: who did what to which subject, on a keyed hash chain.

Producers (voting, proposals, discussion) call ``audit.services.record``; lower layers (accounts,
districts) send a signal that ``audit.receivers`` turns into an entry. Which entries a gu's
official may read is asked of the producers through ``audit.subjects`` (they register there), so
this app imports none of them."""
