"""python manage.py train_pump_model [--data DIR] [--written CSV | --no-written] [--output PATH]: rebuild the pump classifier."""

import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines.enrich.pump_model import PUMP_MODEL_PATH
from pipelines.enrich.pump_training import (
    LABELLED_DIR,
    WRITTEN_PATH,
    Written,
    labelled_load,
    model_fit_written,
    model_save,
    rules_fired,
    written_load,
)


class Command(BaseCommand):
    help = (
        "Train the pump classifier on the repository's labelled pump-channel messages and our written Indian "
        "training messages, and write the shipped model (deterministic: the same data gives the same file)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, default=LABELLED_DIR, help="folder of labelled CSV files")
        own = parser.add_mutually_exclusive_group()
        own.add_argument(
            "--written", type=Path, default=WRITTEN_PATH, help="CSV (label,message) of our own training messages"
        )
        own.add_argument("--no-written", action="store_true", help="train on the labelled channels alone")
        parser.add_argument("--output", type=Path, default=PUMP_MODEL_PATH, help="where to write the model")

    def handle(self, *args, data: Path, written: Path, no_written: bool, output: Path, **options):
        started = time.perf_counter()
        _output_check(output)  # before the minute of training, not after
        try:
            labelled = labelled_load(data)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"cannot read the labelled data in {data}: {exc}") from None
        frame = labelled.frame
        texts, labels = frame["message"].tolist(), frame["label"].to_numpy()
        own = None
        if not no_written:
            try:
                own, own_sha = written_load(written)
            except (OSError, ValueError, KeyError) as exc:
                raise CommandError(f"cannot read the written training messages in {written}: {exc}") from None
        domain = Written.of(own) if own is not None else None
        _, exported = model_fit_written(texts, labels, rules_fired(texts), domain)
        meta = {
            "trained_on": {
                "messages": len(frame),
                "channels": int(frame["channel_id"].nunique()),
                "files": labelled.files,
            },
            "labels": {str(k): int(v) for k, v in sorted(frame["label"].value_counts().items())},
        }
        if own is not None:
            meta["written"] = {"messages": len(own), "file": written.name, "sha256": own_sha}
            meta["masked_symbols"] = sorted(domain.masked)
        try:
            size = model_save(exported, output, meta=meta)
        except OSError as exc:
            raise CommandError(f"--output {output}: cannot write the model ({exc.strerror or exc})") from None
        seconds = time.perf_counter() - started
        extra = f" and {len(own):,} written messages" if own is not None else ""
        self.stdout.write(
            f"trained on {len(frame):,} messages from {meta['trained_on']['channels']} channels{extra} "
            f"in {seconds:.1f} s: {len(exported['terms']):,} terms, {len(exported['rules'])} rule features "
            f"(kept at their own weight, unseen in training: {', '.join(exported['unseen_rules']) or 'none'}); "
            f"wrote {output} ({size / 1024:.0f} KiB)"
        )


def _output_check(output: Path) -> None:
    """One line, before any training, when the model cannot be written at ``output``."""
    if output.is_dir():
        raise CommandError(
            f"--output {output}: is a folder; give the model's file (e.g. {output / PUMP_MODEL_PATH.name})"
        )
    if output.parent.exists() and not output.parent.is_dir():
        raise CommandError(f"--output {output}: {output.parent} is not a folder")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output.parent):
            pass
    except OSError as exc:
        raise CommandError(f"--output {output}: cannot write there ({exc.strerror or exc})") from None
