"""Helpers of the on-site tests: a session at City Hall, the URLs, the venue's coordinates."""

from datetime import timedelta

from django.utils import timezone

from onsite import services
from voting.models import OnsiteSession, Poll

BALLOTS_URL = "/api/v1/onsite/ballots/"

# 서울광장 (Seoul Plaza), and points around it, in degrees.
CITY_HALL = (37.5663, 126.9779)
# About 60 m north-east of the centre: inside a 100 m circle. Digits no other row holds, so a
# search of the database and the logs for them finds only a leak.
NEAR = (37.566712, 126.978345)
# About 900 m away (광화문 광장): outside it.
FAR = (37.572413, 126.976881)


def screen_url(session: OnsiteSession) -> str:
    return f"/onsite/sessions/{session.pk}/screen/"


def code_url(session: OnsiteSession) -> str:
    return f"/onsite/sessions/{session.pk}/screen/code.json"


def make_session(
    poll: Poll,
    *,
    circle: tuple[float, float, int] | None = None,
    starts_in: timedelta = timedelta(hours=-1),
    lasts: timedelta = timedelta(hours=3),
    place: str = "서울시청 시민청",
) -> OnsiteSession:
    """A session of ``poll`` (by default open now for another two hours), optionally with a
    circle (latitude, longitude, radius in metres)."""
    starts_at = timezone.now() + starts_in
    latitude, longitude, radius_m = circle if circle else (None, None, None)
    return OnsiteSession.objects.create(
        poll=poll,
        place=place,
        starts_at=starts_at,
        ends_at=starts_at + lasts,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
    )


def token_now(session: OnsiteSession) -> str:
    """The code the session's screen shows at this moment."""
    return services.screen_code(session=session).token


def location(point: tuple[float, float]) -> dict[str, float]:
    return {"latitude": point[0], "longitude": point[1]}
