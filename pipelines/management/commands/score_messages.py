"""python manage.py score_messages FILE [--column message] [--domain auto|nse|crypto]: pump and sentiment scores
for a file of messages."""

import csv
import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from pipelines.enrich import PumpClassifier, SentimentScorer, TickerMatcher, clean_text
from pipelines.enrich.pump_model import AUTO, VIEWS, domains_guess

ADDED = ["pump_score", "is_pump_signal", "rules", "sentiment", "tickers", "pump_terms", "pump_domain"]
JSON_LINES = {".jsonl", ".ndjson", ".json"}
CHUNK = 2000  # messages scored per batch (the model scores a batch in one matrix product)
PROGRESS_FROM = 5000  # rows: smaller files get no progress bar


def rows_read(path: Path, column: str) -> tuple[list[str], list[dict]]:
    """(column names, rows) of a CSV or JSON Lines file; ``CommandError`` with one line when it is unusable."""
    if path.exists() and not path.is_dir() and not path.is_file():
        # A device or a pipe (/dev/zero, a FIFO): read to its end, it never ends (or fills the memory).
        raise CommandError(f"{path}: not a regular file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            if path.suffix.lower() in JSON_LINES:
                rows, names = [], {}
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise CommandError(f"{path}: line {number} is not JSON ({exc.msg})") from None
                    if not isinstance(row, dict):
                        raise CommandError(f"{path}: line {number} is not a JSON object")
                    names.update(dict.fromkeys(row))
                    rows.append(row)
                names = list(names)
            else:
                reader = csv.DictReader(f)
                names = list(reader.fieldnames or [])
                rows = list(reader)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise CommandError(f"{path}: not a readable CSV ({exc})") from None
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
    if not names:  # (an empty CSV has not even a header)
        raise CommandError(f"{path}: empty, no messages")
    if column not in names:
        raise CommandError(f"{path}: no column {column!r} (columns: {', '.join(names) or 'none'})")
    return names, rows


def _cell(value):
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


class Command(BaseCommand):
    help = (
        "Read a CSV (or JSON Lines: .jsonl, .ndjson, .json) of messages and write its rows to standard output "
        "as CSV, in input order, with pump_score, is_pump_signal, rules, sentiment, tickers, pump_terms and "
        "pump_domain (the model view that scored the message) added."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="a .csv or .jsonl file of messages")
        parser.add_argument("--column", default="message", help="the column holding the text (default: message)")
        parser.add_argument(
            "--domain",
            choices=(AUTO, *VIEWS),
            default=AUTO,
            help="whose chatter the file holds, for the pump model's weights: posts about NSE stocks (what the "
            "pipeline scores), crypto channels, or auto (default): each message's domain from its words (NSE, "
            "Nifty, ₹, crore … or coin, BTC, Binance …), a message naming neither taking the file's",
        )

    def handle(self, *args, file: Path, column: str, domain: str = AUTO, **options):
        names, rows = rows_read(file, column)
        detector = PumpClassifier(view=domain)
        scorer = SentimentScorer()
        try:
            matcher = TickerMatcher.from_master()
        except DatabaseError as exc:
            raise CommandError(f"cannot read the ticker master (has `manage.py migrate` run?): {exc}") from None
        texts = [clean_text(str(row.get(column) or "")) for row in rows]
        # The whole file is one batch for the domain guess: a message naming neither domain takes the file's.
        domains = domains_guess(texts) if domain == AUTO else [domain] * len(texts)
        bar = tqdm(total=len(rows), unit="msg", file=sys.stderr, disable=len(rows) < PROGRESS_FROM)
        try:
            out = csv.DictWriter(
                self.stdout, fieldnames=[n for n in names if n not in ADDED] + ADDED, lineterminator="\n"
            )
            out.writeheader()
            for start in range(0, len(rows), CHUNK):
                chunk, chunk_texts = rows[start : start + CHUNK], texts[start : start + CHUNK]
                chunk_domains = domains[start : start + CHUNK]
                found = detector.detect_many(chunk_texts, domains=chunk_domains if domain == AUTO else None)
                for row, text, pump, view in zip(chunk, chunk_texts, found, chunk_domains, strict=True):
                    record = {name: _cell(value) for name, value in row.items() if name is not None}
                    record.update(
                        pump_score=pump.pump_score,
                        is_pump_signal=pump.is_pump_signal,
                        rules=";".join(pump.rules),
                        sentiment=scorer.score(text)[0],
                        tickers=";".join(matcher.find(text, {})),
                        pump_terms=";".join(pump.terms),
                        pump_domain=view,
                    )
                    out.writerow(record)
                bar.update(len(chunk))
            self.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (`score_messages big.csv | head`): stop quietly, as Unix tools do.
            if getattr(self.stdout, "_out", None) is sys.stdout:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        finally:
            bar.close()
