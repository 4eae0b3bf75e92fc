"""The group committer: many requests' items in one transaction, each request settled on its own."""

from __future__ import annotations

import pytest

from realtime.group_commit import CommitFailed, GroupCommitter, _Job


def test_concurrent_requests_share_one_transaction_and_each_gets_its_own_results():
    """Tests that three queued requests are written in one call and each request gets its items' results, in order."""
    writes: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        writes.append(items)
        return [item.upper() for item in items]

    committer: GroupCommitter[str, str] = GroupCommitter(write)
    jobs = [_Job(items) for items in (["a"], ["b", "c"], ["d"])]
    committer.commit_group(jobs)
    assert writes == [["a", "b", "c", "d"]]
    assert [job.result(0) for job in jobs] == [["A"], ["B", "C"], ["D"]]


def test_a_bad_request_fails_alone_and_the_others_are_stored():
    """Tests that when a group's transaction fails, the requests are retried one by one: only the one whose own
    transaction fails gets CommitFailed, the others their results."""
    stored: list[str] = []

    def write(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("constraint failed")
        stored.extend(items)
        return items

    committer: GroupCommitter[str, str] = GroupCommitter(write)
    jobs = [_Job(items) for items in (["a"], ["bad", "b"], ["c"])]
    committer.commit_group(jobs)
    assert stored == ["a", "c"]
    assert jobs[0].result(0) == ["a"] and jobs[2].result(0) == ["c"]
    with pytest.raises(CommitFailed, match="the database failed: ValueError"):
        jobs[1].result(0)


def test_submitted_items_are_written_by_the_writer_thread():
    """Tests that `write` returns each caller's results once the background writer has committed them."""
    committer: GroupCommitter[int, int] = GroupCommitter(lambda items: [i * 2 for i in items])
    assert committer.write([1, 2, 3], timeout_s=10) == [2, 4, 6]


def test_an_idle_writer_thread_lets_go_of_its_connection_and_writes_again_when_work_comes():
    """Tests that when nothing has come for `idle_s` the writer thread calls `on_idle` (the writer closes its
    database connection), and still writes the next request's items."""
    import threading

    idle = threading.Event()
    calls: list[str] = []

    def on_idle() -> None:
        calls.append("idle")
        idle.set()

    committer: GroupCommitter[int, int] = GroupCommitter(
        lambda items: [i + 1 for i in items], on_idle=on_idle, idle_s=0.05
    )
    assert committer.write([1], timeout_s=10) == [2]
    assert idle.wait(10)
    assert committer.write([2], timeout_s=10) == [3]
    assert calls[0] == "idle"


def test_a_request_whose_group_is_not_committed_in_time_gets_commit_failed():
    """Tests that a request whose write is still held by the database after its timeout gets CommitFailed (the
    phone is answered 503 and retries) instead of waiting on, and that the writer thread goes on afterwards."""
    import threading

    release = threading.Event()

    def write(items: list[int]) -> list[int]:
        release.wait(10)
        return items

    committer: GroupCommitter[int, int] = GroupCommitter(write)
    with pytest.raises(CommitFailed, match=r"the database did not commit within 0\.05 s"):
        committer.write([1], timeout_s=0.05)
    release.set()
    assert committer.write([2], timeout_s=10) == [2]


def test_requests_queued_while_the_writer_waits_for_its_turn_join_the_transaction_being_written():
    """Tests that a write which calls `join_late` once it may write (it held the database's turn) takes the requests
    queued while it waited into the same transaction: one write for all, each request its own results, in order."""
    import threading

    turn, waiting = threading.Event(), threading.Event()
    writes: list[list[int]] = []

    def write(items: list[int]) -> list[int]:
        waiting.set()
        assert turn.wait(10)  # the other process's commit
        everything = [*items, *committer.join_late()]
        assert committer.join_late() == []  # once per group
        writes.append(everything)
        return [i * 10 for i in everything]

    committer: GroupCommitter[int, int] = GroupCommitter(write)
    first = committer.submit([1])
    assert waiting.wait(10)
    second, third = committer.submit([2, 3]), committer.submit([4])
    turn.set()
    assert (first.result(10), second.result(10), third.result(10)) == ([10], [20, 30], [40])
    assert writes == [[1, 2, 3, 4]]


def test_a_failed_group_with_late_requests_retries_each_alone_and_the_retries_take_no_more():
    """Tests that when a group that took late requests fails, every request of it (the late ones too) is retried in
    its own transaction, which takes no further requests: only the bad one gets CommitFailed."""
    writes: list[list[str]] = []
    late = [_Job(["bad"]), _Job(["c"])]

    def write(items: list[str]) -> list[str]:
        items = [*items, *committer.join_late()]
        writes.append(items)
        if "bad" in items:
            raise ValueError("constraint failed")
        return [item.upper() for item in items]

    committer: GroupCommitter[str, str] = GroupCommitter(write)
    for job in late:
        committer._queue.put(job)  # queued while the group waited for its turn
    first = _Job(["a"])
    committer.commit_group([first])
    assert writes == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    assert first.result(0) == ["A"] and late[1].result(0) == ["C"]
    with pytest.raises(CommitFailed, match="the database failed: ValueError"):
        late[0].result(0)
