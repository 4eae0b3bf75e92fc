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


def test_a_group_takes_in_what_was_queued_while_its_writer_waited_for_the_turn():
    """Tests that with a turn (the writers' turn of every process) the writer, once it has the turn, writes the
    requests queued while it waited in the same transaction as the one it was holding, up to `max_items` (a request
    is never split), and the rest in the next; every request gets its own results."""
    import threading
    from contextlib import contextmanager

    held, waiting = threading.Lock(), threading.Event()
    held.acquire()  # another process is committing

    @contextmanager
    def turn():
        waiting.set()
        with held:
            yield

    writes: list[list[int]] = []

    def write(items: list[int]) -> list[int]:
        writes.append(list(items))
        return [i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(write, turn=turn, max_items=5)
    first = committer.submit([1])
    assert waiting.wait(10)
    later = [committer.submit([2, 3]), committer.submit([4, 5]), committer.submit([6])]
    assert writes == []  # nothing is written without the turn
    held.release()
    assert [job.result(10) for job in (first, *later)] == [[10], [20, 30], [40, 50], [60]]
    assert writes == [[1, 2, 3, 4, 5], [6]]
