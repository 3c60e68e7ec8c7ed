"""The plugin loads without ``fcntl`` (Windows) and leaves thread pools alone outside runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

IMPORT_ALL_WITHOUT_FCNTL = textwrap.dedent(
    """
    import importlib, pkgutil, sys, warnings
    sys.modules["fcntl"] = None  # what `import fcntl` does where the module does not exist
    warnings.simplefilter("ignore")  # filelock says it falls back to a soft lock here
    import pytest_opsladder
    failed = []
    for mod in pkgutil.walk_packages(pytest_opsladder.__path__, "pytest_opsladder."):
        try:
            importlib.import_module(mod.name)
        except Exception as exc:
            failed.append(f"{mod.name}: {exc!r}")
    from pytest_opsladder.store.locking import append_jsonl
    from pytest_opsladder.rollback.audit import AuditLog, verify_log
    root = __import__("pathlib").Path(sys.argv[1])
    append_jsonl(root / "runs.jsonl", [{"a": 1}, {"b": 2}])
    with AuditLog(root / "audit.log") as log:
        log.append({"step": 1})
        log.append({"step": 2})
    assert verify_log(root / "audit.log").ok, "audit chain broken"
    print("FAILED", failed)
    print("LINES", len((root / "runs.jsonl").read_text().splitlines()))
    """
)


def test_package_imports_and_locks_without_fcntl(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_WITHOUT_FCNTL, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "FAILED []" in proc.stdout, proc.stdout
    assert "LINES 2" in proc.stdout


THREAD_POOL_TESTS = textwrap.dedent(
    """
    import concurrent.futures as cf
    import threading
    import pytest
    from pytest_opsladder import current_run

    def untouched():
        return (cf.ThreadPoolExecutor.submit.__module__ == "concurrent.futures.thread"
                and threading.Thread.start.__module__ == "threading")

    def test_before():
        assert untouched()

    @pytest.mark.opsladder
    def test_in_a_run(opsladder_run):
        assert not untouched()
        with cf.ThreadPoolExecutor(1) as pool:
            assert pool.submit(current_run).result() is opsladder_run
        seen = []
        thread = threading.Thread(target=lambda: seen.append(current_run()))
        thread.start()
        thread.join()
        assert seen == [opsladder_run]

    def test_after():
        assert untouched()
    """
)


def test_thread_pool_patch_lives_only_while_a_run_is_active(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pools=THREAD_POOL_TESTS)
    args = ("--opsladder-mode=record", "-p", "no:randomly", "-p", "no:cacheprovider")
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=3)


def test_thread_context_off_leaves_threads_and_pools_to_the_stdlib(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nopsladder_thread_context = false\n")
    pytester.makepyfile(
        test_off="""
        import concurrent.futures as cf
        import threading
        import pytest
        from pytest_opsladder import current_run

        @pytest.mark.opsladder
        def test_in_a_run(opsladder_run):
            assert threading.Thread.start.__module__ == "threading"
            seen = []
            thread = threading.Thread(target=lambda: seen.append(current_run()))
            thread.start()
            thread.join()
            with cf.ThreadPoolExecutor(1) as pool:
                seen.append(pool.submit(current_run).result())
            assert seen == [None, None]
        """
    )
    args = ("--opsladder-mode=record", "-p", "no:cacheprovider")
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
