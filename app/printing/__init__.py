"""The printing service: HTML → signed PDF/A, shared by the documents and the survey report.

It sits above ``core``, ``auth`` and ``organisations`` and below ``documents`` and ``survey``, and knows nothing of
either: it turns trusted HTML into a signed archival PDF.

- :mod:`app.printing.pdf`: WeasyPrint behind the deny-by-default URL fetcher (the renderer fetches nothing but the
  bundled assets and ``data:`` URIs), PDF/A-3a with attachments and structure tags;
- :mod:`app.printing.sandbox`: one render per child process, under CPU, memory and wall-clock limits and a fixed
  number of render slots per machine;
- :mod:`app.printing.pool`: the warm render pool, a server process that imported WeasyPrint and pyHanko once and
  forks one child per render;
- :mod:`app.printing.signing`: PAdES signatures (pyHanko), the instance's keys and trust roots;
- :mod:`app.printing.css`, :mod:`app.printing.typography`: what the print templates share;
- :mod:`app.printing.dispatch`: running work now, in a background thread, or on the RQ queue.
"""
