"""The kiosk's large on-screen keypad: layout (pure geometry) and drawing (pygame).

`layout(size, cancel)` says where every key is, with no pygame, so the kiosk can
turn a "click:x,y" from any display into a key action. `draw(display, view)`
paints a keypad screen onto a PygameDisplay's window and registers the keys as
the display's click targets, so a touch on a key arrives as that key's action.

A keypad view (screen "kiosk_welcome" or "kiosk_pin") carries in `view.extra`:
  entry     the digits typed so far
  mask      draw the entry as dots (a PIN)
  message   a short message under the entry, or ""
  tone      "error" (orange box) | "info" (plain)
  cancel    show a Cancel button (the staff PIN screen)
  locked    keys shown disabled (too many wrong PINs)
"""
from __future__ import annotations

from dataclasses import dataclass

KEY_W, KEY_H, GAP = 156, 120, 18          # a key is bigger than a fingertip with room to spare
MARGIN = 56
ADMIN_CORNER = 120                        # staff taps in this top-left square (never a key)
ROWS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("backspace", "0", "enter"))
LABELS = {"backspace": "Delete", "enter": "OK"}


@dataclass(frozen=True)
class Key:
    rect: tuple[int, int, int, int]       # x, y, w, h
    action: str                           # "key:1", "key:backspace", "key:enter", "cancel"
    label: str

    def contains(self, x: float, y: float) -> bool:
        rx, ry, rw, rh = self.rect
        return rx <= x < rx + rw and ry <= y < ry + rh


def layout(size: tuple[int, int] = (1280, 720), cancel: bool = False) -> list[Key]:
    w, h = size
    pad_w, pad_h = 3 * KEY_W + 2 * GAP, 4 * KEY_H + 3 * GAP
    x0, y0 = w - MARGIN - pad_w, (h - pad_h) // 2
    keys = []
    for r, row in enumerate(ROWS):
        for c, name in enumerate(row):
            rect = (x0 + c * (KEY_W + GAP), y0 + r * (KEY_H + GAP), KEY_W, KEY_H)
            keys.append(Key(rect, f"key:{name}", LABELS.get(name, name)))
    if cancel:
        left = left_panel(size)
        keys.append(Key((left[0], y0 + pad_h - KEY_H, 300, KEY_H), "cancel", "Cancel"))
    return keys


def left_panel(size: tuple[int, int] = (1280, 720)) -> tuple[int, int, int, int]:
    """The area left of the keypad for the title, the entry and messages."""
    w, h = size
    pad_w = 3 * KEY_W + 2 * GAP
    x = MARGIN + 24
    return (x, MARGIN, w - MARGIN - pad_w - 56 - x, h - 2 * MARGIN)


def hit(size: tuple[int, int], x: float, y: float, cancel: bool = False) -> str | None:
    """The action of the key at (x, y), or None."""
    for key in layout(size, cancel):
        if key.contains(x, y):
            return key.action
    return None


def in_admin_corner(x: float, y: float) -> bool:
    return 0 <= x < ADMIN_CORNER and 0 <= y < ADMIN_CORNER


# --- drawing ------------------------------------------------------------------------------
_text = None


def draw(display, view) -> None:
    """Paint a keypad screen on a PygameDisplay and make its keys clickable."""
    import pygame

    from coach.screen import palette as R
    from coach.screen.drawing import Text

    global _text
    if _text is None:
        _text = Text()
    surf = display.screen
    size = surf.get_size()
    extra = view.extra or {}
    surf.fill(R.BG)
    buttons = _keys(surf, size, extra, _text, R)
    x, y, w, h = left_panel(size)
    top = _text.block(surf, view.title, R.TITLE, R.TEXT, pygame.Rect(x, y + 20, w, 140), align="left", max_lines=2)
    if view.text:
        top = _text.block(surf, view.text, R.BODY, R.MUTED, pygame.Rect(x, top + 8, w, 200), align="left",
                          max_lines=3)
    box = pygame.Rect(x, top + 28, w, 112)
    _entry(surf, box, extra, _text, R)
    _message(surf, pygame.Rect(x, y, w, h), box, extra, _text, R)
    display.renderer.buttons = buttons
    pygame.display.flip()


def _keys(surf, size, extra: dict, text, R) -> list:
    """The keys; a locked keypad greys them out and makes only Cancel clickable."""
    import pygame

    locked = bool(extra.get("locked"))
    buttons = []
    for key in layout(size, bool(extra.get("cancel"))):
        rect = pygame.Rect(key.rect)
        dead = locked and key.action != "cancel"
        if dead:
            fill, ink, edge = R.BG, R.MUTED, R.TRACK
        elif key.action == "key:enter":
            fill, ink, edge = R.SKY, R.INK, R.SKY
        else:
            fill, ink, edge = R.PANEL, R.TEXT, R.MUTED
        pygame.draw.rect(surf, fill, rect, border_radius=22)
        pygame.draw.rect(surf, edge, rect, 3, border_radius=22)
        text.blit(surf, key.label, 72 if len(key.label) == 1 else R.HEADING, ink, rect.center, "center")
        if not dead:
            buttons.append((rect, key.action))
    return buttons


def _entry(surf, box, extra: dict, text, R) -> None:
    """What has been typed: digits, dots for a PIN, or blanks."""
    import pygame

    pygame.draw.rect(surf, R.PANEL, box, border_radius=18)
    pygame.draw.rect(surf, R.TEXT, box, 3, border_radius=18)
    entry = str(extra.get("entry", ""))
    if entry and extra.get("mask"):
        step = 52
        cx0 = box.centerx - step * (len(entry) - 1) / 2
        for i in range(len(entry)):
            pygame.draw.circle(surf, R.TEXT, (cx0 + i * step, box.centery), 14)
    elif entry:
        text.blit(surf, " ".join(entry), 80 if len(entry) <= 8 else R.TITLE, R.TEXT, box.center, "center")
    else:
        text.blit(surf, "_ " * 4, R.TITLE, R.MUTED, box.center, "center")


def _message(surf, panel, box, extra: dict, text, R) -> None:
    """The line under the entry: a hint, or an error on the banner colour."""
    import pygame

    message = str(extra.get("message") or "")
    if not message:
        return
    x, w = panel.x, panel.w
    mrect = pygame.Rect(x, box.bottom + 24, w, panel.bottom - box.bottom - 24 - (140 if extra.get("cancel") else 0))
    if extra.get("tone") == "error":
        lines = text.wrap(message, R.BODY, w - 48)[:4]
        back = pygame.Rect(x, mrect.y, w, int(R.BODY * 1.25) * len(lines) + 32)
        pygame.draw.rect(surf, R.BANNER, back, border_radius=16)
        text.block(surf, message, R.BODY, R.INK, back.inflate(-48, -32), align="left", max_lines=4)
    else:
        text.block(surf, message, R.BODY, R.TEXT, mrect, align="left", max_lines=4)
