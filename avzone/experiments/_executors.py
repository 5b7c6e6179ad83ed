"""Where the runs of a sweep execute: in this process, a local process pool, or Dask.

Every executor has one method, ``map(fn, tasks)``: it calls ``fn(*task)`` for each task and
yields ``(index, result)`` pairs in completion order; ``close()`` (or leaving a ``with``
block) releases the workers. ``fn`` must be a top-level function of plain arguments, so that it
pickles.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, TypeVar

from avzone.errors import ScenarioError

__all__ = [
    "DaskExecutor",
    "Executor",
    "InProcessExecutor",
    "ProcessExecutor",
    "check_executor",
    "make_executor",
]

R = TypeVar("R")

_DASK_HINT = 'install it with: pip install "avzone[dask]"'


class Executor(ABC):
    """Runs tasks and yields ``(index, result)`` in completion order."""

    name: str

    @abstractmethod
    def map(
        self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]
    ) -> Iterator[tuple[int, R]]:
        """Call ``fn(*tasks[i])`` for every ``i``; yield ``(i, result)`` as each finishes.

        An exception in a task is raised here, and the tasks not yet started are cancelled.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class InProcessExecutor(Executor):
    """One task after the other, in this process."""

    name = "inprocess"

    def map(
        self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]
    ) -> Iterator[tuple[int, R]]:
        for index, task in enumerate(tasks):
            yield index, fn(*task)

    def close(self) -> None:
        pass  # nothing to release


class ProcessExecutor(Executor):
    """A local pool of ``workers`` processes (default: one per CPU).

    Workers start with the ``forkserver`` method where the platform has it (else ``spawn``): a
    fork of a process that runs threads (a progress bar, a Dask client) may deadlock. So a script
    that sweeps with this executor must guard its entry point with
    ``if __name__ == "__main__":``.
    """

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        # Only this process holds the sending end: when it ends, even killed, the workers read
        # end-of-file and exit instead of waiting for tasks forever.
        self._alive_r, self._alive_w = context.Pipe(duplex=False)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(self._alive_r,),
        )

    def map(
        self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]
    ) -> Iterator[tuple[int, R]]:
        futures = {self._pool.submit(fn, *task): index for index, task in enumerate(tasks)}
        try:
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._alive_r.close()
        self._alive_w.close()


def _exit_with_parent(alive: Connection) -> None:
    """Pool initializer: end this worker when the sweep's process has gone (``alive`` at EOF)."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv_bytes()
        os._exit(1)

    threading.Thread(target=watch, name="avzone-exit-with-parent", daemon=True).start()


class DaskExecutor(Executor):
    """Dask: a ``LocalCluster`` of ``workers`` single-threaded worker processes on this machine
    (``address=None``), or a client of the running scheduler at ``address``
    (``"tcp://HOST:8786"``), whose workers need avzone and the scenario's files at the same
    paths."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        distributed = _import_distributed("dask-local" if address is None else f"dask://{address}")
        self._cluster: Any = None
        if address is None:
            self.name = "dask-local"
            self._cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self._client = distributed.Client(self._cluster)
        else:
            self.name = f"dask://{address}"
            self._client = distributed.Client(f"tcp://{address}")
        self._distributed = distributed

    def map(
        self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]
    ) -> Iterator[tuple[int, R]]:
        # pure=False: equal arguments are still separate runs, never merged into one task
        futures = [self._client.submit(fn, *task, pure=False) for task in tasks]
        indices = {future.key: index for index, future in enumerate(futures)}
        try:
            for future in self._distributed.as_completed(futures):
                yield indices[future.key], future.result()
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _import_distributed(spec: str) -> Any:
    try:
        import distributed
    except ImportError:
        raise ScenarioError(
            "--executor", f"{spec} needs dask, which is not installed; {_DASK_HINT}"
        ) from None
    return distributed


def check_executor(spec: str, workers: int | None = None) -> tuple[str, str | None]:
    """Check an executor spec without starting anything: ``(kind, address)``.

    ``kind`` is ``inprocess``, ``processes``, ``dask-local`` or ``dask``; ``address`` is the
    scheduler's ``HOST:PORT`` for ``dask://HOST:PORT``.
    """
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ScenarioError("--workers", f"expected an integer >= 1, got {workers!r}")
    if spec in ("inprocess", "processes"):
        return spec, None
    if spec == "dask-local":
        _import_distributed(spec)
        return spec, None
    if spec.startswith("dask://"):
        address = spec.removeprefix("dask://")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ScenarioError(
                "--executor", f"expected dask://HOST:PORT like dask://10.0.0.5:8786, got {spec!r}"
            )
        _import_distributed(spec)
        return "dask", address
    raise ScenarioError(
        "--executor",
        f"expected inprocess, processes, dask-local or dask://HOST:PORT, got {spec!r}",
    )


def make_executor(spec: str, workers: int | None = None) -> Executor:
    """The executor a spec names (see :func:`check_executor`); ``workers`` is the pool size for
    ``processes`` and ``dask-local`` (default: the CPU count) and is ignored otherwise."""
    kind, address = check_executor(spec, workers)
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    return DaskExecutor(address, workers if kind == "dask-local" else None)
