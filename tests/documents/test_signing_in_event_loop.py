"""Signing and checking work even when the calling thread already runs an asyncio event loop (an async server,
or a test session driving a browser with Playwright's sync API)."""

import asyncio

from app.printing.pdf import render


def test_sign_and_check_inside_a_running_event_loop(app):
    from app.printing.signing import check_signature, sign_pdf, signing_config

    pdf = render("<h1>Acquis</h1><p>Signed inside an event loop.</p>")
    config = signing_config(app.config)

    async def inside_a_loop():
        signed = sign_pdf(pdf, config, reason="test")
        return check_signature(signed, config.cert_path)

    assert asyncio.run(inside_a_loop()).ok
