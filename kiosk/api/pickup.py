"""The public kiosk endpoints: pickup by code and camera frames decoded by pyzbar."""

from __future__ import annotations

import io
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from kiosk.api.deps import CoreDep
from kiosk.errors import NotAnImage
from kiosk.kiosks import kiosk_of
from kiosk.schemas import ErrorOut, PickupAnswer, PickupIn
from locker.errors import InvalidInput, RateLimited
from locker.services.pickup import pickup as pickup_service
from locker.services.pickup import verify

router = APIRouter(prefix="/api/v1", tags=["kiosk"])
MAX_FRAME_BYTES = 5 * 1024 * 1024


@router.post(
    "/pickup",
    response_model=PickupAnswer,
    response_model_exclude_none=True,
    responses={
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        410: {"model": ErrorOut},
        428: {"model": ErrorOut},
        429: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)
def pickup(body: PickupIn, request: Request, core: CoreDep) -> PickupAnswer:
    """Check the code (and date of birth where needed) and open the compartment.

    403 ``date_of_birth_wrong`` carries ``tries_left``; ``verify_only`` opens nothing."""
    kiosk = kiosk_of(request, core.settings.security.kiosk_addresses)
    if body.verify_only:
        verify(core, body.code, date_of_birth=body.date_of_birth, kiosk=kiosk)
        return PickupAnswer(verified=True)
    granted = pickup_service(core, body.code, date_of_birth=body.date_of_birth, kiosk=kiosk)
    return PickupAnswer(compartment=granted.compartment)


class FrameLimiter:
    """At most ``rate`` frames a second per client (a camera needs 2–5; more is abuse).

    One per app (``app.state.frames``, from ``[kiosk] camera_frames_per_s``)."""

    def __init__(self, rate: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._monotonic = monotonic
        self._tokens: dict[str, tuple[float, float]] = defaultdict(lambda: (rate, monotonic()))
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        with self._lock:
            tokens, last = self._tokens[client]
            now = self._monotonic()
            tokens = min(self.rate, tokens + (now - last) * self.rate)
            if tokens < 1:
                raise RateLimited("Too many camera frames; slow down.", 1)
            self._tokens[client] = (tokens - 1, now)


def decode_frame(data: bytes) -> list[str]:
    """QR codes in one JPEG or PNG frame (QR only: several times faster than all symbologies).

    Pillow and pyzbar are loaded by the first frame: a kiosk without a camera never needs them.
    """
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415
    from pyzbar.pyzbar import ZBarSymbol, decode  # noqa: PLC0415

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise NotAnImage("The frame is not a JPEG or PNG image.") from None
    found = decode(image.convert("L"), symbols=[ZBarSymbol.QRCODE])
    return [symbol.data.decode("utf-8", "replace") for symbol in found]


@router.post(
    "/scan",
    responses={
        400: {"model": ErrorOut},
        403: {"model": ErrorOut},
        413: {"model": ErrorOut},
        429: {"model": ErrorOut},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def scan(request: Request, core: CoreDep) -> dict[str, list[str]]:
    """Decode the QR codes in one camera frame; an empty list when there is none."""
    limiter: FrameLimiter = request.app.state.frames
    limiter.take(kiosk_of(request, core.settings.security.kiosk_addresses))
    data = await request.body()
    if len(data) > MAX_FRAME_BYTES:
        raise InvalidInput("body", "The frame is larger than 5 MB.")
    return {"codes": await run_in_threadpool(decode_frame, data)}
