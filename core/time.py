"""Time constants every app shares (the lowest layer: imports nothing of the project)."""

from zoneinfo import ZoneInfo

# NSE's zone: sessions, trading days and the exports' naive times are in Indian Standard Time.
IST = ZoneInfo("Asia/Kolkata")
