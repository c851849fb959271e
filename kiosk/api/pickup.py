"""The public kiosk endpoints: pickup by code and camera frames decoded by pyzbar."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from kiosk.api.deps import CoreDep
from kiosk.errors import BodyTooLarge, NotAnImage
from kiosk.kiosks import kiosk_of
from kiosk.schemas import ErrorOut, PickupAnswer, PickupIn
from locker.errors import HardwareUnavailable, RateLimited
from locker.services.pickup import pickup as pickup_service
from locker.services.pickup import verify

if TYPE_CHECKING:
    import PIL.Image

router = APIRouter(prefix="/api/v1", tags=["kiosk"])
MAX_FRAME_BYTES = 2 * 1024 * 1024
"""A camera frame is 30–300 KB; kiosk.body_limit refuses a larger body before reading it."""


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


MAX_FRAME_PIXELS = 3840 * 2160
"""A 4K frame: far more than a kiosk camera sends (640×480), far less than a decompression
bomb (a 420 KB PNG of 12000×12000 pixels needs 144 MB as greyscale alone)."""
DECODES_AT_ONCE = 2
"""Frames decoded at the same time; more wait for nobody but get 503 ``scanner_busy`` (a
camera sends the next frame anyway). With the pixel cap this bounds decoding memory to about
``DECODES_AT_ONCE × MAX_FRAME_PIXELS × 4`` bytes."""
FORMATS = ("JPEG", "PNG")


class ImageTooLarge(BodyTooLarge):
    code = "image_too_large"


class ScannerBusy(HardwareUnavailable):
    code = "scanner_busy"


def open_frame(data: bytes) -> PIL.Image.Image:
    """The frame's header read and checked, nothing decoded yet: JPEG or PNG only, and no more
    than :data:`MAX_FRAME_PIXELS` (Pillow reads the size from the header lazily)."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 (see decode_frame)

    too_many = f"The frame has more than {MAX_FRAME_PIXELS:,} pixels, the most that are read."
    try:
        with warnings.catch_warnings():  # Pillow warns of what is refused just below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise ImageTooLarge(too_many) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise NotAnImage("The frame is not a JPEG or PNG image.") from None
    width, height = image.size
    if width * height > MAX_FRAME_PIXELS:
        raise ImageTooLarge(f"{too_many} ({width}×{height})")
    return image


def decode_frame(data: bytes) -> list[str]:
    """QR codes in one JPEG or PNG frame (QR only: several times faster than all symbologies).

    Pillow and pyzbar are loaded by the first frame: a kiosk without a camera never needs them.
    """
    from PIL import Image  # noqa: PLC0415
    from pyzbar.pyzbar import ZBarSymbol, decode  # noqa: PLC0415

    image = open_frame(data)
    try:
        image.load()
        grey = image.convert("L")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise NotAnImage("The frame is not a readable JPEG or PNG image.") from None
    found = decode(grey, symbols=[ZBarSymbol.QRCODE])
    return [symbol.data.decode("utf-8", "replace") for symbol in found]


@router.post(
    "/scan",
    responses={
        400: {"model": ErrorOut},
        403: {"model": ErrorOut},
        413: {"model": ErrorOut},
        429: {"model": ErrorOut},
        503: {"model": ErrorOut},
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
    """Decode the QR codes in one camera frame; an empty list when there is none.

    The body is at most ``MAX_FRAME_BYTES`` (kiosk.body_limit refuses more before reading);
    the size in the image header is checked before decoding; at most ``DECODES_AT_ONCE``
    frames are decoded at a time."""
    limiter: FrameLimiter = request.app.state.frames
    limiter.take(kiosk_of(request, core.settings.security.kiosk_addresses))
    data = await request.body()
    open_frame(data)  # refuse a bomb or another format before waiting for a decoder
    decoding: asyncio.Semaphore = request.app.state.decoding
    if decoding.locked():
        raise ScannerBusy("The camera reader is busy; the next frame will be read.")
    async with decoding:
        return {"codes": await run_in_threadpool(decode_frame, data)}
