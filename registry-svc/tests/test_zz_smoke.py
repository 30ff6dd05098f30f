import io
from kernel.synthetic import generate_province, write_csv
from kernel.records import FIELDS, RecordKind
from kernel.testing import TopicTail

async def test_smoke(registry, infra):
    p = generate_province(people=50, seed=1, with_payments=False)
    async with TopicTail(infra.bootstrap_servers, "registry.registrations") as tail:
        buf = io.StringIO(); write_csv(p.registrations, FIELDS[RecordKind.registrations], buf, headers="zh", kind=RecordKind.registrations)
        r = await registry.post("/api/v1/registry/registrations", content=buf.getvalue().encode(), headers={"content-type": "text/csv"})
        assert r.status_code == 201, r.text
        n = r.json()["changed"]
        recs = await tail.read(n, timeout=20)
        assert len(recs) == n
