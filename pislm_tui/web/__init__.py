"""`pislm web`: the app in a browser, through textual-serve (one app process per browser tab).

Imported only by `pislm web` and by the app processes it starts: never at the app's normal
start-up (aiohttp, textual-serve and segno stay out of it).

  token.py     the access token: a file in the data dir, mode 0600
  gate.py      who may in: the token (query or cookie), the cookie, failures rate-limited
  pages.py     the small pages (401, 429, all sessions taken) and the headers every answer gets
  sessions.py  the app processes: at most --max-sessions, each in a process group of its own
  server.py    textual-serve's Server with the gate, our template and the sessions
  child.py     what one app process runs: its own process group, ends with its server
  announce.py  the URL (as text and as a QR code) and the systemd user unit
"""
