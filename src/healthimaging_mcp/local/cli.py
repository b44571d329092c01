"""`healthimaging-mcp local …`: serve, seed, import into and tour the local HealthImaging service."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .config import default_data_dir

if TYPE_CHECKING:
    from .backend import LocalBackend
    from .imports.assembler import ImportedImageSet


def add_local_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    local = subparsers.add_parser("local", help="the HealthImaging-compatible local service")
    commands = local.add_subparsers(dest="local_command", required=True)

    serve = commands.add_parser("serve", help="serve the HealthImaging API over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: pick a free one)")
    _data_dir(serve)
    serve.add_argument(
        "--credentials", metavar="ACCESS_KEY:SECRET", help="verify SigV4 signatures against this key pair"
    )
    serve.add_argument("--throttle", action="store_true", help="enforce HealthImaging's published request rates")
    serve.add_argument(
        "--write-seconds",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how long image set updates, copies and deletions stay LOCKED before they complete (default 0)",
    )
    serve.add_argument("--seed", action="store_true", help="seed the sample data first if the store is empty")
    serve.set_defaults(handler=_serve)

    seed = commands.add_parser("seed", help="create the 'sample' datastore and import the sample data")
    _data_dir(seed)
    seed.add_argument("--large", type=int, metavar="N", default=0, help="also import a synthetic N-instance series")
    seed.set_defaults(handler=_seed)

    imp = commands.add_parser("import", help="import DICOM files or folders into a datastore")
    _data_dir(imp)
    imp.add_argument("--datastore-id", required=True)
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.set_defaults(handler=_import)

    tour = commands.add_parser("tour", help="start, seed and show what the service holds through boto3")
    _data_dir(tour)
    tour.set_defaults(handler=_tour)


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, help=f"where data lives (default {default_data_dir()})")


def _serve(args: argparse.Namespace) -> int:
    from .samples.seeding import seed_samples
    from .service import LocalService

    credentials = None
    if args.credentials:
        key, _, secret = args.credentials.partition(":")
        if not key or not secret:
            print("--credentials must look like ACCESS_KEY:SECRET", file=sys.stderr)
            return 2
        credentials = {key: secret}
    service = LocalService(
        args.data_dir,
        host=args.host,
        port=args.port,
        credentials=credentials,
        throttle=args.throttle,
        write_seconds=args.write_seconds,
    )
    if args.seed:
        seed_samples(service.backend)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    print(f"endpoint: {service.endpoint}", flush=True)
    try:
        stop.wait()
    finally:
        service.stop()
    return 0


def _backend_beside_a_server(args: argparse.Namespace) -> LocalBackend:
    """The backend of the data folder, leaving the import jobs of a server that may be running there alone."""
    from .backend import LocalBackend
    from .config import LocalConfig

    return LocalBackend(LocalConfig(args.data_dir or default_data_dir()), recover_jobs=False)


def _seed(args: argparse.Namespace) -> int:
    from .samples.seeding import seed_large_series, seed_samples

    backend = _backend_beside_a_server(args)
    try:
        result = seed_samples(backend)
        print(result.describe())
        if args.large:
            print(seed_large_series(backend, args.large).describe())
    finally:
        backend.close()
    return 0


def _import(args: argparse.Namespace) -> int:
    from .errors import ServiceError

    backend = _backend_beside_a_server(args)
    try:
        report = backend.import_paths(args.datastore_id, args.paths)
        changes = [line for image_set in report.image_sets for line in _changed_lines(backend, image_set)]
    except ServiceError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        backend.close()
    print(
        f"scanned {report.scanned}, imported {len(report.successes)}, failed {len(report.failures)}, "
        f"image sets {len(report.image_sets)}"
    )
    for line in changes:
        print(line)
    for failure in report.failures:
        print(f"  failed: {failure['inputFile']}: {failure['exception']['message']}", file=sys.stderr)
    return 0 if not report.failures else 1


def _changed_lines(backend: LocalBackend, image_set: ImportedImageSet) -> list[str]:
    """What the import changed in an image set that existed before: overwritten instances, attributes old → new."""
    if image_set.version == 1:
        return []
    from ..dicom.compare import compare_versions
    from ..dicom.document import ImageSetDocument

    before, after = (
        ImageSetDocument.from_json(backend.image_sets.load_document(image_set.image_set_id, version))
        for version in (image_set.version - 1, image_set.version)
    )
    changes = compare_versions(before, after)
    lines = [
        f"  image set {image_set.image_set_id} version {image_set.version}: {len(changes.added)} instance(s) added, "
        f"{len(changes.overwritten)} overwritten"
    ]
    lines += [f"    {c.level} {c.keyword}: {c.old!r} → {c.new!r}" for c in changes.attributes]
    return lines


def _tour(args: argparse.Namespace) -> int:
    from .tour import run_tour

    return run_tour(args.data_dir, emit=print, note=lambda text: print(text, file=sys.stderr))
