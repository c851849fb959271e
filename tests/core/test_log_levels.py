"""The long-running commands keep chatty libraries to their warnings (runtime.logs.QUIET)."""

from __future__ import annotations

import logging

from runtime import logs


def test_twilio_logs_only_its_warnings_and_the_rest_stays_at_the_level_chosen(capsys) -> None:
    root = logging.getLogger()
    quieted = [logging.getLogger(name) for name in logs.QUIET]
    before = root.level, list(root.handlers), [logger.level for logger in quieted]
    try:
        logs.configure("INFO", environ={})
        logging.getLogger("twilio.http_client").info("POST Request: https://api.twilio.com/x")
        logging.getLogger("twilio.http_client").warning("twilio is slow")
        logging.getLogger("mail.log").info("('127.0.0.1', 44418) handling connection")
        logging.getLogger("locker.test").info("started")
        printed = capsys.readouterr().err
    finally:
        root.setLevel(before[0])
        root.handlers[:] = before[1]
        for logger, level in zip(quieted, before[2], strict=True):
            logger.setLevel(level)
    assert "POST Request" not in printed and "handling connection" not in printed
    assert "WARNING twilio.http_client: twilio is slow" in printed
    assert "INFO locker.test: started" in printed
