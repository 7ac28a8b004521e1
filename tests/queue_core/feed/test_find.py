"""find over a list longer than one walking step, in each direction."""

from queue_core import feed as feeds

from .conftest import req, run


def test_find_walks_across_steps_both_ways(store, feed):
    async def body():
        jobs = await store.enqueue([req(type_="x" if i in (3, 900) else "t") for i in range(1000)])
        await store.promote_due(0)
        feed.flush()
        ready = feed.lists[feeds.READY_LIST]
        load = feeds.Jobs(store).get
        query = feeds.Query(types=("x",))
        found = await feeds.find(ready, load, feeds.JOB_ID, jobs[3].id, feeds.FORWARD, query, 4)
        assert found.position == 900
        assert found.window.ids == [j.id for j in jobs[898:902]]
        assert found.window.resolved_anchor == jobs[900].id
        back = await feeds.find(ready, load, feeds.JOB_ID, jobs[899].id, feeds.BACKWARD, query, 1)
        assert back.position == 3 and back.window.ids == [jobs[3].id]
        none = await feeds.find(ready, load, feeds.JOB_ID, jobs[900].id, feeds.FORWARD, query, 4)
        assert none is None

    run(body())
