"""python manage.py train_pump_model [--data DIR] [--output PATH]: rebuild the pump classifier."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipelines.enrich.pump_model import PUMP_MODEL_PATH
from pipelines.enrich.pump_training import LABELLED_DIR, labelled_load, model_fit, model_save, rules_fired


class Command(BaseCommand):
    help = (
        "Train the pump classifier on the repository's labelled pump-channel messages and write the shipped "
        "model (deterministic: the same data gives the same file)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, default=LABELLED_DIR, help="folder of labelled CSV files")
        parser.add_argument("--output", type=Path, default=PUMP_MODEL_PATH, help="where to write the model")

    def handle(self, *args, data: Path, output: Path, **options):
        started = time.perf_counter()
        try:
            labelled = labelled_load(data)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"cannot read the labelled data in {data}: {exc}") from None
        frame = labelled.frame
        texts = frame["message"].tolist()
        _, exported = model_fit(texts, frame["label"].to_numpy(), rules_fired(texts))
        meta = {
            "trained_on": {
                "messages": len(frame),
                "channels": int(frame["channel_id"].nunique()),
                "files": labelled.files,
            },
            "labels": {str(k): int(v) for k, v in sorted(frame["label"].value_counts().items())},
        }
        size = model_save(exported, output, meta=meta)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"trained on {len(frame):,} messages from {meta['trained_on']['channels']} channels in {seconds:.1f} s: "
            f"{len(exported['terms']):,} terms, {len(exported['rules'])} rule features "
            f"(kept at their own weight, unseen in training: {', '.join(exported['unseen_rules']) or 'none'}); "
            f"wrote {output} ({size / 1024:.0f} KiB)"
        )
