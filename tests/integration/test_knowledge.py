"""The robot's knowledge base through the real server: supervisors edit, import and export;
bad files and non-compliant answers are refused whole; shops never see each other's entries;
a shop overrides and disables platform defaults; the robot answers from the result."""

from __future__ import annotations

import httpx

from feige.robot import KnowledgeEntry
from feige.robot.knowledge_file import parse_csv, parse_xlsx, write_csv, write_xlsx
from tests.integration.harness import Server, login


async def test_knowledge_base_round_trip(server: Server) -> None:
    owner = await login(server, "shop1_owner")
    agent = await login(server, "shop1_agent1")
    other = await login(server, "shop2_owner")
    try:
        listing = await agent.ok("GET", "/api/knowledge")
        assert listing["entries"] == [] and len(listing["defaults"]) >= 50

        # A supervisor adds an entry; an agent may not.
        entry = {
            "question": "耳机防水吗",
            "similar_questions": ["下雨能戴吗", "游泳能用吗"],
            "answer": "支持IPX5级防水，不能泡水。",
            "category": "商品",
        }
        saved = await owner.ok("PUT", "/api/knowledge", json=entry)
        assert saved["source"] == "shop" and saved["enabled"] is True
        r = await agent.http.put("/api/knowledge", json=entry)
        assert r.status_code == 403

        # Diverting buyers is refused when saved, and nothing is stored.
        bad = {**entry, "question": "怎么联系", "answer": "加我微信 abc12345 私聊更便宜"}
        r = await owner.http.put("/api/knowledge", json=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "content_refused"

        # Override one default, disable another.
        await owner.ok(
            "PUT", "/api/knowledge", json={"question": "多久发货", "answer": "本店当天发货。"}
        )
        await owner.ok(
            "PUT",
            "/api/knowledge",
            json={"question": "能便宜点吗", "answer": "x", "enabled": False},
        )
        listing = await agent.ok("GET", "/api/knowledge")
        overridden = {d["question"] for d in listing["defaults"] if d["overridden"]}
        assert overridden == {"多久发货", "能便宜点吗"}

        got = await agent.ok("POST", "/api/knowledge/answer", json={"question": "下雨天能戴吗"})
        assert got["answer_question"] == "耳机防水吗" and got["handover"] is False
        got = await agent.ok("POST", "/api/knowledge/answer", json={"question": "什么时候发货"})
        assert got["answer"] == "本店当天发货。"
        got = await agent.ok("POST", "/api/knowledge/answer", json={"question": "抹个零呗"})
        assert got["answer_question"] != "能便宜点吗"
        got = await agent.ok("POST", "/api/knowledge/answer", json={"question": "转人工"})
        assert got["handover"] is True and got["answer"] is None

        # Another shop sees none of it.
        theirs = await other.ok("GET", "/api/knowledge")
        assert theirs["entries"] == []
        r = await other.http.delete("/api/knowledge", params={"question": "耳机防水吗"})
        assert r.status_code == 404

        # Export in both formats reads back as the same entries.
        r = await agent.get("/api/knowledge/export", params={"format": "csv"})
        assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
        exported = parse_csv(r.content)
        assert [e.question for e in exported] == ["耳机防水吗", "多久发货", "能便宜点吗"]
        r = await agent.get("/api/knowledge/export", params={"format": "xlsx"})
        assert parse_xlsx(r.content) == exported

        # A file with bad rows is refused whole, naming the rows; the base is unchanged.
        broken = (
            "question,similar_questions,answer,category\n"
            "包邮吗,,全国包邮,物流\n"
            ",,没有问题,物流\n"
            "多少钱,,{价格}元,商品\n"
        ).encode()
        r = await owner.post(
            "/api/knowledge/import",
            files={"file": ("kb.csv", broken, "text/csv")},
            headers={"accept-language": "en"},
        )
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "knowledge_file"
        assert [m.split(":")[0] for m in error["params"]["rows"]] == ["row 3", "row 4"]
        non_compliant = write_csv([KnowledgeEntry("怎么联系", "加我VX：abc12345")])
        r = await owner.post(
            "/api/knowledge/import", files={"file": ("kb.csv", non_compliant, "text/csv")}
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "knowledge_file"
        assert len((await agent.ok("GET", "/api/knowledge"))["entries"]) == 3

        # A good XLSX replaces the shop's entries.
        book = write_xlsx([KnowledgeEntry("包邮吗", "全国包邮。", ("运费多少",), "物流")])
        r = await owner.post("/api/knowledge/import", files={"file": ("kb.xlsx", book)})
        assert r.status_code == 200 and r.json() == {"imported": 1}
        listing = await agent.ok("GET", "/api/knowledge")
        assert [e["question"] for e in listing["entries"]] == ["包邮吗"]

        # Deleting brings a default back.
        await owner.ok("DELETE", "/api/knowledge", params={"question": "包邮吗"})
        assert (await agent.ok("GET", "/api/knowledge"))["entries"] == []
        async with httpx.AsyncClient(base_url=server.base_url) as anon:
            assert (await anon.get("/api/knowledge")).status_code == 401
    finally:
        for api in (owner, agent, other):
            await api.aclose()
