"""Real SMS providers: each a :class:`accounts.sms.BaseSMSBackend` named by ``SMS_BACKEND``.

``solapi`` is the one shipped (docs/operations/sms.md says why). A provider's backend only queues
the text (``accounts.tasks.deliver_sms``); the task calls the provider's client, retries, and
records the outcome (``accounts.sms_records``).
"""
