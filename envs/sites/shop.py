"""Shop site: a 72-product catalog (long scrolling grid), product pages, a server-side cart
and orders — and its tasks."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from envs.sites.app import HttpError, SiteApp, need
from envs.sites.tasks import SiteTask, Step

CATALOG: dict[str, list[str]] = {
    "Electronics": [
        "Wireless Earbuds Pro",
        "Noise-Cancelling Headphones",
        "Bluetooth Speaker Mini",
        "Mechanical Keyboard",
        "Ergonomic Wireless Mouse",
        "USB-C Charging Hub",
        "4K Webcam",
        "Portable SSD 1TB",
        "Smart Fitness Band",
        "E-Reader Paperwhite",
        "Aluminium Phone Stand",
        "Laptop Sleeve 14-inch",
    ],
    "Home & Kitchen": [
        "Ceramic Pour-Over Coffee Dripper",
        "Cast Iron Skillet",
        "Bamboo Cutting Board",
        "Glass Food Storage Set",
        "Electric Kettle 1.7L",
        "French Press 8-Cup",
        "Linen Table Napkins",
        "Stoneware Dinner Plates",
        "Chef's Knife 8-inch",
        "Herb Garden Planter",
        "Scented Soy Candle",
        "Cotton Bath Towel Set",
    ],
    "Books": [
        "The Pragmatic Gardener",
        "Midnight Library Tales",
        "A Short History of Maps",
        "Cooking with the Seasons",
        "The Quiet Engineer",
        "Stars Above the Desert",
        "Learning Python Calmly",
        "Atlas of Small Islands",
        "The Art of Letters",
        "Mountains and Memory",
        "Ocean Notes",
        "The Bread Handbook",
    ],
    "Clothing": [
        "Merino Wool Sweater",
        "Classic Denim Jacket",
        "Organic Cotton T-Shirt",
        "Waterproof Rain Jacket",
        "Linen Summer Shirt",
        "Wool Beanie",
        "Leather Belt",
        "Everyday Chinos",
        "Fleece Zip Hoodie",
        "Canvas Sneakers",
        "Silk Scarf",
        "Puffer Vest",
    ],
    "Sports & Outdoors": [
        "Trail Running Socks",
        "Non-Slip Yoga Mat",
        "Insulated Water Bottle",
        "Camping Headlamp",
        "Ultralight Tent",
        "Adjustable Dumbbell Set",
        "Resistance Bands Set",
        "Hiking Daypack 20L",
        "Foam Roller",
        "Cycling Gloves",
        "Speed Jump Rope",
        "Trekking Poles",
    ],
    "Toys & Games": [
        "Wooden Building Blocks",
        "Strategy Board Game",
        "1000-Piece Jigsaw Puzzle",
        "Remote Control Car",
        "Plush Fox",
        "Magnetic Tiles Set",
        "Kids Art Easel",
        "Classic Card Games",
        "Puzzle Cube 3x3",
        "Wooden Toy Train Set",
        "Rainbow Kite",
        "Marble Run Kit",
    ],
}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


def build_products() -> list[dict[str, Any]]:
    """The catalog in "featured" order: deterministic, categories interleaved."""
    rng = random.Random(20260302)
    items: list[dict[str, Any]] = []
    for hue_i, (category, names) in enumerate(CATALOG.items()):
        for name in names:
            price = round(rng.uniform(6, 180)) - 0.01
            items.append(
                {
                    "name": name,
                    "category": category,
                    "category_slug": _slug(category),
                    "price": price,
                    "rating": round(rng.uniform(3.6, 5.0), 1),
                    "reviews": rng.randrange(3, 900),
                    "hue": (hue_i * 60 + rng.randrange(0, 40)) % 360,
                    "description": (
                        f"{name}: thoughtfully made, built to last and backed by our "
                        "30-day returns. Ships in 2 business days."
                    ),
                }
            )
    rng.shuffle(items)
    for i, p in enumerate(items, 1):
        p["id"] = 100 + i
    return items


PRODUCTS = build_products()
BY_ID = {p["id"]: p for p in PRODUCTS}
BY_NAME = {p["name"]: p for p in PRODUCTS}
CATEGORIES = [{"name": c, "slug": _slug(c)} for c in CATALOG]


def _money(x: float) -> float:
    return round(x + 1e-9, 2)


class ShopApp(SiteApp):
    name = "shop"

    def _reset(self, options: dict[str, Any]) -> None:
        self.cart: dict[int, int] = {}
        self.orders: list[dict[str, Any]] = []
        for pid, qty in options.get("cart", {}).items():
            self.cart[int(pid)] = int(qty)

    def _cart_view(self) -> dict[str, Any]:
        items: list[dict[str, Any]] = [
            {"product": BY_ID[pid], "qty": qty, "line_total": _money(BY_ID[pid]["price"] * qty)}
            for pid, qty in self.cart.items()
        ]
        return {
            "items": items,
            "count": sum(self.cart.values()),
            "subtotal": _money(sum(i["line_total"] for i in items)),
        }

    def state(self) -> dict[str, Any]:
        cart = [{"product_id": p, "name": BY_ID[p]["name"], "qty": q} for p, q in self.cart.items()]
        return {"cart": cart, "orders": self.orders}

    def route(
        self, method: str, parts: list[str], query: dict[str, str], body: Any, headers: Any
    ) -> tuple[int, Any]:
        head, n = (parts[0] if parts else ""), len(parts)
        if (method, head, n) == ("GET", "products", 1):
            return 200, {"products": self._find(query), "categories": CATEGORIES}
        if (method, head, n) == ("GET", "products", 2):
            return 200, self._product(parts[1])
        if head == "cart":
            return self._cart(method, parts[1:], body)
        if (method, head, n) == ("POST", "orders", 1):
            return 201, self._order()
        if (method, head, n) == ("GET", "orders", 2):
            for o in self.orders:
                if str(o["id"]) == parts[1]:
                    return 200, o
            raise HttpError(404, f"no order {parts[1]!r}")
        return super().route(method, parts, query, body, headers)

    def _find(self, query: dict[str, str]) -> list[dict[str, Any]]:
        q = query.get("q", "").strip().lower()
        cat = query.get("category", "")
        out = [p for p in PRODUCTS if not cat or p["category_slug"] == cat]
        if q:
            words = q.split()
            out = [
                p for p in out if all(w in f"{p['name']} {p['category']}".lower() for w in words)
            ]
        return out

    def _product(self, raw: str) -> dict[str, Any]:
        try:
            return BY_ID[int(raw)]
        except (ValueError, KeyError) as err:
            raise HttpError(404, f"no product {raw!r}") from err

    def _cart(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if method == "GET" and not rest:
            return 200, self._cart_view()
        if method == "POST" and not rest:
            pid = self._product(str(need(body, "product_id", int)))["id"]
            qty = body.get("qty", 1)
            if not isinstance(qty, int) or not 1 <= qty <= 99:
                raise HttpError(400, "quantity must be 1 to 99")
            self.cart[pid] = min(99, self.cart.get(pid, 0) + qty)
            return 200, self._cart_view()
        if len(rest) == 1:
            pid = self._product(rest[0])["id"]
            if method == "PUT":
                qty = need(body, "qty", int)
                if not 0 <= qty <= 99:
                    raise HttpError(400, "quantity must be 0 to 99")
                if qty == 0:
                    self.cart.pop(pid, None)
                else:
                    self.cart[pid] = qty
                return 200, self._cart_view()
            if method == "DELETE":
                self.cart.pop(pid, None)
                return 200, self._cart_view()
        raise HttpError(404, f"no such cart endpoint: {method} {'/'.join(rest)}")

    def _order(self) -> dict[str, Any]:
        if not self.cart:
            raise HttpError(400, "Your cart is empty.")
        view = self._cart_view()
        order = {
            "id": 1001 + len(self.orders),
            "items": [
                {
                    "product_id": i["product"]["id"],
                    "name": i["product"]["name"],
                    "qty": i["qty"],
                    "price": i["product"]["price"],
                }
                for i in view["items"]
            ],
            "total": view["subtotal"],
        }
        self.orders.append(order)
        self.cart = {}
        return order


# ---- tasks -----------------------------------------------------------------------------


def _card(name: str) -> str:
    return f'.product-card[data-name="{name}"]'


class AddToCart(SiteTask):
    id = "shop/add-to-cart"
    site = "shop"
    start_path = "#/"
    product = "Ceramic Pour-Over Coffee Dripper"
    goal = f"In the shop, add 2 of the '{product}' to the cart. Do not place an order."
    solution: ClassVar[list[Step]] = [
        {"op": "click", "selector": f"{_card(product)} .product-link"},
        {"op": "click", "selector": "#qty-plus"},
        {"op": "click", "selector": "#add-btn"},
        {"op": "expect", "selector": "#toast"},
    ]

    def judge(self, state: dict[str, Any], server: Any) -> tuple[bool, dict[str, Any]]:
        cart = {i["name"]: i["qty"] for i in state["cart"]}
        ok = cart == {self.product: 2} and not state["orders"]
        return ok, {"cart": cart, "orders": len(state["orders"])}


class PlaceOrder(SiteTask):
    id = "shop/place-order"
    site = "shop"
    start_path = "#/"
    items = ("Trail Running Socks", "Strategy Board Game")
    goal = (
        f"In the shop, buy one '{items[0]}' and one '{items[1]}': put exactly these in the "
        "cart and place the order."
    )
    solution: ClassVar[list[Step]] = [
        {
            "op": "type",
            "selector": "#search",
            "text": "running socks",
            "clear": True,
            "enter": True,
        },
        {"op": "click", "selector": f"{_card(items[0])} .add-btn"},
        {"op": "type", "selector": "#search", "text": "board game", "clear": True},
        {"op": "click", "selector": "#search-btn"},
        {"op": "click", "selector": f"{_card(items[1])} .add-btn"},
        {"op": "expect", "selector": "#cart-count:text-is('2')"},
        {"op": "click", "selector": "#cart-link"},
        {"op": "click", "selector": "#place-order-btn"},
        {"op": "expect", "selector": "#order-number"},
    ]

    def judge(self, state: dict[str, Any], server: Any) -> tuple[bool, dict[str, Any]]:
        orders = state["orders"]
        if len(orders) != 1:
            return False, {"reason": f"expected one order, found {len(orders)}"}
        got = {i["name"]: i["qty"] for i in orders[0]["items"]}
        want = dict.fromkeys(self.items, 1)
        return got == want, {"order": got, "expected": want}


TASKS = [AddToCart(), PlaceOrder()]
