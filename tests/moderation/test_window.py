"""Contacts split across messages (window.py, Moderator.check_text(session=…))."""

from __future__ import annotations

from feige.domain import ModerationAction as A
from feige.moderation import Moderator
from feige.moderation.window import SplitWindow


def send(mod: Moderator, pieces: list[str], role: str = "agent", session: object = "s1",
         sender: str = "a1"):  # fmt: skip
    return [mod.check_text(p, role, sender, None, session) for p in pieces]


def test_phone_in_three_pieces_is_blocked_on_the_last() -> None:
    mod = Moderator()
    first, second, last = send(mod, ["138", "1234", "5678"])
    assert first.action == second.action == A.ALLOW
    assert last.action == A.BLOCK and last.categories == ("third_party.contact",)
    assert last.pieces == ("138", "1234")
    assert last.spans == ((0, 4),)  # clipped to the message that completes it
    assert last.to_json("m3")["pieces"] == ["138", "1234"]
    assert "piece_refs" not in last.to_json("m3")  # the --jsonl contract is unchanged


def test_pieces_keep_the_callers_refs() -> None:
    """The message that completes a split contact gives back the refs its pieces were
    checked with (the product passes client message ids, and the record names the stored
    messages by them); a piece checked without one has None."""
    mod = Moderator()
    mod.check_text("138", "agent", "a1", None, "s1", ref="c1")
    mod.check_text("1234", "agent", "a1", None, "s1")
    last = mod.check_text("5678", "agent", "a1", None, "s1", ref="c3")
    assert last.action == A.BLOCK
    assert last.pieces == ("138", "1234") and last.piece_refs == ("c1", None)


def test_wechat_spelled_over_messages() -> None:
    mod = Moderator()
    *_, last = send(mod, ["微", "信", "号 abc123"])
    assert last.action == A.BLOCK


def test_windows_are_per_session_and_sender() -> None:
    mod = Moderator()
    mod.check_text("138", "agent", "a1", None, "s1")
    mod.check_text("1234", "agent", "a2", None, "s1")  # another sender
    mod.check_text("1234", "agent", "a1", None, "s2")  # another session
    assert mod.check_text("5678", "agent", "a1", None, "s1").action == A.ALLOW


def test_ordinary_pieces_do_not_join() -> None:
    mod = Moderator()
    for pieces in (["订单号", "123456789012345678"], ["身高175", "体重140", "穿什么码"],
                   ["好的", "谢谢亲"]):  # fmt: skip
        assert all(v.action == A.ALLOW for v in send(mod, pieces, "buyer")), pieces


def test_a_buyer_giving_its_phone_in_pieces_is_allowed() -> None:
    mod = Moderator()
    *_, last = send(mod, ["收货电话", "13812345678"], "buyer")
    assert last.action == A.ALLOW


def test_window_is_bounded() -> None:
    w = SplitWindow(max_pieces=3, max_chars=10, max_keys=2)
    for key in ("a", "b", "c"):
        w.push(key, "12", True)
    assert len(w) == 2 and w.recent("a") == []
    for piece in ("1", "2", "3", "4"):
        w.push("c", piece, True, ref=piece)
    assert w.recent("c") == [("3", "3"), ("4", "4")]
    w.push("c", "an ordinary message", False)
    assert w.recent("c") == []
