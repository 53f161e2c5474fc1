"""Watch's pure decisions: the budget, the plan of watched directories, the debounce, the resources to correct."""

from __future__ import annotations

from agent.daemon.watching import (
    Budget,
    Debouncer,
    OverBudget,
    Plan,
    Watch,
    affected,
    budget_of,
    directories_to_watch,
    managed_map,
    plan_watches,
)


def _one_each(directory: str, limit: int) -> int:
    return 1


def test_the_default_budget_is_a_share_of_the_kernels_and_a_configured_one_is_capped_by_it() -> None:
    kernel = Budget(128, 8192)
    assert budget_of(kernel) == Budget(16, 2048)
    assert budget_of(kernel, 2, 10) == Budget(2, 10)
    assert budget_of(kernel, 1000, 10**6) == kernel
    assert budget_of(Budget(4, 3)) == Budget(1, 1)


def test_managed_paths_map_to_the_resources_that_own_them() -> None:
    owned = [("file:/etc/a.conf", ["/etc/a.conf"]), ("line:x", ["/etc//a.conf"]), ("package:nginx", [])]
    assert managed_map(owned) == {"/etc/a.conf": ("file:/etc/a.conf", "line:x")}


def test_directories_not_files_and_the_nearest_existing_ancestor_of_one_not_made_yet() -> None:
    existing = {"/etc", "/srv"}
    paths = ["/etc/a.conf", "/etc/b.conf", "/srv/app/new/c.conf", "/d.conf"]
    assert directories_to_watch(paths, existing.__contains__) == {"/etc", "/srv", "/"}


def test_within_the_budget_each_directory_is_watched_alone() -> None:
    plan = plan_watches(["/etc/nginx", "/etc/ssh", "/srv/app"], Budget(3, 100), _one_each)
    assert plan == Plan((Watch("/etc/nginx"), Watch("/etc/ssh"), Watch("/srv/app")), 3)


def test_past_the_instances_the_deepest_common_ancestors_become_recursive_watches() -> None:
    directories = ["/srv/app/a/x", "/srv/app/a/y", "/srv/app/b", "/etc/ssh", "/srv/app/a-b"]
    counted: list[str] = []

    def subdirs(directory: str, limit: int) -> int:
        counted.append(directory)
        return 5

    plan = plan_watches(directories, Budget(3, 100), subdirs)
    # /srv/app/a/{x,y} first (deepest), then /srv/app/a with /srv/app/b and /srv/app/a-b: /srv/app.
    assert plan == Plan((Watch("/etc/ssh"), Watch("/srv/app", recursive=True)), 6)
    assert counted == ["/srv/app"]


def test_more_than_128_directories_fit_a_small_budget_under_their_common_ancestor() -> None:
    directories = [f"/srv/sites/site{n:03}/conf" for n in range(200)]
    plan = plan_watches(directories, Budget(16, 1000), lambda d, limit: 401)
    assert isinstance(plan, Plan)
    assert plan.watches == (Watch("/srv/sites", recursive=True),) and plan.cost == 401


def test_over_the_watches_or_with_nothing_in_common_but_root_it_falls_back() -> None:
    assert isinstance(plan_watches(["/a/x", "/a/y"], Budget(1, 10), lambda d, limit: limit + 1), OverBudget)
    refused = plan_watches(["/etc", "/srv", "/opt"], Budget(2, 100), _one_each)
    assert isinstance(refused, OverBudget) and "no ancestor but /" in refused.reason


def test_a_burst_of_events_is_one_batch_once_quiet() -> None:
    debouncer = Debouncer(quiet=0.1, longest=0.5)
    assert debouncer.due_in(0.0) == float("inf") and debouncer.take(0.0) == frozenset()
    for n in range(100):
        debouncer.add("/etc/a.conf", 1.0 + n * 0.001)
    debouncer.add("/etc/b.conf", 1.1)
    assert debouncer.take(1.15) == frozenset()
    assert abs(debouncer.due_in(1.15) - 0.05) < 1e-9
    assert debouncer.take(1.25) == {"/etc/a.conf", "/etc/b.conf"}
    assert debouncer.take(5.0) == frozenset()


def test_a_burst_that_goes_on_is_corrected_after_the_longest_delay() -> None:
    debouncer = Debouncer(quiet=0.1, longest=0.5)
    now = 10.0
    while debouncer.take(now) == frozenset():
        debouncer.add("/etc/a.conf", now)
        now += 0.05
        assert now < 11
    assert abs(now - 10.5) < 1e-6


def test_only_managed_paths_changed_since_tend_settled_them_are_corrected() -> None:
    managed = {"/etc/a": ("file:/etc/a",), "/etc/b": ("file:/etc/b", "line:b"), "/etc/c": ("file:/etc/c",)}
    settled = {"/etc/a": (1, 2), "/etc/b": (3, 4), "/etc/c": (5, 6)}
    now = {"/etc/a": (1, 2), "/etc/b": (3, 5), "/etc/c": None}
    batch = ["/etc/a", "/etc/b", "/etc/c", "/etc/unmanaged", "/etc/.a.tmp"]
    assert affected(batch, managed, now, settled) == {"file:/etc/b", "line:b", "file:/etc/c"}
    assert affected(["/etc/a"], managed, {"/etc/a": (1, 2)}, {}) == {"file:/etc/a"}  # never settled
