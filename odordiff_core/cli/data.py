"""`odordiff data check`: lists every data file with its status."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="check (and fetch) the public data sets")
    data_sub = data.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = data_sub.add_parser("check", help="list each data file: ok / missing / checksum mismatch")
    check.add_argument("--download", action="store_true", help="fetch missing files from their pinned upstream URLs")
    check.set_defaults(func=_check)
    weights = data_sub.add_parser("weights", help="list the shipped model weights and their versions")
    weights.set_defaults(func=_weights)


# Every model the app needs, with the command that rebuilds it.
_MODELS = {"predictor": "odordiff train predictor", "text": "odordiff train text",
           "properties": "odordiff train properties", "generator": "odordiff train generator"}


def _weights(args: argparse.Namespace) -> int:
    import json

    from ..config import Settings

    settings = Settings.from_env()
    missing = 0
    for name, command in _MODELS.items():
        folder = settings.generator_path if name == "generator" else settings.weights_dir / name
        config = folder / "config.json"
        tensors = sorted(folder.glob("*.safetensors"))
        if not config.is_file() or not tensors:
            missing += 1
            print(f"missing   {name:<11} {folder} (run `{command}`)")
            continue
        meta = json.loads(config.read_text())
        version = meta.get("version") or f"format {meta.get('format', '?')} (version derived from the weights at load)"
        size = sum(t.stat().st_size for t in tensors) / 1e6
        print(f"ok        {name:<11} {version} ({size:.1f} MB)")
    return 1 if missing else 0


def _check(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..data import check_all, download_file
    from ..errors import DataError

    settings = Settings.from_env()
    print(f"data directory: {settings.data_dir}")
    failed = 0
    for st in check_all(settings):
        status = st.status
        if status == "missing" and args.download and st.source == "data dir":
            try:
                download_file(st.name, settings)
                status = "ok (downloaded)"
            except DataError as exc:
                status = f"missing ({exc})"
        failed += not status.startswith("ok")
        print(f"{status:<18} {st.source:<9} {st.name}")
    if failed:
        print(f"{failed} file(s) not ok. Run `odordiff data check --download`, or set ODORDIFF_DATA_DIR.")
    return 1 if failed else 0
