"""``POST /api/v1/kiosk/speech``: what the screen says, as a WAV file, in the screen's language.

The page sends the parts of an utterance (:class:`kiosk.schemas.SpeechIn`); the answer is the
audio (``audio/wav``), with the spoken text in ``X-Utterance`` (percent-encoded, for the
page's log of what was said) and ``X-Speech-Cache: hit|miss``. Only the kiosk's own screens
may ask (``security.kiosk_addresses``), as for pickups.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from kiosk.api.deps import CoreDep
from kiosk.errors import SpeechUnavailable
from kiosk.kiosks import kiosk_of
from kiosk.schemas import ErrorOut, SpeechIn
from kiosk.speech import engine
from kiosk.speech.service import SpeechService
from kiosk.speech.utterances import Part, UnknownText
from locker.errors import InvalidInput

router = APIRouter(prefix="/api/v1/kiosk", tags=["kiosk"])


def speech_service(request: Request) -> SpeechService:
    found = request.app.state.speech
    assert isinstance(found, SpeechService)
    return found


@router.post(
    "/speech",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "the utterance as 16-bit PCM WAV"},
        403: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)
def speak(body: SpeechIn, request: Request, core: CoreDep) -> Response:
    """Synthesise (or take from the cache) one utterance of the kiosk's screens."""
    kiosk_of(request, core.settings.security.kiosk_addresses)
    parts = [Part(**part.model_dump()) for part in body.parts]
    try:
        spoken = speech_service(request).speak(
            body.lang, parts, core.bank.compartments(), body.rate
        )
    except UnknownText as err:
        raise InvalidInput("parts", str(err)) from None
    except engine.SpeechUnavailable as err:
        raise SpeechUnavailable(f"Speech output is not available: {err}") from None
    return Response(
        spoken.wav,
        media_type="audio/wav",
        headers={
            "X-Utterance": quote(spoken.text, safe=" ,.:;!?"),
            "X-Speech-Cache": "hit" if spoken.cached else "miss",
        },
    )
