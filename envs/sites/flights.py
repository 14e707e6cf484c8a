"""Flights site: airports, deterministic flight search, bookings — and its tasks.

Search results are a pure function of (from, to, date), so a task can compute the right
answer (the cheapest nonstop, the fastest) from the same API the page uses.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from typing import Any, ClassVar

from envs.sites.app import HttpError, SiteApp, need
from envs.sites.tasks import SiteTask, Step, norm

TODAY = "2026-03-02"

# code, city, airport name, country, lat, lon
AIRPORTS = [
    ("ATL", "Atlanta", "Hartsfield-Jackson International", "United States", 33.64, -84.43),
    ("AUS", "Austin", "Austin-Bergstrom International", "United States", 30.19, -97.67),
    ("BOS", "Boston", "Logan International", "United States", 42.36, -71.01),
    ("ORD", "Chicago", "O'Hare International", "United States", 41.98, -87.90),
    ("DFW", "Dallas", "Dallas/Fort Worth International", "United States", 32.90, -97.04),
    ("DEN", "Denver", "Denver International", "United States", 39.86, -104.67),
    ("LAS", "Las Vegas", "Harry Reid International", "United States", 36.08, -115.15),
    ("LAX", "Los Angeles", "Los Angeles International", "United States", 33.94, -118.41),
    ("MIA", "Miami", "Miami International", "United States", 25.79, -80.29),
    ("MSP", "Minneapolis", "Minneapolis-Saint Paul International", "United States", 44.88, -93.22),
    ("JFK", "New York", "John F. Kennedy International", "United States", 40.64, -73.78),
    ("LGA", "New York", "LaGuardia", "United States", 40.78, -73.87),
    ("PHX", "Phoenix", "Sky Harbor International", "United States", 33.43, -112.01),
    ("PDX", "Portland", "Portland International", "United States", 45.59, -122.60),
    ("SAN", "San Diego", "San Diego International", "United States", 32.73, -117.19),
    ("SFO", "San Francisco", "San Francisco International", "United States", 37.62, -122.38),
    ("SEA", "Seattle", "Seattle-Tacoma International", "United States", 47.45, -122.31),
    ("YYZ", "Toronto", "Pearson International", "Canada", 43.68, -79.63),
    ("LHR", "London", "Heathrow", "United Kingdom", 51.47, -0.45),
    ("CDG", "Paris", "Charles de Gaulle", "France", 49.01, 2.55),
    ("AMS", "Amsterdam", "Schiphol", "Netherlands", 52.31, 4.76),
    ("FRA", "Frankfurt", "Frankfurt am Main", "Germany", 50.04, 8.56),
]
BY_CODE = {a[0]: a for a in AIRPORTS}
AIRLINES = [
    ("Skyline Air", "SK"),
    ("Bluejet", "BJ"),
    ("Pacific Wings", "PW"),
    ("Northstar Airways", "NS"),
    ("Aero Unity", "AU"),
    ("Summit Airlines", "SU"),
]
HUBS = ["ORD", "DEN", "ATL", "DFW", "PHX", "MSP"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _distance_km(a: str, b: str) -> float:
    (_, _, _, _, la1, lo1), (_, _, _, _, la2, lo2) = BY_CODE[a], BY_CODE[b]
    p1, p2, dl = math.radians(la1), math.radians(la2), math.radians(lo2 - lo1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def search(frm: str, to: str, date: str) -> list[dict[str, Any]]:
    """The flights of one route and day, sorted by departure; deterministic."""
    rng = random.Random(f"{frm}-{to}-{date}")
    dist = _distance_km(frm, to)
    base_min = int(dist / 13.5 + 35)
    base_price = 70 + dist * 0.085
    hubs = [h for h in HUBS if h not in (frm, to)]
    flights: list[dict[str, Any]] = []
    used_prices: set[int] = set()
    used_durations: set[int] = set()
    for i in range(12):
        stops = 0 if i < 3 else rng.choices([0, 1, 2], weights=[35, 45, 20])[0]
        name, code = rng.choice(AIRLINES)
        dep = rng.randrange(6 * 12, 21 * 12) * 5
        dur = base_min + stops * rng.randrange(70, 170) + rng.randrange(-10, 30)
        while dur in used_durations:
            dur += 1
        used_durations.add(dur)
        price = int(
            base_price * (1.3 if stops == 0 else 1.0 - 0.1 * stops) * rng.uniform(0.75, 1.4)
        )
        while price in used_prices:
            price += 1
        used_prices.add(price)
        arr = dep + dur
        flights.append(
            {
                "id": f"{frm}{to}{date.replace('-', '')}{i:02d}",
                "airline": name,
                "number": f"{code} {rng.randrange(100, 1999)}",
                "from": frm,
                "to": to,
                "date": date,
                "depart": _hhmm(dep),
                "arrive": _hhmm(arr),
                "arrive_day_offset": arr // (24 * 60),
                "duration_min": dur,
                "stops": stops,
                "via": rng.sample(hubs, stops),
                "price": price,
                "seats_left": rng.randrange(2, 30),
            }
        )
    return sorted(flights, key=lambda f: (f["depart"], f["id"]))


def flight_by_id(fid: str) -> dict[str, Any]:
    m = re.fullmatch(r"([A-Z]{3})([A-Z]{3})(\d{4})(\d{2})(\d{2})(\d{2})", fid or "")
    if not m or m.group(1) not in BY_CODE or m.group(2) not in BY_CODE:
        raise HttpError(404, f"no flight {fid!r}")
    date = f"{m.group(3)}-{m.group(4)}-{m.group(5)}"
    for f in search(m.group(1), m.group(2), date):
        if f["id"] == fid:
            return f
    raise HttpError(404, f"no flight {fid!r}")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def card_brand(digits: str) -> str:
    if digits.startswith("4"):
        return "Visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or "2221" <= digits[:4] <= "2720":
        return "Mastercard"
    if digits[:2] in {"34", "37"}:
        return "American Express"
    return "Card"


class FlightsApp(SiteApp):
    name = "flights"

    def _reset(self, options: dict[str, Any]) -> None:
        self.today = str(options.get("today") or TODAY)
        self.bookings: list[dict[str, Any]] = []
        self._counter = 0

    def state(self) -> dict[str, Any]:
        return {"today": self.today, "bookings": self.bookings}

    def route(
        self, method: str, parts: list[str], query: dict[str, str], body: Any, headers: Any
    ) -> tuple[int, Any]:
        key = (method, parts[0] if parts else "", len(parts))
        if key == ("GET", "config", 1):
            return 200, {"today": self.today}
        if key == ("GET", "airports", 1):
            cols = ("code", "city", "name", "country")
            return 200, [dict(zip(cols, a[:4], strict=True)) for a in AIRPORTS]
        if key == ("GET", "search", 1):
            return 200, {"flights": self._search(query)}
        if key == ("GET", "flights", 2):
            return 200, flight_by_id(parts[1])
        if key == ("POST", "bookings", 1):
            return 201, self._book(body)
        if key == ("GET", "bookings", 2):
            for b in self.bookings:
                if b["reference"] == parts[1].upper():
                    return 200, b
            raise HttpError(404, f"no booking {parts[1]!r}")
        return super().route(method, parts, query, body, headers)

    def _search(self, query: dict[str, str]) -> list[dict[str, Any]]:
        frm, to = query.get("from", "").upper(), query.get("to", "").upper()
        date = query.get("date", "")
        for code in (frm, to):
            if code not in BY_CODE:
                raise HttpError(400, f"unknown airport {code!r}")
        if frm == to:
            raise HttpError(400, "origin and destination must differ")
        try:
            day = dt.date.fromisoformat(date)
        except ValueError as err:
            raise HttpError(400, f"bad date {date!r}: use YYYY-MM-DD") from err
        if day < dt.date.fromisoformat(self.today):
            raise HttpError(400, "the date is in the past")
        return search(frm, to, date)

    def _book(self, body: Any) -> dict[str, Any]:
        flight = flight_by_id(need(body, "flight_id"))
        passengers = need(body, "passengers", list)
        if not 1 <= len(passengers) <= 6:
            raise HttpError(400, "book 1 to 6 passengers")
        clean = []
        for i, p in enumerate(passengers, 1):
            name = " ".join(str(p.get("name", "") if isinstance(p, dict) else "").split())
            email = str(p.get("email", "") if isinstance(p, dict) else "").strip()
            if len(name) < 2:
                raise HttpError(400, f"passenger {i}: enter a full name")
            if not EMAIL.match(email):
                raise HttpError(400, f"passenger {i}: enter a valid email")
            clean.append({"name": name, "email": email})
        card = need(body, "card", dict)
        digits = re.sub(r"[\s-]", "", str(card.get("number", "")))
        if not (digits.isdigit() and 13 <= len(digits) <= 19 and luhn_ok(digits)):
            raise HttpError(400, "the card number is not valid")
        m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2})\s*", str(card.get("expiry", "")))
        if not m or not 1 <= int(m.group(1)) <= 12:
            raise HttpError(400, "the expiry date must be MM/YY")
        if (2000 + int(m.group(2)), int(m.group(1))) < tuple(map(int, self.today.split("-")[:2])):
            raise HttpError(400, "the card has expired")
        if not re.fullmatch(r"\d{3,4}", str(card.get("cvc", "")).strip()):
            raise HttpError(400, "the CVC must be 3 or 4 digits")
        self._counter += 1
        ref = "".join(
            random.Random(f"ref{self._counter}{flight['id']}").choices(
                "ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=6
            )
        )
        booking = {
            "reference": ref,
            "flight_id": flight["id"],
            "flight": flight,
            "passengers": clean,
            "card_last4": digits[-4:],
            "card_brand": card_brand(digits),
            "card_expiry": f"{int(m.group(1)):02d}/{m.group(2)}",
            "total": flight["price"] * len(clean),
        }
        self.bookings.append(booking)
        return booking


# ---- tasks -----------------------------------------------------------------------------


def _judge_booking(
    state: dict[str, Any], flight_id: str, passengers: list[tuple[str, str]], last4: str
) -> tuple[bool, dict[str, Any]]:
    bookings = state.get("bookings", [])
    details: dict[str, Any] = {"expected_flight": flight_id, "bookings": len(bookings)}
    if len(bookings) != 1:
        details["reason"] = f"expected exactly one booking, found {len(bookings)}"
        return False, details
    b = bookings[0]
    got = sorted((norm(p["name"]), norm(p["email"])) for p in b["passengers"])
    want = sorted((norm(n), norm(e)) for n, e in passengers)
    details.update(flight=b["flight_id"], passengers=got, card_last4=b["card_last4"])
    problems = []
    if b["flight_id"] != flight_id:
        problems.append("wrong flight")
    if got != want:
        problems.append("wrong passengers")
    if b["card_last4"] != last4:
        problems.append("wrong card")
    if problems:
        details["reason"] = ", ".join(problems)
    return not problems, details


def _field(selector: str, text: str) -> dict[str, Any]:
    return {"op": "type", "selector": selector, "text": text, "clear": True}


class BookCheapestNonstop(SiteTask):
    id = "flights/book-cheapest"
    site = "flights"
    start_path = "#/"
    date = "2026-03-14"
    goal = (
        "Book the cheapest nonstop flight from Boston (BOS) to San Francisco (SFO) on "
        "March 14, 2026 for one passenger, Ada Lovelace, ada@example.com. Pay with card "
        "4242 4242 4242 4242, expiry 12/30, CVC 123."
    )
    solution: ClassVar[list[Step]] = [
        _field("#from", "Boston"),
        {"op": "click", "selector": "#from-list [data-code=BOS]"},
        _field("#to", "San Francisco"),
        {"op": "click", "selector": "#to-list [data-code=SFO]"},
        {"op": "click", "selector": "#date-btn"},
        {"op": "click", "selector": f".cal-day[data-date='{date}']"},
        {"op": "click", "selector": "#search-btn"},
        {"op": "click", "selector": "label[for=stops-0]"},
        {"op": "click", "selector": "#sort-price"},
        {"op": "click", "selector": "#results .flight-card .select-btn"},
        _field("#p0-name", "Ada Lovelace"),
        _field("#p0-email", "ada@example.com"),
        {"op": "click", "selector": "#continue-btn"},
        _field("#card-number", "4242 4242 4242 4242"),
        _field("#card-expiry", "12/30"),
        _field("#card-cvc", "123"),
        {"op": "click", "selector": "#pay-btn"},
        {"op": "expect", "selector": "#booking-ref"},
    ]

    def expected(self) -> dict[str, Any]:
        nonstop = [f for f in search("BOS", "SFO", self.date) if f["stops"] == 0]
        return min(nonstop, key=lambda f: f["price"])

    def judge(self, state: dict[str, Any], server: Any) -> tuple[bool, dict[str, Any]]:
        return _judge_booking(
            state, self.expected()["id"], [("Ada Lovelace", "ada@example.com")], "4242"
        )


class BookFastestForTwo(SiteTask):
    id = "flights/book-fastest-two"
    site = "flights"
    start_path = "#/"
    date = "2026-03-20"
    goal = (
        "Book the fastest flight (shortest total travel time) from New York (JFK) to "
        "Los Angeles (LAX) on 2026-03-20 for two passengers: Grace Hopper "
        "(grace@example.com) and Alan Turing (alan@example.com). Pay with card "
        "5555 5555 5555 4444, expiry 08/29, CVC 321."
    )
    solution: ClassVar[list[Step]] = [
        _field("#from", "JFK"),
        {"op": "key", "keys": "enter"},
        _field("#to", "LAX"),
        {"op": "key", "keys": "enter"},
        _field("#date", date),
        {"op": "key", "keys": "escape"},
        {"op": "click", "selector": "#pax-plus"},
        {"op": "click", "selector": "#search-btn"},
        {"op": "click", "selector": "#sort-duration"},
        {"op": "click", "selector": "#results .flight-card .select-btn"},
        _field("#p0-name", "Grace Hopper"),
        _field("#p0-email", "grace@example.com"),
        _field("#p1-name", "Alan Turing"),
        _field("#p1-email", "alan@example.com"),
        {"op": "click", "selector": "#continue-btn"},
        _field("#card-number", "5555555555554444"),
        _field("#card-expiry", "08/29"),
        {"op": "type", "selector": "#card-cvc", "text": "321", "enter": True},
        {"op": "expect", "selector": "#booking-ref"},
    ]

    def expected(self) -> dict[str, Any]:
        return min(search("JFK", "LAX", self.date), key=lambda f: f["duration_min"])

    def judge(self, state: dict[str, Any], server: Any) -> tuple[bool, dict[str, Any]]:
        people = [("Grace Hopper", "grace@example.com"), ("Alan Turing", "alan@example.com")]
        return _judge_booking(state, self.expected()["id"], people, "4444")


TASKS = [BookCheapestNonstop(), BookFastestForTwo()]
