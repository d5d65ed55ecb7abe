"""Push backends for the real providers: Firebase Cloud Messaging (HTTP v1) and the Apple Push
Notification service (token-based, HTTP/2), and the backend that routes each device to one of
them by its platform. They implement ``notifications.push.BasePushBackend``; operators choose
them with ``PUSH_BACKEND`` (docs/operations/push.md).

Why not the providers' SDKs: ``firebase-admin`` and ``aioapns`` both hard-code the provider's
host (``_MessagingService.FCM_URL``, ``APNsBaseClientProtocol.APNS_SERVER`` on port 443), so
neither can be pointed at the local fake servers the tests speak to without patching private
names. The protocols are small: ``google-auth`` signs the service account's JWT bearer grant and
caches the access token, PyJWT signs the APNs provider token, ``httpx`` speaks HTTP/2.
"""
