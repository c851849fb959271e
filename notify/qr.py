"""The QR code of a pickup, as a PNG for the e-mail.

Eight pixels per module (pyzbar needs at least about four after a phone camera's blur and
tilt; we keep a margin) and the standard quiet zone of four modules; error correction M
survives a scratched screen or a crease in a print-out.
"""

from __future__ import annotations

import io

PIXELS_PER_MODULE = 8


def qr_png(payload: str, *, box_size: int = PIXELS_PER_MODULE) -> bytes:
    """The PNG (qrcode and Pillow are loaded by the first e-mail, not by every controller)."""
    import qrcode  # noqa: PLC0415
    from qrcode.constants import ERROR_CORRECT_M  # noqa: PLC0415

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(payload)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()
