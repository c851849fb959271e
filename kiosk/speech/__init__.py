"""Speech output of the kiosk (EN 301 549 clause 5.1.3): what the screens say, synthesised on
the device by espeak-ng, cached, and served to the page as WAV (docs/accessibility.md)."""
